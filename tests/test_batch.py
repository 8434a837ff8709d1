"""``soundstage batch``: scene, image and text jobs; failures reported; resumed after a kill; on Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundstage.batch import RECORDS, plan_job, read_jobs, run_batch
from soundstage.cli.main import main
from soundstage.io.wav import check_wav_length, read_wav_header

RATE = 16000


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("SOUNDSTAGE_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def scene_file(folder: Path, name: str, az: float, seconds: float = 0.5) -> Path:
    sound = folder / f"{name}.wav"
    soundfile.write(sound, 0.2 * np.random.default_rng(len(name)).standard_normal(int(seconds * RATE)), RATE)
    path = folder / f"{name}.yaml"
    path.write_text(
        f"output: {{format: binaural, sample_rate: {RATE}}}\n"
        f"sources:\n  - {{audio: {sound.name}, position: {{az: {az}, el: 0, dist: 2}}}}\n"
    )
    return path


def jobs_file(folder: Path, jobs: list[dict], name: str = "jobs.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    return path


def valid_wav(path: Path) -> int:
    read_wav_header(path)
    check_wav_length(path)
    return soundfile.info(str(path)).channels


def test_scene_image_and_text_jobs_run_and_write_what_their_commands_write(tmp_path) -> None:
    from synthetic_scene import save_scene_files

    inputs = tmp_path / "in"
    inputs.mkdir()
    scene_file(inputs, "left", 60)
    save_scene_files(inputs, 240, 180)
    soundfile.write(inputs / "hum.wav", 0.1 * np.random.default_rng(1).standard_normal(RATE // 2), RATE)
    jobs = jobs_file(
        inputs,
        [
            {"scene": "left.yaml", "output": "scenes/left.wav", "format": "foa"},
            {
                "image": "scene.png",
                "output": "photo.wav",
                "audio": ["hum.wav"],
                "sample_rate": RATE,
                "regions": "classical",
            },
            {"text": "a dog barking on the right", "output": "dog.wav", "sample-rate": RATE, "duration": 1},
        ],
    )
    report = run_batch(jobs, tmp_path / "out", backend="local", progress=False)
    assert (len(report.done), len(report.skipped), report.failed) == (3, 0, [])
    out = tmp_path / "out"
    assert valid_wav(out / "scenes" / "left.wav") == 4  # the job's --format foa
    assert valid_wav(out / "photo.wav") == 2
    assert (out / "photo.scene.yaml").is_file() and (out / "photo.regions.png").is_file()
    assert valid_wav(out / "dog.wav") == 2 and (out / "dog.scene.yaml").is_file()
    # Left is left: the scene job's render puts the source on its side (FOA Y > 0 for a source on the left).
    foa, _ = soundfile.read(out / "scenes" / "left.wav", always_2d=True)
    assert np.sum(foa[:, 0] * foa[:, 1]) > 0
    saved = json.loads((out / "batch_report.json").read_text())
    assert saved["done"] == 3 and saved["failed"] == 0


def test_a_failing_job_is_reported_and_the_others_are_written(tmp_path, capsys) -> None:
    scene_file(tmp_path, "good", 30)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        json.dumps({"scene": "good.yaml", "output": "good.wav"})
        + "\n"
        + json.dumps({"scene": "missing.yaml", "output": "missing.wav"})
        + "\n"
        + "{not json\n"
        + json.dumps({"scene": "good.yaml", "output": "../escape.wav"})
        + "\n"
        + json.dumps({"scene": "good.yaml", "output": "bad.wav", "format": "9.1"})
        + "\n"
        + json.dumps({"output": "none.wav"})
        + "\n"
    )
    code = main(["batch", str(jobs), "--out", str(tmp_path / "out"), "--backend", "local", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1
    assert valid_wav(tmp_path / "out" / "good.wav") == 2
    assert "1 done, 0 skipped (already done), 5 failed" in captured.out
    errors = {
        f["line"]: f["error"] for f in json.loads((tmp_path / "out" / "batch_report.json").read_text())["failures"]
    }
    assert "missing.yaml" in errors["2"] and "not JSON" in errors["3"] and "inside --out" in errors["4"]
    assert "9.1" in errors["5"] and "exactly one of scene, image or text" in errors["6"]
    assert captured.err.strip().splitlines() == [
        f"soundstage: error: 5 of 6 jobs failed (the others are written); see {tmp_path / 'out' / 'batch_report.json'}"
    ]
    assert not (tmp_path / "escape.wav").exists()


def test_done_jobs_are_skipped_and_changed_ones_render_again(tmp_path) -> None:
    scene = scene_file(tmp_path, "a", 10)
    jobs = jobs_file(tmp_path, [{"scene": "a.yaml", "output": "a.wav"}, {"scene": "a.yaml", "output": "b.wav"}])
    first = run_batch(jobs, tmp_path / "out", backend="local", progress=False)
    assert len(first.done) == 2
    stamp = (tmp_path / "out" / "a.wav").stat().st_mtime_ns
    again = run_batch(jobs, tmp_path / "out", backend="local", progress=False)
    assert (len(again.done), len(again.skipped)) == (0, 2)
    assert (tmp_path / "out" / "a.wav").stat().st_mtime_ns == stamp
    (tmp_path / "out" / "b.wav").write_bytes(b"RIFF\x00\x00")  # damaged since: not done any more
    scene.write_text(scene.read_text().replace("az: 10", "az: -10"))  # edited input: a different job
    time.sleep(0.01)
    third = run_batch(jobs, tmp_path / "out", backend="local", progress=False)
    assert len(third.done) == 2 and valid_wav(tmp_path / "out" / "b.wav") == 2


def test_csv_jobs_use_the_same_columns_and_semicolons_repeat_an_option(tmp_path) -> None:
    (tmp_path / "jobs.csv").write_text(
        "text,output,sound,duration,sample_rate\n"
        '"a bell on the left, a dog on the right",two.wav,bell=b.wav;dog=d.wav,1,16000\n'
    )
    [job] = read_jobs(tmp_path / "jobs.csv", tmp_path / "out")
    assert job.error is None
    assert job.argv.count("--sound") == 2 and f"bell={tmp_path / 'b.wav'}" in job.argv
    assert job.argv[:2] == ["text", "a bell on the left, a dog on the right"]


def test_a_batch_killed_mid_way_resumes_with_every_output_whole_and_none_rendered_twice(tmp_path) -> None:
    names = [f"s{i}" for i in range(10)]
    for index, name in enumerate(names):
        scene_file(tmp_path, name, -80 + 16 * index, seconds=3.0)
    jobs = jobs_file(tmp_path, [{"scene": f"{n}.yaml", "output": f"{n}.wav", "format": "hoa3"} for n in names])
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "soundstage",
        "batch",
        str(jobs),
        "--out",
        str(out),
        "--backend",
        "local",
        "--quiet",
    ]
    process = subprocess.Popen(command, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list((out / RECORDS).glob("*.json"))) < 3:  # a few done, the next one in the middle of its work
        assert process.poll() is None and time.monotonic() < deadline, "the batch ended before it could be killed"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    recorded = [Path(json.loads(r.read_text())["outputs"][0]) for r in (out / RECORDS).glob("*.json")]
    records = len(recorded)
    assert 3 <= records < len(names)
    before = {path: path.stat().st_ino for path in recorded}  # a new file would have a new inode

    report = run_batch(jobs, out, backend="local", progress=False)
    assert len(report.skipped) == records and len(report.done) == len(names) - records and not report.failed
    for name in names:
        assert valid_wav(out / f"{name}.wav") == 16
    assert all(path.stat().st_ino == inode for path, inode in before.items())  # none rendered twice
    assert not list(out.rglob("*.tmp"))  # the killed writer's temporary file was cleaned up


def test_jobs_run_on_a_local_ray_cluster(tmp_path) -> None:
    pytest.importorskip("ray", reason="the scale extra (Ray) is not installed")
    for index in range(3):
        scene_file(tmp_path, f"r{index}", 20 * index)
    jobs = jobs_file(tmp_path, [{"scene": f"r{i}.yaml", "output": f"r{i}.wav"} for i in range(3)])
    report = run_batch(jobs, tmp_path / "out", backend="ray", workers=2, progress=False)
    assert len(report.done) == 3 and not report.failed
    for index in range(3):
        assert valid_wav(tmp_path / "out" / f"r{index}.wav") == 2


def test_two_batches_cannot_write_one_folder_at_once(tmp_path) -> None:
    import fcntl

    scene_file(tmp_path, "x", 0)
    jobs = jobs_file(tmp_path, [{"scene": "x.yaml", "output": "x.wav"}])
    (tmp_path / "out" / RECORDS).mkdir(parents=True)
    with open(tmp_path / "out" / RECORDS / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(Exception, match="another soundstage batch is writing here"):
            run_batch(jobs, tmp_path / "out", backend="local", progress=False)


def test_plan_keeps_outputs_inside_out_and_inputs_beside_the_jobs_file() -> None:
    job = plan_job(
        3,
        {"image": "p.jpg", "output": "x/p.wav", "source": ["car=e.wav"], "depth": "d.png", "mesh": "p.ply", "fov": 60},
        base=Path("/jobs"),
        out_dir=Path("/out"),
    )
    assert job.argv[:4] == ["image", "/jobs/p.jpg", "-o", "/out/x/p.wav"]
    assert "car=/jobs/e.wav" in job.argv and "/jobs/d.png" in job.argv and "/out/p.ply" in job.argv
    assert Path("/out/p.ply") in job.outputs and Path("/out/x/p.scene.yaml") in job.outputs
