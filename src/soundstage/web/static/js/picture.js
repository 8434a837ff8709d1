// The photo (or a video's first frame) with the outline of each region that got a sound.

import { uploadUrl } from "./api.js";
import { COLOURS } from "./topview.js";

const SVG = "http://www.w3.org/2000/svg";

/**
 * Show `picture` ({id, width, height}) in `container`, with `regions` ({source, label, box, outline})
 * outlined over it in picture pixels and labelled with their source's name. Clicking a region
 * calls onSelect(sourceIndex).
 */
export function showPicture(container, picture, regions, scene, onSelect) {
  const img = document.createElement("img");
  img.src = uploadUrl(picture.id);
  img.alt = "the picture";
  img.dataset.testid = "picture-image";
  const overlay = document.createElementNS(SVG, "svg");
  // The overlay's units are the picture's pixels, so outlines need no scaling; the <img> keeps the
  // aspect ratio and the overlay is stretched to the same box.
  overlay.setAttribute("viewBox", `0 0 ${picture.width} ${picture.height}`);
  overlay.setAttribute("preserveAspectRatio", "none");
  const stroke = Math.max(2, picture.width / 250);
  regions.forEach((region, i) => {
    const colour = COLOURS[region.source % COLOURS.length];
    const g = document.createElementNS(SVG, "g");
    const polygon = document.createElementNS(SVG, "polygon");
    const points = region.outline?.length ? region.outline : boxCorners(region.box);
    polygon.setAttribute("points", points.map((p) => p.join(",")).join(" "));
    polygon.setAttribute("stroke", colour);
    polygon.setAttribute("stroke-width", stroke);
    polygon.setAttribute("data-testid", `region-${i}`);
    polygon.setAttribute("class", "region");
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", region.box[0] + stroke);
    label.setAttribute("y", region.box[1] + 6 * stroke);
    label.setAttribute("font-size", 6 * stroke);
    label.setAttribute("fill", colour);
    label.setAttribute("class", "region-label");
    label.textContent = scene.sources[region.source]?.name ?? region.label ?? `source ${region.source}`;
    g.append(polygon, label);
    g.addEventListener("click", () => onSelect(region.source));
    overlay.appendChild(g);
  });
  container.replaceChildren(img, overlay);
}

function boxCorners([u0, v0, u1, v1]) {
  return [[u0, v0], [u1, v0], [u1, v1], [u0, v1]];
}
