"""Benchmark: real-time rendering on one core — ``soundstage stream --benchmark`` beside the browser's HRTF panner.

Soundstage: ``soundstage stream scene.yaml --benchmark --sources N`` (a fresh process pinned to one core, 48 kHz,
512-sample blocks, N sources circling the listener on random arcs) for binaural (the built-in sphere head),
binaural through third-order ambisonics and one decode (``--via hoa3``), third-order ambisonics, binaural in a
8 × 6 × 3 m shoebox (RT60 0.4 s: first-order reflections per source and one shared tail) — all on the source
bank — and binaural on the exact block engine (``--exact``). Reported: the real-time factor (mean render time
per block over the block's 10.7 ms), the worst block, the latency (one block plus the engine's filters), and
the issue's targets (256 binaural sources, 1000 through hoa3 to binaural, 32 in a shoebox, each at ≤ 0.5).

Peer, in the same run: Chromium's Web Audio ``PannerNode`` (``panningModel: "HRTF"``, its built-in measured
head) rendering N moving sources through an ``OfflineAudioContext`` (as fast as it can, one audio thread),
driven by Playwright with Debian's chromium; its real-time factor is the render time over the audio's length.

Run ``python benchmarks/bench_stream.py [--seconds 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import cpu_model, package_version  # noqa: E402

RATE = 48000
CHROMIUM = "/usr/bin/chromium"
SHOEBOX = {"shoebox": {"size": [8, 6, 3]}, "rt60": 0.4}
#: (label, scene format, room, extra stream options, source counts, the issue's target: sources at RTF ≤ 0.5)
CASES = (
    ("binaural, free field", "binaural", None, [], (1, 32, 256), 256),
    ("binaural via hoa3, free field", "binaural", None, ["--via", "hoa3"], (32, 256, 1000), 1000),
    ("hoa3, free field", "hoa3", None, [], (32, 256, 1000), None),
    ("binaural, shoebox RT60 0.4 s", "binaural", SHOEBOX, [], (1, 8, 32), 32),
    ("binaural, free field, --exact (block engine)", "binaural", None, ["--exact"], (1, 8), None),
)
PEER_COUNTS = (1, 32, 256)
#: Longest a Chromium run may take before it is stopped (a hung browser must not hang the benchmark).
PEER_TIMEOUT_S = 300


def soundstage_case(folder: Path, fmt: str, room: dict | None, options: list[str], sources: int,
                    seconds: float) -> dict:
    sound = folder / "noise.wav"
    if not sound.exists():
        soundfile.write(sound, (0.1 * np.random.default_rng(0).standard_normal(5 * RATE)).astype(np.float32), RATE)
    scene = {"output": {"format": fmt, "sample_rate": RATE}, "sources": [{"name": "s", "audio": sound.name,
                                                                            "position": {"az": 30, "dist": 2}}]}
    if room is not None:
        scene["room"] = room
        scene["listener"] = {"position": [4, 3, 1.6]}
        scene["sources"][0]["position"] = [5.5, 3.5, 1.6]
    path = folder / f"{fmt}_{'room' if room else 'free'}.json"
    path.write_text(json.dumps(scene))
    figures = folder / "figures.json"
    command = [sys.executable, "-m", "soundstage", "stream", str(path), "--benchmark", "--sources", str(sources),
               "--seconds", str(seconds), "--json", str(figures), "--overwrite", "--quiet", *options]
    subprocess.run(command, check=True, timeout=1800)
    return json.loads(figures.read_text())


PAGE = """
async function run(sources, seconds) {
  const rate = 48000, length = seconds * rate;
  const context = new OfflineAudioContext(2, length, rate);
  const noise = context.createBuffer(1, rate, rate);
  const data = noise.getChannelData(0);
  for (let i = 0; i < data.length; i++) data[i] = (Math.random() * 2 - 1) * 0.1;
  for (let s = 0; s < sources; s++) {
    const player = context.createBufferSource();
    player.buffer = noise; player.loop = true;
    const panner = new PannerNode(context, {panningModel: "HRTF", distanceModel: "inverse"});
    const radius = 1 + 5 * Math.random(), start = Math.random() * 2 * Math.PI, turn = 0.3 + Math.random();
    for (let k = 0; k <= seconds * 10; k++) {  // a position every 0.1 s, ramped linearly in between
      const t = k / 10, az = start + turn * t;
      panner.positionX.linearRampToValueAtTime(-radius * Math.sin(az), t);
      panner.positionZ.linearRampToValueAtTime(-radius * Math.cos(az), t);
    }
    player.connect(panner).connect(context.destination);
    player.start();
  }
  const started = performance.now();
  await context.startRendering();
  return (performance.now() - started) / 1000;
}
"""


def chromium_case(sources: int, seconds: float) -> float | str:
    """The browser's real-time factor, run in a child process that is stopped if it hangs (a reason if not run)."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--peer", str(sources), "--seconds", str(seconds)],
            capture_output=True, text=True, timeout=PEER_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"not run (Chromium did not finish in {PEER_TIMEOUT_S} s)"
    lines = done.stdout.strip().splitlines()
    return float(lines[-1]) if done.returncode == 0 and lines else "not run (no chromium/playwright)"


def _chromium_rtf(sources: int, seconds: float) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page()
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=PAGE)
        rendered = page.evaluate(f"run({sources}, {seconds})")
        browser.close()
    return rendered / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="the smallest count of each case only")
    parser.add_argument("--peer", type=int, help=argparse.SUPPRESS)  # the child process that runs Chromium
    args = parser.parse_args()
    if args.peer is not None:
        rtf = _chromium_rtf(args.peer, args.seconds)
        if rtf is None:
            sys.exit(1)
        print(rtf)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    rows = []
    for label, fmt, room, options, counts, target in CASES:
        for count in counts[:1] if args.quick else counts:
            figures = soundstage_case(folder, fmt, room, options, count, args.seconds)
            rows.append((label, count, figures, target))
            print(f"{label}, {count} sources: real-time factor {figures['real_time_factor']:.3f}", file=sys.stderr)
    peer = {count: chromium_case(count, args.seconds) for count in (PEER_COUNTS[:1] if args.quick else PEER_COUNTS)}
    print(f"# Real time on one core: {args.seconds:g} s of moving sources, 48 kHz, 512-sample blocks\n")
    print(f"machine: {cpu_model()}; soundstage {package_version('soundstage')}, playwright "
          f"{package_version('playwright')}, pinned to core {rows[0][2].get('core')}\n")
    print("| renderer | engine | sources | real-time factor | worst block | over-runs | latency | target |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for label, count, figures, target in rows:
        goal = "—" if target is None or count != target else ("met" if figures["real_time_factor"] <= 0.5 else
                                                                "NOT met") + f" (≤ 0.5 at {target})"
        print(f"| Soundstage {label} | {figures.get('engine', '?')} | {count} | {figures['real_time_factor']:.3f} "
              f"| {figures['worst_block_rtf']:.3f} | {figures['overruns']} of {figures['blocks']} "
              f"| {figures['latency_ms']:.1f} ms | {goal} |")
    for count, rtf in peer.items():
        shown = rtf if isinstance(rtf, str) else f"{rtf:.3f}"
        print(f"| Chromium Web Audio HRTF PannerNode (offline) | — | {count} | {shown} | — | — | — | — |")
    binaural = {count: f for label, count, f, _ in rows if label == "binaural, free field"}
    for count, rtf in peer.items():
        if not isinstance(rtf, str) and count in binaural:
            print(f"\nbinaural, {count} sources: Soundstage / Chromium real-time factor = "
                  f"{binaural[count]['real_time_factor'] / rtf:.2f}×")
    print(f"\n(threads: SOUNDSTAGE_THREADS={os.environ.get('SOUNDSTAGE_THREADS', 'unset')} in this process; "
          "each stream pins itself and its BLAS to one core)")


if __name__ == "__main__":
    main()
