// Playback: the server's binaural render, or an approximate live preview with Web Audio panners.
//
// Web Audio's listener faces -z with +y up and +x to the right, so a scene point (x fwd, y left,
// z up) maps to WA = (-y, z, -x).

import { keyframes, listenerPosition, listenerYaw, toWorld } from "./scene.js";

const DEG = Math.PI / 180;
const toWebAudio = ([x, y, z]) => [-y, z, -x];

function setPosition(node, [x, y, z]) {
  if (node.positionX) {
    node.positionX.value = x;
    node.positionY.value = y;
    node.positionZ.value = z;
  } else {
    node.setPosition(x, y, z);
  }
}

export class Player {
  /** onChange(player) is called whenever what plays changes. */
  constructor(onChange) {
    this.onChange = onChange;
    this.context = null;
    this.mode = null; // "server" | "preview" | null
    this.label = "Stopped";
    this.nodes = []; // what plays now: buffer sources (and, in preview, their panners)
    this.decoded = new Map(); // URL → AudioBuffer, so previews start quickly the second time
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

  /** Play a rendered file as it is (binaural: the server's HRTF rendering). */
  async playServer(url, description) {
    const buffer = await this.decode(url, false);
    this.stop(false);
    const context = this.unlock();
    const node = new AudioBufferSourceNode(context, { buffer });
    node.connect(context.destination);
    node.onended = () => {
      if (this.nodes.includes(node)) this.finish(`Played: ${description}`);
    };
    node.start();
    this.nodes = [node];
    this.set("server", `Playing: ${description}`);
  }

  /** Play each source's own sound, looped, through an HRTF PannerNode at its place. */
  async startPreview(scene, soundUrl) {
    const context = this.unlock();
    const sources = scene.sources.filter((s) => String(s.audio).startsWith("upload:"));
    const buffers = await Promise.all(sources.map((s) => this.decode(soundUrl(s.audio.slice(7)))));
    this.stop(false);
    const now = context.currentTime + 0.05;
    this.nodes = sources.map((source, i) => {
      const player = new AudioBufferSourceNode(context, { buffer: buffers[i], loop: true });
      const gain = new GainNode(context, { gain: 10 ** ((source.gain_db ?? 0) / 20) });
      const panner = new PannerNode(context, {
        panningModel: "HRTF",
        distanceModel: "inverse",
        refDistance: 1,
        rolloffFactor: 1,
      });
      player.connect(gain).connect(panner).connect(context.destination);
      player.start(now + (source.start ?? 0));
      return { player, panner, name: source.name };
    });
    this.set("preview", "Playing: browser preview (Web Audio HRTF panner, approximate)");
    this.updatePreview(scene);
  }

  /** Move the preview's panners to the scene's places (each source where it starts). */
  updatePreview(scene) {
    if (this.mode !== "preview") return;
    const listener = listenerPosition(scene);
    const l = this.context.listener;
    const yaw = listenerYaw(scene) * DEG;
    // Panner positions are relative to the listener, who stays at the origin.
    const forward = toWebAudio([Math.cos(yaw), Math.sin(yaw), 0]);
    if (l.forwardX) {
      [l.forwardX.value, l.forwardY.value, l.forwardZ.value] = forward;
      [l.upX.value, l.upY.value, l.upZ.value] = [0, 1, 0];
    } else {
      l.setOrientation(...forward, 0, 1, 0);
    }
    const sources = scene.sources.filter((s) => String(s.audio).startsWith("upload:"));
    sources.forEach((source, i) => {
      if (!this.nodes[i]?.panner) return;
      const world = toWorld(keyframes(source)[0].position, listener);
      setPosition(this.nodes[i].panner, toWebAudio(world.map((v, j) => v - listener[j])));
    });
  }

  /** Stop whatever plays. */
  stop(announce = true) {
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
    if (announce) this.finish("Stopped");
  }

  finish(label) {
    this.nodes = [];
    this.set(null, label);
  }

  set(mode, label) {
    this.mode = mode;
    this.label = label;
    this.onChange(this);
  }
}
