"""Benchmark: 20 concurrent renders through the web API (none lost, memory bounded) beside the same in-process.

A real ``soundstage serve`` process (``--workers 2``) gets 20 different render requests at once from 20 client
threads (10 s two-source binaural scenes in a shoebox room, each with its own source directions, so no two
share a cache entry); each thread polls its job until it is done and downloads the WAV. Reported: how many
finished, failed or were lost, the wall time, renders per minute, the slowest request from submission to
download, and the peak resident memory of the server and its workers together (sampled every 0.2 s from /proc),
against the memory of one render in a plain Python process. The same 20 requests are sent a second time:
each must come back from the cache. The floor beside it is the Python API rendering the same 20 scenes one
after another in one process, each written as the server writes it (a 24-bit WAV normalised to -1 dBFS): what
the server's pool of 2 competes with on 2 cores, where one render's FFTs already use both.

Run ``python benchmarks/bench_serve.py [--renders 20] [--workers 2] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import cpu_model, package_version, usable_cores  # noqa: E402

RATE = 48000
ROOM = [8.0, 6.0, 3.0]
LISTENER = [4.0, 3.0, 1.6]


def scenes(n: int, upload_ids: list[str]) -> list[dict]:
    """``n`` different two-source scenes: the sources at their own directions, 2 m from the listener."""
    out = []
    for k in range(n):
        positions = []
        for j, base in enumerate((40.0, -70.0)):
            az = np.radians(base + 7.0 * k + 3.0 * j)
            positions.append([LISTENER[0] + 2 * np.cos(az), LISTENER[1] + 2 * np.sin(az), 1.6])
        out.append(
            {
                "sources": [
                    {"audio": f"upload:{upload}", "position": [round(v, 4) for v in p], "name": f"s{j}"}
                    for j, (upload, p) in enumerate(zip(upload_ids, positions, strict=True))
                ],
                "listener": {"position": LISTENER},
                "room": {
                    "shoebox": {"size": ROOM},
                    "materials": {"walls": "plaster", "floor": "carpet", "ceiling": "plaster"},
                },
            }
        )
    return out


def process_tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_round(client, base: str, bodies: list[dict]) -> list[dict]:
    """Send every body at once from its own thread; each thread polls its job and downloads the file."""
    outcomes: list[dict] = [{} for _ in bodies]

    def one(index: int) -> None:
        started = time.perf_counter()
        answer = client.post(f"{base}/api/jobs/render", json=bodies[index])
        if answer.status_code != 202:
            outcomes[index] = {"state": f"refused {answer.status_code}", "seconds": time.perf_counter() - started}
            return
        job = answer.json()
        while job["state"] in ("queued", "running"):
            job = client.get(f"{base}/api/jobs/{job['id']}", params={"wait": 10}).json()
        channels = 0
        if job["state"] == "done":
            data = client.get(f"{base}/api/jobs/{job['id']}/files/{job['result']['files']['audio']}").content
            channels = soundfile.info(io.BytesIO(data)).channels
        outcomes[index] = {
            "state": job["state"],
            "cached": job["cached"],
            "channels": channels,
            "error": job["error"],
            "seconds": time.perf_counter() - started,
        }

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def in_process(bodies: list[dict], sound_paths: dict[str, Path]) -> tuple[float, int]:
    """The same renders through the Python API, one after another: seconds, and this process's peak RSS."""
    import resource

    from soundstage.acoustics.render import render
    from soundstage.io.export import write_render
    from soundstage.scene import Scene

    out = Path(tempfile.mkdtemp(prefix="bench-serve-floor-"))
    started = time.perf_counter()
    for index, body in enumerate(bodies):
        data = {
            **body["scene"],
            "sources": [
                {**s, "audio": str(sound_paths[s["audio"].removeprefix("upload:")])} for s in body["scene"]["sources"]
            ],
        }
        result = render(Scene.model_validate(data), format="binaural", progress=False)
        write_render(result, out / f"render{index}.wav", bit_depth=24, normalize=True)  # what the server writes
    seconds = time.perf_counter() - started
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each scene's sounds")
    args = parser.parse_args()
    import httpx

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    rng = np.random.default_rng(0)
    paths = []
    for j in range(2):
        path = work / f"sound{j}.wav"
        soundfile.write(path, (0.1 * rng.standard_normal(int(args.seconds * RATE))).astype(np.float32), RATE)
        paths.append(path)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SOUNDSTAGE_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    # The server's log goes to a file: a pipe read only at the end would fill and stall the server mid-run.
    log_path = work / "server.log"
    log = open(log_path, "wb")  # open for the server's whole life, closed at the end
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "soundstage",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--data-dir",
            str(work / "data"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        # Every 0.2 s: walking /proc costs CPU that the renders would otherwise have.
        while not stop.is_set():
            peak[0] = max(peak[0], process_tree_rss(server.pid))
            time.sleep(0.2)

    try:
        with httpx.Client(timeout=120.0, limits=httpx.Limits(max_connections=64)) as client:
            for _ in range(200):
                try:
                    client.get(f"{base}/api/info")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            idle_rss = process_tree_rss(server.pid)
            ids = [
                client.post(f"{base}/api/uploads", files={"file": (p.name, p.read_bytes())}).json()["id"] for p in paths
            ]
            bodies = [{"scene": scene, "format": "binaural"} for scene in scenes(args.renders, ids)]
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            first = run_round(client, base, bodies)
            wall = time.perf_counter() - started
            started = time.perf_counter()
            second = run_round(client, base, bodies)
            cached_wall = time.perf_counter() - started
            stop.set()
            sampler.join()
    finally:
        server.terminate()
        server.wait(10)
    floor_seconds, floor_rss = in_process(bodies, {i: p for i, p in zip(ids, paths, strict=True)})

    done = sum(o.get("state") == "done" and o.get("channels") == 2 for o in first)
    failed = [o for o in first if o.get("state") == "failed"]
    lost = args.renders - done - len(failed)
    print(f"# soundstage serve under load: {args.renders} concurrent renders\n")
    print(
        f"machine: {cpu_model()}, {usable_cores()} usable cores; fastapi {package_version('fastapi')}, "
        f"uvicorn {package_version('uvicorn')}, soundstage {package_version('soundstage')}"
    )
    print(
        f"scenes: {args.seconds:g} s, 2 sources, binaural (sphere head), shoebox {ROOM} m, 48 kHz; "
        f"server --workers {args.workers}\n"
    )
    print("| what | renders | done | failed | lost | wall s | renders/min | slowest request s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| server, first round (all new) | {args.renders} | {done} | {len(failed)} | {lost} | {wall:.1f} | "
        f"{60 * args.renders / wall:.1f} | {max(o['seconds'] for o in first):.1f} | {peak[0] / 2**20:.0f} |"
    )
    cached = sum(bool(o.get("cached")) for o in second)
    failed_again = sum(o.get("state") == "failed" for o in second)
    lost_again = args.renders - sum(o.get("state") == "done" for o in second) - failed_again
    print(
        f"| server, same requests again | {args.renders} | {cached} cached | {failed_again} | {lost_again} "
        f"| {cached_wall:.1f} | {60 * args.renders / cached_wall:.0f} | {max(o['seconds'] for o in second):.1f} | — |"
    )
    print(
        f"| Python API in one process, one after another (floor) | {args.renders} | {args.renders} | 0 | 0 | "
        f"{floor_seconds:.1f} | {60 * args.renders / floor_seconds:.1f} | — | {floor_rss / 2**20:.0f} |"
    )
    print(
        f"\nserver idle (server + fork server, before any job): {idle_rss / 2**20:.0f} MiB; "
        f"server / floor wall time: {wall / floor_seconds:.2f}×"
    )
    for outcome in failed:
        print(f"failed: {outcome['error']}")
    log.close()
    server_log = log_path.read_text(errors="replace").strip()
    if server_log:
        print("\nserver log (last lines):\n" + "\n".join(server_log.splitlines()[-5:]))


if __name__ == "__main__":
    main()
