// Wiring of the page: the start flows, sounds, sources and inspector, room, head, render and downloads.
//
// Everything lives in this tab's `state`; the server keeps uploads and jobs only, so several tabs
// work independently.

import * as api from "./api.js";
import * as S from "./scene.js";
import { Player } from "./audio.js";
import { showPicture } from "./picture.js";
import { COLOURS, TopView } from "./topview.js";

const $ = (id) => document.getElementById(id);

const state = {
  info: null,
  scene: S.emptyScene(),
  sounds: [], // upload metadata of the sounds known to this tab, each with a `label` the user may set
  sofas: [], // uploaded SOFA heads
  photo: null, // upload metadata of the photo or video to analyse
  video: null,
  picture: null, // {id, width, height} shown with `regions` ({source, label, box, outline})
  regions: [],
  camera: null, // {hfov_deg} of the analysed picture
  fittedRoom: null, // the room a job or a scene file came with, kept as a room option
  fittedLabel: "",
  roomMode: "none",
  selected: -1, // index of the selected source
  keyframe: 0, // index of the keyframe the inspector's position fields edit
  lastRender: null, // {job_id, ...result} of the last binaural render played
  videoScene: false, // the scene came from the analysed video, whose picture a render may carry (MP4)
  pending: 0, // uploads in flight
  busy: false, // a job runs
};

const player = new Player(showStatus);
const topView = new TopView($("topview"), {
  onSelect: (i) => select(i),
  onDragStart: () => {
    if ($("preview-on-drag").checked && player.mode !== "preview" && player.loading !== "preview") startPreview();
  },
  onMove: (i, k, x, y) => moveSource(i, k, x, y),
  onDragEnd: () => changed(),
});

// The hook the browser tests read.
window.soundstage = {
  scene: () => structuredClone(state.scene),
  lastRender: () => state.lastRender,
  playing: () => player.mode,
};

// ---------------------------------------------------------------------------------------------
// Small helpers

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "testid") node.dataset.testid = value;
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function option(value, text, selected = false, disabled = false) {
  return element("option", { value, selected, disabled }, text);
}

const stem = (name) => name.replace(/\.[^.]+$/, "");
const soundLabel = (sound) => sound.label || stem(sound.name || sound.id);

/** Show an error (the server's one-line `detail` or a failed job's `error`); null clears it. */
function showError(error) {
  const box = $("error");
  box.hidden = !error;
  box.textContent = error ? String(error.message ?? error).replace(/\s*\n\s*/g, " ") : "";
  if (error) console.error(error);
}

/** Wrap an async handler: clear the error, run, show what went wrong. */
const guard = (fn) => async (...args) => {
  showError(null);
  try {
    await fn(...args);
  } catch (error) {
    showError(error);
  }
};

function showStatus() {
  const status = $("status");
  status.textContent = player.label;
  status.className = `status ${player.mode || (player.loading ? "loading" : "stopped")}`;
}

async function uploadAll(files, kind) {
  state.pending += 1;
  refreshButtons();
  try {
    return await Promise.all([...files].map((file) => api.upload(file, kind)));
  } finally {
    state.pending -= 1;
    refreshButtons();
  }
}

/** Run a job with the progress bar and its stage showing. */
async function runJob(kind, body) {
  state.busy = true;
  refreshButtons();
  $("job").hidden = false;
  try {
    return await api.runJob(kind, body, (job) => {
      $("job-progress").value = job.progress ?? 0;
      const percent = Math.round((job.progress ?? 0) * 100);
      $("job-stage").textContent = `${kind}: ${job.stage || job.state} (${percent}%)${job.cached ? ", cached" : ""}`;
    });
  } finally {
    state.busy = false;
    refreshButtons();
  }
}

function refreshButtons() {
  const idle = !state.busy && state.pending === 0;
  const haveSounds = state.sounds.length > 0;
  $("analyze-photo").disabled = !(idle && state.photo && haveSounds);
  $("analyze-video").disabled = !(idle && state.video); // no sounds: the clip's own soundtrack
  for (const id of ["build-text", "import-scene", "render", "render-format", "show-plots", "tta-generate"]) {
    $(id).disabled = !idle || (id === "tta-generate" && !state.info?.text_to_audio?.available);
  }
  $("add-source").disabled = !haveSounds;
}

// ---------------------------------------------------------------------------------------------
// Loading scenes

/** Make sure every sound a scene refers to is in the sounds list (jobs may add library sounds). */
async function learnSounds(scene) {
  for (const source of scene.sources) {
    const id = String(source.audio).replace(/^upload:/, "");
    if (!state.sounds.some((s) => s.id === id)) state.sounds.push(await api.getJSON(`/api/uploads/${id}`));
  }
}

/** Load a scene (and what came with it) into the editor. */
async function loadScene(scene, { picture = null, regions = [], camera = null, roomLabel = "", explain = "", notes = [] } = {}) {
  // What plays belongs to the old scene: stop it now; a preview starts again on the new one.
  const previewing = player.mode === "preview" || player.loading === "preview";
  player.stop(); // also cancels a play still loading, and a render's play still to come
  state.scene = S.normaliseScene(scene);
  state.videoScene = false; // set again by the video flow once its scene is loaded
  $("with-video-label").hidden = true;
  state.picture = picture;
  state.regions = regions;
  state.camera = camera;
  state.fittedRoom = state.scene.room ? structuredClone(state.scene.room) : null;
  state.fittedLabel = roomLabel;
  state.roomMode = state.fittedRoom ? "fitted" : "none";
  state.selected = state.scene.sources.length ? 0 : -1;
  state.keyframe = 0;
  $("explain").textContent = explain;
  $("explain-box").hidden = !explain;
  $("notes").replaceChildren(...notes.map((note) => element("li", {}, note)));
  await learnSounds(state.scene);
  renderSounds();
  renderPicture();
  fitView();
  changed();
  if (previewing) await startPreview();
}

async function loadResult(job, roomLabel) {
  const r = job.result;
  await loadScene(r.scene, {
    picture: r.picture, regions: r.regions || [], camera: r.camera, roomLabel, explain: r.explain || "", notes: r.notes || [],
  });
}

const sceneOptions = () => ({ format: "binaural", sample_rate: 48000 });
const soundList = () => state.sounds.map((s) => ({ label: s.label || null, sound: s.id }));

// ---------------------------------------------------------------------------------------------
// Editing

/** Something in the scene changed: redraw, update the preview, check the scene with the server. */
function changed() {
  renderSources();
  renderInspector();
  renderRoom();
  renderHead();
  topView.render(state.scene, { selected: state.selected, camera: state.camera });
  $("scene-json").textContent = JSON.stringify(state.scene, null, 2);
  player.updatePreview(state.scene);
  scheduleCheck();
  refreshButtons();
}

function fitView() {
  topView.fit(state.scene, state.camera);
}

function select(i) {
  if (i !== state.selected) state.keyframe = 0;
  state.selected = i;
  changed();
}

/** Drag in the top view: keyframe k of source i to world (x, y), kept in the room. */
function moveSource(i, k, x, y) {
  const scene = state.scene;
  const source = scene.sources[i];
  const listener = S.listenerPosition(scene);
  const frame = S.keyframes(source)[k];
  let position = S.moveHorizontally(frame.position, listener, x, y);
  if (scene.room) {
    const world = S.pullInside(S.toWorld(position, listener), listener, scene.room);
    position = S.fromWorld(world, listener, position);
  }
  if (!S.isFinitePosition(position)) return; // never NaN or Infinity into the scene
  if (source.trajectory) source.trajectory.keyframes[k].position = position;
  else source.position = position;
  state.keyframe = k;
  renderInspector();
  topView.render(scene, { selected: state.selected, camera: state.camera });
  player.updatePreview(scene, { source, keyframe: k }); // live while dragging
}

let checkTimer = null;
function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(checkScene, 400);
}

/** Ask the server whether the scene is valid, so mistakes show before a render. */
async function checkScene() {
  const box = $("scene-check");
  if (!state.scene.sources.length) {
    box.textContent = "Add a source (it needs a sound) to render.";
    box.className = "note";
    return;
  }
  const sent = JSON.stringify(state.scene);
  try {
    const answer = await api.postJSON("/api/scenes/validate", { scene: state.scene });
    if (sent !== JSON.stringify(state.scene)) return; // edited meanwhile: a newer check follows
    box.textContent = `Scene OK: ${state.scene.sources.length} source(s), ${answer.duration?.toFixed?.(1) ?? "?"} s`;
    box.className = "note ok";
  } catch (error) {
    if (sent !== JSON.stringify(state.scene)) return;
    box.textContent = `Scene problem: ${error.message}`;
    box.className = "note bad";
  }
}

function removeSource(i) {
  state.scene.sources.splice(i, 1);
  // Regions point at sources by index: drop the removed one's, shift the later ones.
  state.regions = state.regions.filter((r) => r.source !== i).map((r) => ({ ...r, source: r.source > i ? r.source - 1 : r.source }));
  state.selected = Math.min(state.selected, state.scene.sources.length - 1);
  restartPreview();
  renderPicture();
  changed();
}

function addSource() {
  const sound = state.sounds.find((s) => s.id === $("add-source-sound").value) || state.sounds[0];
  const n = state.scene.sources.length;
  const listener = S.listenerPosition(state.scene);
  // Spread new sources around the front: 30° left, 30° right, 60° left...
  const az = (n % 2 ? -1 : 1) * 30 * (1 + Math.floor(n / 2));
  let position = { az, el: 0, dist: 2 };
  if (state.scene.room) {
    position = S.fromWorld(S.pullInside(S.toWorld(position, listener), listener, state.scene.room), listener, position);
  }
  state.scene.sources.push({ name: soundLabel(sound), audio: `upload:${sound.id}`, position, gain_db: 0, start: 0, doppler: false });
  select(n);
  restartPreview();
}

/** Sources came or went, or a sound, gain or start changed: build the preview again if it is on. */
function restartPreview() {
  if (player.mode === "preview" || player.loading === "preview") startPreview();
}

async function startPreview() {
  try {
    await player.startPreview(state.scene, (id) => api.uploadUrl(id));
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering the panels

function renderSounds() {
  $("sounds").replaceChildren(
    ...state.sounds.map((sound, i) =>
      element(
        "li",
        {},
        element("span", { class: "grow", title: sound.name }, `${sound.name} (${(sound.duration ?? 0).toFixed(1)} s)`),
        element("input", {
          type: "text",
          value: sound.label || "",
          placeholder: "label",
          testid: `sound-label-${i}`,
          title: "what the sound is (matched to the picture's regions or the prompt's words)",
          oninput: (e) => {
            sound.label = e.target.value.trim() || null;
          },
        }),
        element("button", {
          class: "small",
          title: "leave this sound out (sources that use it keep it)",
          testid: `remove-sound-${i}`,
          onclick: () => { state.sounds.splice(i, 1); renderSounds(); },
        }, "✕"),
      ),
    ),
  );
  $("add-source-sound").replaceChildren(...state.sounds.map((s) => option(s.id, soundLabel(s))));
  refreshButtons();
}

function renderSources() {
  $("sources").replaceChildren(
    ...state.scene.sources.map((source, i) =>
      element(
        "li",
        { class: i === state.selected ? "selected" : "", testid: `source-row-${i}`, onclick: () => select(i) },
        element("span", { class: "dot", style: `background:${COLOURS[i % COLOURS.length]}` }),
        element("span", { class: "grow" }, `${source.name || `source ${i}`}${source.trajectory ? " (moving)" : ""}`),
        element("button", {
          class: "small",
          title: "remove",
          testid: `remove-source-${i}`,
          onclick: (e) => {
            e.stopPropagation();
            removeSource(i);
          },
        }, "✕"),
      ),
    ),
  );
}

/** A labelled input bound to a setter; `parse` turns its text into the value. */
function field(label, attributes, set, parse = Number) {
  const input = element("input", attributes);
  input.addEventListener("change", () => {
    const value = attributes.type === "checkbox" ? input.checked : parse(input.value);
    if (attributes.type === "number" && !Number.isFinite(value)) return;
    set(value);
    changed();
  });
  return element("label", {}, label, " ", input);
}

function renderInspector() {
  const box = $("inspector");
  const source = state.scene.sources[state.selected];
  if (!source) {
    box.replaceChildren(element("p", { class: "note" }, "Select a source in the list or the top view."));
    return;
  }
  const listener = S.listenerPosition(state.scene);
  const frames = S.keyframes(source);
  const k = Math.min(state.keyframe, frames.length - 1);
  const here = S.toSpherical(S.toWorld(frames[k].position, listener), listener);
  const setPosition = (az, el, dist) => {
    const position = S.fromAzElDist(frames[k].position, listener, az, el, dist);
    if (!S.isFinitePosition(position)) return;
    if (source.trajectory) source.trajectory.keyframes[k].position = position;
    else source.position = position;
  };
  const soundSelect = element(
    "select",
    { testid: "inspector-sound", onchange: (e) => { source.audio = `upload:${e.target.value}`; restartPreview(); changed(); } },
    ...state.sounds.map((s) => option(s.id, soundLabel(s), source.audio === `upload:${s.id}`)),
  );
  if (!state.sounds.some((s) => source.audio === `upload:${s.id}`)) {
    soundSelect.prepend(option(String(source.audio).replace(/^upload:/, ""), "(not in the list)", true));
  }
  const motion = element(
    "select",
    { testid: "inspector-motion", onchange: (e) => { S.setMoving(state.scene, source, e.target.value === "moving", soundDuration(source)); state.keyframe = 0; changed(); } },
    option("still", "still", !source.trajectory),
    option("moving", "moving", !!source.trajectory),
  );
  const parts = [
    element("h3", {}, `Source ${state.selected}`),
    field("name", { type: "text", value: source.name || "", testid: "inspector-name" }, (v) => {
      if (v) source.name = v;
      else delete source.name;
      renderPicture();
    }, (v) => v.trim()),
    element("label", {}, "sound ", soundSelect),
    element("div", { class: "row" },
      field("az °", { type: "number", step: 1, value: S.round(here.az, 1), testid: "inspector-az" }, (v) => setPosition(v, here.el, here.dist)),
      field("el °", { type: "number", step: 1, min: -90, max: 90, value: S.round(here.el, 1), testid: "inspector-el" }, (v) => setPosition(here.az, Math.max(-90, Math.min(90, v)), here.dist)),
      field("dist m", { type: "number", step: 0.1, min: 0.05, value: S.round(here.dist, 2), testid: "inspector-dist" }, (v) => setPosition(here.az, here.el, Math.max(v, 0.05))),
    ),
    element("div", { class: "row" },
      field("gain dB", { type: "number", step: 1, value: source.gain_db ?? 0, testid: "inspector-gain" }, (v) => { source.gain_db = v; restartPreview(); }),
      field("start s", { type: "number", step: 0.1, min: 0, value: source.start ?? 0, testid: "inspector-start" }, (v) => { source.start = Math.max(v, 0); restartPreview(); }),
      field("doppler", { type: "checkbox", checked: !!source.doppler, testid: "inspector-doppler" }, (v) => { source.doppler = v; }),
    ),
    element("label", {}, "motion ", motion),
  ];
  if (source.trajectory) parts.push(...trajectoryEditor(source, k));
  box.replaceChildren(...parts);
}

const soundDuration = (source) => state.sounds.find((s) => `upload:${s.id}` === source.audio)?.duration || 4;

function trajectoryEditor(source, k) {
  const trajectory = source.trajectory;
  const listener = S.listenerPosition(state.scene);
  const rows = trajectory.keyframes.map((frame, j) => {
    const s = S.toSpherical(S.toWorld(frame.position, listener), listener);
    return element(
      "li",
      {
        class: j === k ? "selected" : "",
        testid: `keyframe-row-${j}`,
        // Clicking a row makes the position fields above edit its keyframe (not while typing its time).
        onclick: (e) => { if (!e.target.closest("input")) { state.keyframe = j; renderInspector(); } },
      },
      field("t", { type: "number", step: 0.1, min: 0, value: frame.t }, (v) => {
        frame.t = Math.max(v, 0);
        trajectory.keyframes.sort((a, b) => a.t - b.t);
      }),
      element("span", { class: "grow" }, ` az ${s.az.toFixed(0)}°, ${s.dist.toFixed(2)} m`),
      element("button", {
        class: "small",
        title: "delete this keyframe",
        disabled: trajectory.keyframes.length < 2,
        onclick: (e) => { e.stopPropagation(); trajectory.keyframes.splice(j, 1); state.keyframe = 0; changed(); },
      }, "✕"),
    );
  });
  const at = element("input", { type: "number", step: 0.1, min: 0, value: trajectory.keyframes.at(-1).t + 1, testid: "keyframe-time" });
  return [
    element("label", {}, "interpolate ", element(
      "select",
      { testid: "inspector-interpolate", onchange: (e) => { trajectory.interpolate = e.target.value; changed(); } },
      option("linear", "linear", trajectory.interpolate !== "spline"),
      option("spline", "spline", trajectory.interpolate === "spline"),
    )),
    element("ul", { class: "list keyframes" }, ...rows),
    element("div", { class: "row" },
      element("button", {
        testid: "add-keyframe",
        onclick: () => {
          const t = Number(at.value);
          if (!(t >= 0)) return;
          S.addKeyframe(state.scene, source, t);
          state.keyframe = source.trajectory.keyframes.findIndex((f) => f.t === S.round(t, 3));
          changed();
        },
      }, "Add keyframe at t ="),
      at,
    ),
  ];
}

function renderPicture() {
  $("picture-panel").hidden = !state.picture;
  if (state.picture) showPicture($("picture"), state.picture, state.regions, state.scene, select);
}

// ---------------------------------------------------------------------------------------------
// Room and head

function renderRoom() {
  const info = state.info;
  if (!info) return;
  const modes = [option("none", "none (free field)", state.roomMode === "none")];
  for (const preset of info.room_presets || []) {
    modes.push(option(`preset:${preset.name}`, `preset: ${preset.name}`, state.roomMode === `preset:${preset.name}`));
  }
  if (state.fittedRoom) modes.push(option("fitted", state.fittedLabel || "the scene's own", state.roomMode === "fitted"));
  modes.push(option("custom", "custom shoebox", state.roomMode === "custom"));
  $("room-mode").replaceChildren(...modes);
  $("room-custom").hidden = state.roomMode !== "custom";
  const rt60 = $("room-absorption").value === "rt60";
  $("room-materials").hidden = rt60;
  $("room-rt60-row").hidden = !rt60;
}

/** The room the room panel describes. */
function roomFromPanel() {
  const mode = state.roomMode;
  if (mode === "none") return null;
  if (mode === "fitted") return structuredClone(state.fittedRoom);
  if (mode.startsWith("preset:")) {
    return structuredClone(state.info.room_presets.find((p) => `preset:${p.name}` === mode).room);
  }
  const size = ["room-x", "room-y", "room-z"].map((id) => Math.max(Number($(id).value) || 1, 0.5));
  if ($("room-absorption").value === "rt60") return { shoebox: { size }, rt60: Number($("room-rt60").value) || 0.6 };
  return { shoebox: { size }, materials: { walls: $("mat-walls").value, floor: $("mat-floor").value, ceiling: $("mat-ceiling").value } };
}

/** Fill the custom fields from the current room, so "custom" starts from what is there. */
function customFromRoom(room) {
  if (!room?.shoebox) return;
  ["room-x", "room-y", "room-z"].forEach((id, i) => { $(id).value = room.shoebox.size[i]; });
  if (room.rt60) {
    $("room-absorption").value = "rt60";
    $("room-rt60").value = room.rt60;
  } else if (room.materials && typeof room.materials === "object") {
    $("room-absorption").value = "materials";
    for (const part of ["walls", "floor", "ceiling"]) {
      if (typeof room.materials[part] === "string") $(`mat-${part}`).value = room.materials[part];
    }
  }
}

function applyRoom() {
  S.setRoom(state.scene, roomFromPanel());
  fitView();
  changed();
}

function headName() {
  const name = state.scene.hrtf?.name || "sphere";
  const sofa = state.sofas.find((s) => `upload:${s.id}` === name);
  return sofa ? `SOFA ${sofa.name}` : name;
}

function renderHead() {
  const info = state.info;
  if (!info) return;
  const current = state.scene.hrtf?.name || "sphere";
  const options = (info.hrtfs || []).map((h) =>
    option(h.name, `${h.name}${h.available ? "" : " (not installed)"}`, h.name === current, !h.available),
  );
  for (const sofa of state.sofas) options.push(option(`upload:${sofa.id}`, `SOFA: ${sofa.name}`, `upload:${sofa.id}` === current));
  if (!options.some((o) => o.value === current)) options.push(option(current, current, true));
  $("hrtf").replaceChildren(...options);
}

// ---------------------------------------------------------------------------------------------
// Render, play, download

/** Formats an MP4 soundtrack can carry (the server refuses the others with a message). */
const MP4_FORMATS = ["binaural", "stereo", "5.1", "7.1", "foa"];

function renderRequest(format, plots = false, video = null) {
  return { scene: state.scene, format, sample_rate: null, normalize: true, bit_depth: "24", plots, video };
}

async function render() {
  player.unlock(); // in the click, so the browser lets the page play sound later
  const ticket = player.stop(); // a Stop or another play while the job runs cancels this play
  const job = await runJob("render", renderRequest("binaural"));
  const result = job.result;
  state.lastRender = { job_id: job.id, ...result };
  $("render-link").replaceChildren(
    element("a", { href: api.jobFileUrl(job.id, result.files.audio, true), download: result.files.audio, testid: "download-render", "data-job": job.id },
      `Download ${result.files.audio} (binaural, ${result.duration?.toFixed?.(1) ?? "?"} s)`),
  );
  await player.playServer(api.jobFileUrl(job.id, result.files.audio), `server render (binaural, head ${headName()})`, ticket);
}

async function renderForDownload() {
  const format = $("format").value;
  const withVideo = state.videoScene && $("with-video").checked && MP4_FORMATS.includes(format);
  const job = await runJob("render", renderRequest(format, false, withVideo ? state.video.id : null));
  const { files, channels } = job.result;
  const links = [
    element("a", { href: api.jobFileUrl(job.id, files.audio, true), download: files.audio, testid: "download-link", "data-format": format, "data-job": job.id },
      `Download ${files.audio} (${format}, ${channels} channels)`),
  ];
  if (files.video) {
    links.push(element("a", { href: api.jobFileUrl(job.id, files.video, true), download: files.video, testid: "download-video" },
      `Download ${files.video} (the clip with this soundtrack)`));
  }
  $("download").replaceChildren(...links.flatMap((link) => [link, element("br")]));
}

async function showPlots() {
  const job = await runJob("render", renderRequest("binaural", true));
  const pngs = Object.values(job.result.files).filter((name) => name.endsWith(".png"));
  $("plots").replaceChildren(...pngs.map((name) => element("img", { src: api.jobFileUrl(job.id, name), alt: name, testid: `plot-${stem(name)}` })));
  $("plots-panel").hidden = false;
  if (!pngs.length) $("plots").append(element("p", { class: "note" }, "The render made no plots."));
}

async function exportScene() {
  const blob = await api.postForBlob("/api/scenes/export", { scene: state.scene });
  const url = URL.createObjectURL(blob);
  element("a", { href: url, download: "scene.zip" }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Start flows

/** Add sounds to this tab's list, once each (the server gives the same bytes the same id). */
function knowSounds(...sounds) {
  for (const sound of sounds) if (!state.sounds.some((s) => s.id === sound.id)) state.sounds.push(sound);
  renderSounds();
}

async function addSounds(files) {
  const sounds = await uploadAll(files, "sound");
  knowSounds(...sounds);
  return sounds;
}

async function analysePhoto() {
  const job = await runJob("image", {
    image: state.photo.id, sounds: soundList(), depth: "auto", regions: "auto", fov: null, room: $("photo-room").value, ...sceneOptions(),
  });
  await loadResult(job, "fitted to the photo");
}

async function analyseVideo() {
  const job = await runJob("video", {
    video: state.video.id, sounds: soundList(), stride: Number($("video-stride").value) || 0.25, fov: null, doppler: $("video-doppler").checked, ...sceneOptions(),
  });
  await loadResult(job, "fitted to the video");
  state.videoScene = true; // the scene follows this clip: its picture can go with a render
  $("with-video-label").hidden = false;
}

async function buildFromText() {
  const prompt = $("text-prompt").value.trim();
  if (!prompt) throw new Error("prompt: write what the scene holds, e.g. 'a dog barking on the left'");
  const sounds = Object.fromEntries(state.sounds.map((s) => [soundLabel(s), s.id]));
  const job = await runJob("text", { prompt, sounds, duration: null, seed: 0, ...sceneOptions() });
  await loadResult(job, "the prompt's room");
}

async function importSceneFile() {
  const file = $("scene-file-input").files[0];
  if (!file) throw new Error("scene file: choose a YAML or JSON scene file");
  // The scene refers to its sounds by file name: upload them first, then map names to ids.
  const files = [...$("scene-sounds-input").files];
  const sounds = files.length ? await addSounds(files) : [];
  const names = Object.fromEntries(files.map((f, i) => [f.name, sounds[i].id]));
  const answer = await api.postJSON("/api/scenes/import", { text: await file.text(), sounds: names });
  await loadScene(answer.scene, { roomLabel: "the scene file's room" });
}

async function setup() {
  state.info = await api.getJSON("/api/info");
  const info = state.info;
  $("format").replaceChildren(...info.formats.map((f) => option(f, f)));
  $("library-name").replaceChildren(...(info.library || []).map((l) => option(l.name, l.name)));
  for (const part of ["walls", "floor", "ceiling"]) {
    $(`mat-${part}`).replaceChildren(...(info.materials || []).map((m) => option(m.name, m.name)));
  }
  // A furnished room by default, where the library has the materials.
  for (const [part, material] of [["walls", "plaster"], ["floor", "carpet"], ["ceiling", "acoustic_tile"]]) {
    if (info.materials?.some((m) => m.name === material)) $(`mat-${part}`).value = material;
  }
  const tta = info.text_to_audio || {};
  $("tta-why").hidden = tta.available && !tta.why;
  $("tta-why").textContent = tta.available ? `Text-to-audio: ${tta.why}` : `Text-to-audio is not available: ${tta.why || "no model"}`;
  renderSounds();
  fitView();
  changed();
}

function wire() {
  $("start-mode").addEventListener("change", (e) => {
    for (const div of document.querySelectorAll(".mode")) div.hidden = div.dataset.mode !== e.target.value;
  });
  $("photo-input").addEventListener("change", guard(async (e) => {
    if (!e.target.files.length) return;
    [state.photo] = await uploadAll(e.target.files, "image");
    state.picture = { id: state.photo.id, width: state.photo.width, height: state.photo.height };
    state.regions = [];
    renderPicture();
    refreshButtons();
  }));
  $("video-input").addEventListener("change", guard(async (e) => {
    if (e.target.files.length) [state.video] = await uploadAll(e.target.files, "video");
    refreshButtons();
  }));
  $("sound-input").addEventListener("change", guard(async (e) => {
    if (e.target.files.length) await addSounds(e.target.files);
  }));
  $("sofa-input").addEventListener("change", guard(async (e) => {
    if (!e.target.files.length) return;
    const [sofa] = await uploadAll(e.target.files, "sofa");
    state.sofas.push(sofa);
    state.scene.hrtf = { ...state.scene.hrtf, name: `upload:${sofa.id}` };
    changed();
  }));
  $("analyze-photo").addEventListener("click", guard(analysePhoto));
  $("analyze-video").addEventListener("click", guard(analyseVideo));
  $("build-text").addEventListener("click", guard(buildFromText));
  $("import-scene").addEventListener("click", guard(importSceneFile));
  $("new-scene").addEventListener("click", guard(() => loadScene(S.emptyScene())));
  $("library-add").addEventListener("click", guard(async () => {
    const sound = await api.postJSON("/api/library", { name: $("library-name").value, seconds: Number($("library-seconds").value) || 4, seed: 0 });
    knowSounds(sound);
  }));
  $("tta-generate").addEventListener("click", guard(async () => {
    const prompt = $("tta-prompt").value.trim();
    if (!prompt) throw new Error("text-to-audio: describe the sound, e.g. 'a dog barking'");
    const job = await runJob("sound", { prompt, seconds: 5, model: null });
    knowSounds({ ...job.result.sound, label: prompt });
  }));
  $("add-source").addEventListener("click", guard(addSource));
  $("fit-view").addEventListener("click", () => { fitView(); changed(); });
  $("room-mode").addEventListener("change", (e) => {
    if (e.target.value === "custom") customFromRoom(state.scene.room);
    state.roomMode = e.target.value;
    applyRoom();
  });
  for (const id of ["room-x", "room-y", "room-z", "room-absorption", "room-rt60", "mat-walls", "mat-floor", "mat-ceiling"]) {
    $(id).addEventListener("change", applyRoom);
  }
  $("hrtf").addEventListener("change", (e) => {
    state.scene.hrtf = { ...state.scene.hrtf, name: e.target.value };
    changed();
  });
  $("render").addEventListener("click", guard(render));
  $("preview").addEventListener("click", () => {
    player.unlock();
    startPreview();
  });
  $("stop").addEventListener("click", () => player.stop());
  $("render-format").addEventListener("click", guard(renderForDownload));
  $("export-scene").addEventListener("click", guard(exportScene));
  $("show-plots").addEventListener("click", guard(showPlots));
  window.addEventListener("resize", () => changed());
}

wire();
guard(setup)();
