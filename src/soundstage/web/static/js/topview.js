// The top view: an SVG map of the scene seen from above, with draggable sources and keyframes.
//
// Screen up is +x (forward) and screen left is +y (left):  sx = cx - y * scale,  sy = cy - x * scale.

import { keyframes, listenerPosition, listenerYaw, toWorld } from "./scene.js";

const SVG = "http://www.w3.org/2000/svg";
const DEG = Math.PI / 180;
export const COLOURS = ["#d1495b", "#00798c", "#edae49", "#66a182", "#8d6cab", "#2e4057", "#e07a5f", "#3d405b"];

function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

export class TopView {
  /**
   * @param svg the <svg> element
   * @param handlers onMove(sourceIndex, keyframeIndex, x, y) while dragging, onDragStart(),
   *   onDragEnd() when a drag ends, onSelect(sourceIndex)
   */
  constructor(svg, handlers) {
    this.svg = svg;
    this.handlers = handlers;
    this.view = { x: 2, y: 0, scale: 40 }; // world point at the centre, pixels per metre
    this.drag = null;
    svg.addEventListener("pointermove", (event) => this.pointerMove(event));
    svg.addEventListener("pointerup", (event) => this.pointerUp(event));
    svg.addEventListener("pointercancel", (event) => this.pointerUp(event));
  }

  get size() {
    return [this.svg.clientWidth || 600, this.svg.clientHeight || 450];
  }

  toScreen(x, y) {
    const [w, h] = this.size;
    return [w / 2 - (y - this.view.y) * this.view.scale, h / 2 - (x - this.view.x) * this.view.scale];
  }

  toWorld(sx, sy) {
    const [w, h] = this.size;
    return [this.view.x - (sy - h / 2) / this.view.scale, this.view.y - (sx - w / 2) / this.view.scale];
  }

  /** Zoom and centre so that the room, the listener, the sources and their paths all show. */
  fit(scene, camera) {
    const listener = listenerPosition(scene);
    const points = [listener.slice(0, 2)];
    for (const source of scene.sources) {
      for (const k of keyframes(source)) points.push(toWorld(k.position, listener).slice(0, 2));
    }
    if (scene.room?.shoebox) {
      const [X, Y] = scene.room.shoebox.size;
      points.push([0, 0], [X, Y]);
    }
    if (camera?.hfov_deg) points.push([listener[0] + 1.5, listener[1]]); // room for the camera wedge
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const margin = 0.8;
    const [x0, x1] = [Math.min(...xs) - margin, Math.max(...xs) + margin];
    const [y0, y1] = [Math.min(...ys) - margin, Math.max(...ys) + margin];
    const [w, h] = this.size;
    const scale = Math.min(w / Math.max(y1 - y0, 3), h / Math.max(x1 - x0, 3));
    this.view = { x: (x0 + x1) / 2, y: (y0 + y1) / 2, scale: Math.min(scale, 200) };
  }

  /** Redraw everything from the scene. */
  render(scene, { selected = -1, camera = null } = {}) {
    const svg = this.svg;
    const [w, h] = this.size;
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.replaceChildren();
    this.drawGrid(w, h);
    if (scene.room?.shoebox) this.drawRoom(scene.room.shoebox.size);
    const listener = listenerPosition(scene);
    if (camera?.hfov_deg) this.drawCamera(listener, listenerYaw(scene), camera.hfov_deg, w, h);
    scene.sources.forEach((source, i) => this.drawPath(source, i, listener));
    this.drawListener(listener, listenerYaw(scene));
    scene.sources.forEach((source, i) => this.drawSource(source, i, listener, i === selected));
  }

  drawGrid(w, h) {
    // A step of 1, 2 or 5 × 10^n metres, at least 40 px apart.
    const raw = 40 / this.view.scale;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const grid = el("g", { class: "grid" }, this.svg);
    const [xTop] = this.toWorld(0, 0);
    const [xBottom] = this.toWorld(0, h);
    const [, yLeft] = this.toWorld(0, 0);
    const [, yRight] = this.toWorld(w, 0);
    for (let x = Math.ceil(xBottom / step) * step; x <= xTop; x += step) {
      const [, sy] = this.toScreen(x, 0);
      el("line", { x1: 0, x2: w, y1: sy, y2: sy, class: Math.abs(x) < 1e-9 ? "axis" : "" }, grid);
    }
    for (let y = Math.ceil(yRight / step) * step; y <= yLeft; y += step) {
      const [sx] = this.toScreen(0, y);
      el("line", { x1: sx, x2: sx, y1: 0, y2: h, class: Math.abs(y) < 1e-9 ? "axis" : "" }, grid);
    }
    // Scale bar, bottom left.
    const bar = el("g", { class: "scalebar", "data-testid": "scalebar" }, this.svg);
    const length = step * this.view.scale;
    el("line", { x1: 12, x2: 12 + length, y1: h - 14, y2: h - 14 }, bar);
    el("text", { x: 12, y: h - 20 }, bar).textContent = `${+step.toPrecision(3)} m`;
  }

  drawRoom([X, Y]) {
    const [left, top] = this.toScreen(X, Y);
    const [right, bottom] = this.toScreen(0, 0);
    el("rect", { class: "room", "data-testid": "room", x: left, y: top, width: right - left, height: bottom - top }, this.svg);
  }

  drawCamera(listener, yaw, hfov, w, h) {
    const [cx, cy] = this.toScreen(listener[0], listener[1]);
    const radius = Math.hypot(w, h); // the wedge runs off the view
    const corner = (angle) => [cx - Math.sin(angle * DEG) * radius, cy - Math.cos(angle * DEG) * radius];
    const [a, b] = [corner(yaw + hfov / 2), corner(yaw - hfov / 2)];
    el("path", { class: "camera", "data-testid": "camera-fov", d: `M${cx},${cy} L${a} L${b} Z` }, this.svg);
  }

  drawListener([x, y], yaw) {
    const [sx, sy] = this.toScreen(x, y);
    const g = el("g", { class: "listener", "data-testid": "listener", transform: `translate(${sx},${sy}) rotate(${-yaw})` }, this.svg);
    el("path", { d: "M-5,-8 L0,-17 L5,-8 Z", class: "nose" }, g); // the nose points up at yaw 0
    el("circle", { r: 9 }, g);
  }

  drawPath(source, i, listener) {
    if (!source.trajectory) return;
    const points = source.trajectory.keyframes.map((k) => {
      const [x, y] = toWorld(k.position, listener);
      return this.toScreen(x, y);
    });
    el("polyline", { class: "path", stroke: COLOURS[i % COLOURS.length], points: points.join(" "), "data-testid": `path-${i}` }, this.svg);
    // The first keyframe is the source's own circle; the others get square handles, with their
    // time written where there is room for it.
    let labelled = points[0];
    source.trajectory.keyframes.forEach((k, j) => {
      if (j === 0) return;
      const [sx, sy] = points[j];
      const g = el("g", { class: "keyframe", "data-testid": `keyframe-${i}-${j}` }, this.svg);
      el("rect", { x: sx - 5, y: sy - 5, width: 10, height: 10, fill: COLOURS[i % COLOURS.length] }, g);
      if (Math.hypot(sx - labelled[0], sy - labelled[1]) > 45) {
        el("text", { x: sx + 8, y: sy + 4 }, g).textContent = `${k.t} s`;
        labelled = points[j];
      }
      g.addEventListener("pointerdown", (event) => this.startDrag(event, i, j));
    });
  }

  drawSource(source, i, listener, selected) {
    const [x, y] = toWorld(keyframes(source)[0].position, listener);
    const [sx, sy] = this.toScreen(x, y);
    const g = el("g", { class: `source${selected ? " selected" : ""}` }, this.svg);
    el("circle", { cx: sx, cy: sy, r: 11, fill: COLOURS[i % COLOURS.length], "data-testid": `source-${i}` }, g);
    el("text", { x: sx + 14, y: sy + 4 }, g).textContent = source.name || `source ${i}`;
    g.addEventListener("pointerdown", (event) => this.startDrag(event, i, 0));
  }

  startDrag(event, source, keyframe) {
    event.preventDefault();
    this.svg.setPointerCapture(event.pointerId);
    this.drag = { source, keyframe, moved: false };
    this.handlers.onSelect(source);
  }

  pointerMove(event) {
    if (!this.drag) return;
    if (!this.drag.moved) this.handlers.onDragStart();
    this.drag.moved = true;
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(this.svg.getScreenCTM().inverse());
    const [x, y] = this.toWorld(point.x, point.y);
    this.handlers.onMove(this.drag.source, this.drag.keyframe, x, y);
  }

  pointerUp(event) {
    if (!this.drag) return;
    const moved = this.drag.moved;
    this.drag = null;
    if (this.svg.hasPointerCapture(event.pointerId)) this.svg.releasePointerCapture(event.pointerId);
    if (moved) this.handlers.onDragEnd();
  }
}
