// Playback: the server's binaural render, or an approximate live preview with Web Audio panners.
//
// Web Audio's listener faces -z with +y up and +x to the right, so a scene point (x fwd, y left,
// z up) maps to WA = (-y, z, -x).
//
// Every play and every stop takes a new generation number; a play that awaits (a fetch, a decode)
// checks after each await that its generation is still the current one, and gives up quietly if
// not. So Stop, or a newer play, cancels a play that is still loading.

import { keyframes, listenerPosition, listenerYaw, toWorld } from "./scene.js";

const DEG = Math.PI / 180;
const toWebAudio = ([x, y, z]) => [-y, z, -x];
const finite = (v) => (Number.isFinite(v) ? v : 0);

function setPosition(node, [x, y, z]) {
  if (node.positionX) {
    node.positionX.value = finite(x);
    node.positionY.value = finite(y);
    node.positionZ.value = finite(z);
  } else {
    node.setPosition(finite(x), finite(y), finite(z));
  }
}

const previewable = (scene) => scene.sources.filter((s) => String(s.audio).startsWith("upload:"));

export class Player {
  /** onChange(player) is called whenever what plays changes. */
  constructor(onChange) {
    this.onChange = onChange;
    this.context = null;
    this.mode = null; // "server" | "preview" | null: what plays now
    this.loading = null; // "server" | "preview" | null: what is being fetched/decoded to play next
    this.label = "Stopped";
    this.nodes = []; // what plays now: buffer sources (and, in preview, their panners and sources)
    this.decoded = new Map(); // URL → AudioBuffer, so previews start quickly the second time
    this.generation = 0; // bumped by every play and stop: a play whose number is stale gives up
  }

  /**
   * The AudioContext, made or resumed. Call it first thing in a click handler: browsers let a page
   * start audio only on a user gesture.
   */
  unlock() {
    if (!this.context) this.context = new AudioContext();
    if (this.context.state === "suspended") this.context.resume();
    return this.context;
  }

  /** Fetch and decode a sound file; `keep` keeps it for the next time (the sources' sounds). */
  async decode(url, keep = true) {
    if (this.decoded.has(url)) return this.decoded.get(url);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`could not fetch ${url}: ${response.status}`);
    const buffer = await this.unlock().decodeAudioData(await response.arrayBuffer());
    if (keep) this.decoded.set(url, buffer);
    return buffer;
  }

  /** Whether a play that took generation `ticket` is still wanted. */
  current(ticket) {
    return ticket === this.generation;
  }

  /**
   * Play a rendered file as it is (binaural: the server's HRTF rendering). `ticket`: the generation
   * the caller took (from stop()) before its own awaits, so a Stop meanwhile cancels this play too.
   * Returns whether it plays.
   */
  async playServer(url, description, ticket = this.cancel()) {
    if (!this.current(ticket)) return false;
    this.halt();
    this.loading = "server";
    this.set(null, `Loading: ${description}…`);
    let buffer;
    try {
      buffer = await this.decode(url, false);
    } catch (error) {
      if (!this.current(ticket)) return false; // cancelled meanwhile: nobody waits for it
      this.finish("Stopped");
      throw error;
    }
    if (!this.current(ticket)) return false;
    const context = this.unlock();
    const node = new AudioBufferSourceNode(context, { buffer });
    node.connect(context.destination);
    node.onended = () => {
      if (this.nodes.includes(node)) this.finish(`Played: ${description}`);
    };
    node.start();
    this.nodes = [node];
    this.set("server", `Playing: ${description}`);
    return true;
  }

  /**
   * Play each source's own sound, looped, through an HRTF PannerNode at its place, each delayed by
   * its `start` relative to the earliest start. `scene` is read again once the sounds are decoded,
   * so edits made while they load count. Returns whether it plays.
   */
  async startPreview(scene, soundUrl) {
    const ticket = this.cancel();
    const context = this.unlock();
    const wanted = previewable(scene);
    if (!wanted.length) {
      this.finish("Stopped: nothing to preview (the scene has no sources)");
      return false;
    }
    this.loading = "preview";
    this.set(null, "Loading the browser preview…");
    try {
      await Promise.all(wanted.map((s) => this.decode(soundUrl(s.audio.slice(7)))));
    } catch (error) {
      if (!this.current(ticket)) return false;
      this.finish("Stopped");
      throw error;
    }
    if (!this.current(ticket)) return false;
    // The scene as it is now (the decoded sounds are kept: a source changed meanwhile has its own).
    const sources = previewable(scene).filter((s) => this.decoded.has(soundUrl(s.audio.slice(7))));
    if (!sources.length) {
      this.finish("Stopped: nothing to preview (the scene has no sources)");
      return false;
    }
    const first = Math.min(...sources.map((s) => Math.max(finite(s.start ?? 0), 0)));
    const now = context.currentTime + 0.05;
    this.nodes = sources.map((source) => {
      const buffer = this.decoded.get(soundUrl(source.audio.slice(7)));
      const player = new AudioBufferSourceNode(context, { buffer, loop: true });
      const gain = new GainNode(context, { gain: 10 ** (finite(source.gain_db ?? 0) / 20) });
      const panner = new PannerNode(context, {
        panningModel: "HRTF",
        distanceModel: "inverse",
        refDistance: 1,
        rolloffFactor: 1,
      });
      player.connect(gain).connect(panner).connect(context.destination);
      player.start(now + Math.max(finite(source.start ?? 0), 0) - first);
      return { player, gain, panner, source };
    });
    this.set("preview", "Playing: browser preview (Web Audio HRTF panner, approximate)");
    this.updatePreview(scene);
    return true;
  }

  /**
   * Move the preview's panners to the scene's places (each source where it starts). Nodes follow
   * their source object, never an index; `dragged` {source, keyframe} puts a moving source at the
   * keyframe being dragged, so the preview follows the hand.
   */
  updatePreview(scene, dragged = null) {
    if (this.mode !== "preview") return;
    const listener = listenerPosition(scene);
    const l = this.context.listener;
    const yaw = finite(listenerYaw(scene)) * DEG;
    // Panner positions are relative to the listener, who stays at the origin.
    const forward = toWebAudio([Math.cos(yaw), Math.sin(yaw), 0]);
    if (l.forwardX) {
      [l.forwardX.value, l.forwardY.value, l.forwardZ.value] = forward;
      [l.upX.value, l.upY.value, l.upZ.value] = [0, 1, 0];
    } else {
      l.setOrientation(...forward, 0, 1, 0);
    }
    for (const node of this.nodes) {
      if (!scene.sources.includes(node.source)) continue; // removed: a restart follows
      const frames = keyframes(node.source);
      const k = dragged?.source === node.source ? Math.min(dragged.keyframe, frames.length - 1) : 0;
      const world = toWorld(frames[k].position, listener);
      setPosition(node.panner, toWebAudio(world.map((v, j) => v - listener[j])));
    }
  }

  /** Cancel what plays and what is loading, silently; returns the new generation. */
  cancel() {
    this.generation += 1;
    this.halt();
    return this.generation;
  }

  /** Stop whatever plays or loads. Returns the new generation: a caller's ticket for a later play. */
  stop() {
    const ticket = this.cancel();
    this.finish("Stopped");
    return ticket;
  }

  /** Silence the nodes (the generation stays). */
  halt() {
    for (const node of this.nodes) {
      const player = node.player || node;
      player.onended = null;
      try {
        player.stop();
      } catch {
        // never started
      }
      player.disconnect();
    }
    this.nodes = [];
    this.loading = null;
  }

  finish(label) {
    this.nodes = [];
    this.loading = null;
    this.set(null, label);
  }

  set(mode, label) {
    this.mode = mode;
    this.label = label;
    this.onChange(this);
  }
}
