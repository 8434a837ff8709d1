// The scene being edited and the coordinate conventions of the API contract.
//
// World frame: x forward, y left, z up (metres). Azimuth is positive to the left. A position is
// either cartesian {x, y, z} (a world point; room coordinates when there is a room) or spherical
// {az, el, dist} relative to the listener's position, along the world axes.

const DEG = Math.PI / 180;
/** Distance kept from walls and ground when a point is pulled into a room, in metres. */
const MARGIN = 0.1;
/** Ear height given to a listener moved into a room, in metres. */
const EAR_HEIGHT = 1.6;
/**
 * Steepest elevation (degrees) a drag keeps. Above it cos(el) → 0 would fling the source away
 * (horizontal / cos 90° ≈ 1e16 m), so a drag keeps the source's height instead.
 */
const STEEP = 80;

export const round = (v, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Whether every coordinate of a position is a finite number (never NaN or ±Infinity in a scene). */
export const isFinitePosition = (p) => p != null && Object.values(p).every(Number.isFinite);

export function isSpherical(p) {
  return p != null && !Array.isArray(p) && ("az" in p || "dist" in p);
}

/** A position as the editor keeps it: a {x, y, z} or {az, el, dist} object with every field. */
export function normalisePosition(p) {
  if (Array.isArray(p)) return { x: p[0], y: p[1], z: p[2] ?? 0 };
  if (isSpherical(p)) return { az: p.az, el: p.el ?? 0, dist: p.dist };
  return { x: p.x, y: p.y, z: p.z ?? 0 };
}

/** A copy of a scene with every position as an object, so the views need only two forms. */
export function normaliseScene(scene) {
  const s = structuredClone(scene);
  s.sources = s.sources || [];
  for (const source of s.sources) {
    if (source.position != null) source.position = normalisePosition(source.position);
    for (const k of source.trajectory?.keyframes || []) k.position = normalisePosition(k.position);
  }
  s.listener = s.listener || {};
  if (s.listener.position != null) s.listener.position = normalisePosition(s.listener.position);
  for (const k of s.listener.trajectory?.keyframes || []) k.position = normalisePosition(k.position);
  return s;
}

export function emptyScene() {
  return {
    sources: [],
    listener: { position: { x: 0, y: 0, z: 0 }, orientation: { yaw: 0, pitch: 0, roll: 0 } },
    output: { format: "binaural", sample_rate: 48000 },
    hrtf: { name: "sphere" },
    room: null,
  };
}

/** Where the listener is, [x, y, z] (where it starts when it moves). */
export function listenerPosition(scene) {
  const l = scene.listener || {};
  const p = l.position || l.trajectory?.keyframes?.[0]?.position || { x: 0, y: 0, z: 0 };
  return [p.x, p.y, p.z ?? 0];
}

export const listenerYaw = (scene) => scene.listener?.orientation?.yaw ?? 0;

/** World point [x, y, z] of a position, spherical ones taken from the listener at `listener`. */
export function toWorld(p, listener) {
  if (!isSpherical(p)) return [p.x, p.y, p.z ?? 0];
  const el = (p.el ?? 0) * DEG;
  const az = p.az * DEG;
  return [
    listener[0] + p.dist * Math.cos(el) * Math.cos(az),
    listener[1] + p.dist * Math.cos(el) * Math.sin(az),
    listener[2] + p.dist * Math.sin(el),
  ];
}

/** Azimuth, elevation (degrees) and distance of a world point seen from the listener. */
export function toSpherical(world, listener) {
  const [x, y, z] = world.map((v, i) => v - listener[i]);
  return { az: Math.atan2(y, x) / DEG, el: Math.atan2(z, Math.hypot(x, y)) / DEG, dist: Math.hypot(x, y, z) };
}

/** A world point written in the same form as `like` (spherical or cartesian). */
export function fromWorld(world, listener, like) {
  if (!isSpherical(like)) return { x: round(world[0]), y: round(world[1]), z: round(world[2]) };
  const s = toSpherical(world, listener);
  return { az: round(s.az, 2), el: round(s.el, 2), dist: round(Math.max(s.dist, 0.01)) };
}

/** The keyframes of a source: its trajectory's, or one at t = 0 for a still source. */
export function keyframes(source) {
  return source.trajectory ? source.trajectory.keyframes : [{ t: 0, position: source.position }];
}

/** World point of a source at time t (linear between keyframes; the preview's approximation). */
export function worldAt(scene, source, t) {
  const frames = keyframes(source);
  const listener = listenerPosition(scene);
  const points = frames.map((k) => toWorld(k.position, listener));
  if (t <= frames[0].t) return points[0];
  for (let i = 1; i < frames.length; i++) {
    if (t <= frames[i].t) {
      const span = frames[i].t - frames[i - 1].t;
      const a = span > 0 ? (t - frames[i - 1].t) / span : 1;
      return points[i - 1].map((v, j) => v + a * (points[i][j] - v));
    }
  }
  return points[points.length - 1];
}

/**
 * Move a position horizontally to world (x, y), keeping its elevation (spherical) or height
 * (cartesian), and its form. This is what dragging in the top view does.
 */
export function moveHorizontally(p, listener, x, y) {
  if (!Number.isFinite(x) || !Number.isFinite(y)) return p;
  if (!isSpherical(p)) return { x: round(x), y: round(y), z: Number.isFinite(p.z) ? p.z : 0 };
  const dx = x - listener[0];
  const dy = y - listener[1];
  const horizontal = Math.max(Math.hypot(dx, dy), 0.05); // never onto the listener (dist must be > 0)
  const az = round(Math.atan2(dy, dx) / DEG, 2);
  const el = Math.max(-90, Math.min(90, Number.isFinite(p.el) ? p.el : 0));
  if (Math.abs(el) <= STEEP) return { az, el, dist: round(horizontal / Math.cos(el * DEG)) };
  // Nearly overhead or underfoot: keep the height above (below) the listener, recompute the elevation.
  const height = (Number.isFinite(p.dist) ? p.dist : 0) * Math.sin(el * DEG);
  return { az, el: round(Math.atan2(height, horizontal) / DEG, 2), dist: round(Math.max(Math.hypot(horizontal, height), 0.01)) };
}

/** Set a position from azimuth/elevation/distance, keeping its form. */
export function fromAzElDist(p, listener, az, el, dist) {
  const world = toWorld({ az, el, dist }, listener);
  return isSpherical(p) ? { az, el, dist } : fromWorld(world, listener, p);
}

/** Pull a world point into the room along the ray from the listener (what the picture shows stays). */
export function pullInside(world, listener, room) {
  if (!room) return world;
  const offset = world.map((v, i) => v - listener[i]);
  let scale = 1;
  if (room.shoebox) {
    const size = room.shoebox.size;
    for (let i = 0; i < 3; i++) {
      const low = MARGIN - listener[i];
      const high = size[i] - MARGIN - listener[i];
      if (offset[i] === 0) continue; // no way out along this axis (and no division by 0)
      if (offset[i] > high) scale = Math.min(scale, high / offset[i]);
      if (offset[i] < low) scale = Math.min(scale, low / offset[i]);
    }
  } else if (room.ground !== undefined && offset[2] < 0 && offset[2] < MARGIN - listener[2]) {
    scale = Math.min(scale, (MARGIN - listener[2]) / offset[2]);
  }
  return listener.map((v, i) => v + Math.max(scale, 0) * offset[i]);
}

/** Apply fn(position) → position to every source position and keyframe. */
function mapSourcePositions(scene, fn) {
  for (const source of scene.sources) {
    if (source.position) source.position = fn(source.position);
    for (const k of source.trajectory?.keyframes || []) k.position = fn(k.position);
  }
}

function insideRoom(point, room) {
  if (room.shoebox) return point.every((v, i) => v > MARGIN && v < room.shoebox.size[i] - MARGIN);
  if (room.ground !== undefined) return point[2] > MARGIN;
  return true;
}

/**
 * Give the scene a new room (null: free field). With a room, cartesian positions are room
 * coordinates, so a listener outside it moves to the room's centre at ear height, and cartesian
 * sources move with it: every source stays where it was relative to the listener. Sources that
 * end up outside are pulled in along their direction.
 */
export function setRoom(scene, room) {
  const before = listenerPosition(scene);
  let after = before;
  if (room?.shoebox && !insideRoom(before, room)) {
    const [X, Y, Z] = room.shoebox.size;
    after = [X / 2, Y / 2, Math.min(EAR_HEIGHT, Z / 2)];
  } else if (room && room.ground !== undefined && !insideRoom(before, room)) {
    after = [before[0], before[1], EAR_HEIGHT];
  }
  const shift = after.map((v, i) => round(v - before[i]));
  const moveCartesian = (p) => (isSpherical(p) ? p : { x: round(p.x + shift[0]), y: round(p.y + shift[1]), z: round(p.z + shift[2]) });
  const l = scene.listener;
  if (l.trajectory) for (const k of l.trajectory.keyframes) k.position = moveCartesian(k.position);
  else l.position = moveCartesian(l.position || { x: 0, y: 0, z: 0 });
  mapSourcePositions(scene, moveCartesian);
  scene.room = room;
  if (room) {
    const listener = listenerPosition(scene);
    mapSourcePositions(scene, (p) => {
      const world = toWorld(p, listener);
      return insideRoom(world, room) ? p : fromWorld(pullInside(world, listener, room), listener, p);
    });
  }
}

/** A still source becomes a moving one (two keyframes, the second 60° to its right) and back. */
export function setMoving(scene, source, moving, duration = 4) {
  if (moving && !source.trajectory) {
    const listener = listenerPosition(scene);
    const p = source.position;
    const s = toSpherical(toWorld(p, listener), listener);
    const end = fromAzElDist(p, listener, round(s.az - 60, 2), round(s.el, 2), round(s.dist));
    const world = pullInside(toWorld(end, listener), listener, scene.room);
    source.trajectory = {
      keyframes: [{ t: 0, position: p }, { t: round(duration, 2), position: fromWorld(world, listener, p) }],
      interpolate: "linear",
    };
    delete source.position;
  } else if (!moving && source.trajectory) {
    source.position = source.trajectory.keyframes[0].position;
    delete source.trajectory;
  }
}

/** Add a keyframe at time t where the source is at that time; keeps the keyframes in time order. */
export function addKeyframe(scene, source, t) {
  const frames = source.trajectory.keyframes;
  const listener = listenerPosition(scene);
  const world = worldAt(scene, source, t);
  let at = frames.findIndex((k) => k.t > t);
  if (at < 0) at = frames.length;
  const like = frames[Math.max(at - 1, 0)].position;
  frames.splice(at, 0, { t: round(t, 3), position: fromWorld(world, listener, like) });
}
