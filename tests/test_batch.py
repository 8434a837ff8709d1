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

from soundstage.batch import NOT_VISIBLE, RECORDS, is_done, plan_job, read_jobs, run_batch
from soundstage.cli.main import main
from soundstage.errors import ParameterError
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
    recorded = [Path(json.loads(r.read_text())["outputs"][0]["path"]) for r in (out / RECORDS).glob("*.json")]
    records = len(recorded)
    assert 3 <= records < len(names)
    before = {path: path.stat().st_ino for path in recorded}  # a new file would have a new inode

    report = run_batch(jobs, out, backend="local", progress=False)
    # A job killed between its output and its record is adopted (skipped too), not rendered again.
    assert len(report.skipped) >= records and len(report.done) + len(report.skipped) == len(names)
    assert not report.failed
    for name in names:
        assert valid_wav(out / f"{name}.wav") == 16
    assert all(path.stat().st_ino == inode for path, inode in before.items())  # none rendered twice
    assert not list(out.rglob("*.tmp"))  # the killed writer's temporary file was cleaned up


def test_jobs_run_on_a_local_ray_cluster(tmp_path) -> None:
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
        with pytest.raises(ParameterError, match="another soundstage batch is writing here"):
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


def test_an_output_replaced_since_its_record_renders_again(tmp_path) -> None:
    scene_file(tmp_path, "a", 10)
    out = tmp_path / "out"
    for channels, form in ((4, "foa"), (2, "binaural"), (4, "foa")):
        jobs = jobs_file(tmp_path, [{"scene": "a.yaml", "output": "a.wav", "format": form}])
        report = run_batch(jobs, out, backend="local", progress=False)
        assert len(report.done) == 1  # the foa record of the first run does not describe the binaural file
        assert valid_wav(out / "a.wav") == channels


def test_jobs_sharing_an_output_fail_naming_each_other(tmp_path) -> None:
    rows = [{"scene": "a.yaml", "output": "x.wav"}, {"scene": "b.yaml", "output": "y.wav"}]
    rows.append({"scene": "c.yaml", "output": "./x.wav"})
    jobs = read_jobs(jobs_file(tmp_path, rows), tmp_path / "out")
    assert "also written by line 3" in jobs[0].error and "also written by line 1" in jobs[2].error
    assert jobs[1].error is None


def test_an_output_over_any_jobs_input_is_refused(tmp_path) -> None:
    (tmp_path / "hum.wav").write_bytes(b"x")
    rows = [
        {"image": "p.png", "output": "p.wav", "audio": "hum.wav"},
        {"scene": "a.yaml", "output": "hum.wav"},
        {"scene": "a.yaml", "output": "a.yaml"},
    ]
    jobs = read_jobs(jobs_file(tmp_path, rows), tmp_path)  # --out is the jobs file's folder
    assert jobs[0].error is None
    assert "is an input of line 1" in jobs[1].error and "chained jobs are not supported" in jobs[1].error
    assert "is an input of this job" in jobs[2].error


def test_relative_paths_are_made_absolute_and_the_key_does_not_depend_on_their_spelling(tmp_path, monkeypatch):
    scene_file(tmp_path, "a", 10)
    jobs_file(tmp_path, [{"scene": "a.yaml", "output": "a.wav"}])
    monkeypatch.chdir(tmp_path)
    [relative] = read_jobs("jobs.jsonl", "out")
    [absolute] = read_jobs(tmp_path / "jobs.jsonl", tmp_path / "sub" / ".." / "out")
    assert relative.argv[1] == str(tmp_path / "a.yaml") and relative.outputs == [tmp_path / "out" / "a.wav"]
    assert relative.key == absolute.key


def test_a_sound_named_inside_the_scene_edited_since_renders_again(tmp_path) -> None:
    scene_file(tmp_path, "a", 10)
    jobs = jobs_file(tmp_path, [{"scene": "a.yaml", "output": "a.wav"}])
    assert len(run_batch(jobs, tmp_path / "out", backend="local", progress=False).done) == 1
    record = json.loads(next((tmp_path / "out" / RECORDS).glob("*.json")).read_text())
    assert str(tmp_path / "a.wav") in [stamp["path"] for stamp in record["inputs"]]
    soundfile.write(tmp_path / "a.wav", np.zeros(RATE // 4), RATE)  # the scene's sound, not on the command line
    assert len(run_batch(jobs, tmp_path / "out", backend="local", progress=False).done) == 1


def test_a_job_whose_outputs_this_process_cannot_see_fails(tmp_path, monkeypatch) -> None:
    import soundstage.parallel

    def remote_disk(function, tasks, **options):  # a worker on another node wrote them on its own disk
        for job, _ in tasks:
            yield {"line": job.line, "status": "done", "output": str(job.outputs[0]), "seconds": 0.0}

    monkeypatch.setattr(soundstage.parallel, "map_tasks", remote_disk)
    scene_file(tmp_path, "a", 10)
    jobs = jobs_file(tmp_path, [{"scene": "a.yaml", "output": "a.wav"}])
    report = run_batch(jobs, tmp_path / "out", backend="local", progress=False)
    assert report.failed == [{"line": "1", "error": NOT_VISIBLE}] and not report.done


def test_a_dead_worker_fails_its_job_and_the_others_go_on(tmp_path, monkeypatch) -> None:
    import soundstage.parallel

    real = soundstage.parallel.map_tasks

    def one_dies(function, tasks, *, on_error, **options):
        for task in tasks:
            if task[0].line == 1:
                yield on_error(task, RuntimeError("The worker died unexpectedly\nmore lines"))
            else:
                yield from real(function, [task], on_error=on_error, **options)

    monkeypatch.setattr(soundstage.parallel, "map_tasks", one_dies)
    for name in "ab":
        scene_file(tmp_path, name, 10)
    jobs = jobs_file(tmp_path, [{"scene": "a.yaml", "output": "a.wav"}, {"scene": "b.yaml", "output": "b.wav"}])
    report = run_batch(jobs, tmp_path / "out", backend="local", progress=False)
    assert report.failed == [{"line": "1", "error": "the worker died (RuntimeError: The worker died unexpectedly)"}]
    assert len(report.done) == 1 and valid_wav(tmp_path / "out" / "b.wav") == 2


def test_map_tasks_on_ray_reports_a_crashed_worker_and_runs_the_rest() -> None:
    from soundstage.parallel import map_tasks

    # eval is a builtin, so Ray workers can import it; the second task kills its worker outright.
    tasks = ["1 + 1", "__import__('os')._exit(3)", "2 + 2"]
    results = map_tasks(eval, tasks, backend="ray", workers=2, on_error=lambda task, error: f"failed {task[:8]}")
    assert sorted(results, key=str) == [2, 4, "failed __import"]


def test_a_ray_cluster_that_cannot_be_joined_is_one_clear_error(monkeypatch) -> None:
    import ray  # the scale extra, which the test extra brings

    from soundstage.errors import ParameterError
    from soundstage.parallel import map_tasks

    def refuse(**options):
        raise ConnectionError("Could not connect to ray://nowhere:10001\ndetails")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(ParameterError, match=r"cannot start or join the Ray cluster at ray://nowhere:10001: Could"):
        list(map_tasks(abs, [1], address="ray://nowhere:10001"))


def test_a_job_killed_between_its_outputs_and_its_record_is_adopted_not_rendered_again(tmp_path) -> None:
    scene_file(tmp_path, "a", 10)
    jobs = jobs_file(tmp_path, [{"scene": "a.yaml", "output": "a.wav"}])
    out = tmp_path / "out"
    run_batch(jobs, out, backend="local", progress=False)
    [record] = (out / RECORDS).glob("*.json")
    intent = record.with_suffix(".started")
    output = out / "a.wav"
    inode = output.stat().st_ino
    record.unlink()  # as if killed after the output was written, before the record
    intent.write_text("0\n")
    os.utime(intent, ns=(output.stat().st_mtime_ns - 10**9,) * 2)
    report = run_batch(jobs, out, backend="local", progress=False)
    assert (len(report.done), len(report.skipped)) == (0, 1) and output.stat().st_ino == inode
    assert record.is_file() and not intent.exists()
    record.unlink()  # an output older than the intent is not this job's work
    intent.write_text("0\n")
    os.utime(intent, ns=(output.stat().st_mtime_ns + 10**9,) * 2)
    assert len(run_batch(jobs, out, backend="local", progress=False).done) == 1


def test_only_temporaries_of_this_batchs_outputs_are_removed(tmp_path) -> None:
    scene_file(tmp_path, "a", 10)
    jobs = jobs_file(tmp_path, [{"scene": "a.yaml", "output": "sub/a.wav"}])
    (tmp_path / "out" / "sub").mkdir(parents=True)
    ours = tmp_path / "out" / "sub" / ".a.wav.k3j_x9q1.tmp"
    theirs = tmp_path / "out" / "sub" / ".render.wav.ab12cd34.tmp"  # a concurrent soundstage render's
    ours.write_bytes(b"half")
    theirs.write_bytes(b"live")
    report = run_batch(jobs, tmp_path / "out", backend="local", progress=False)
    assert report.cleaned == 1 and not ours.exists() and theirs.exists()


def test_csv_with_a_bom_multi_line_cells_false_flags_and_model_folders(tmp_path) -> None:
    (tmp_path / "depth-model").mkdir()
    (tmp_path / "jobs.csv").write_text(
        "\ufeffscene,output,ir_only,depth_model\n"
        "a.yaml,a.wav,false,depth-model\n"
        '"b\n.yaml",b.wav,FALSE,owner/name\n'
        "c.yaml,c.wav,true,\n",
        encoding="utf-8",
    )
    jobs = read_jobs(tmp_path / "jobs.csv", tmp_path / "out")
    assert [job.line for job in jobs] == [2, 3, 5]
    assert jobs[0].error is None and jobs[1].error is None and "ir_only" in jobs[2].error
    assert "--ir-only" not in jobs[0].argv
    assert str(tmp_path / "depth-model") in jobs[0].argv and "owner/name" in jobs[1].argv


def test_outputs_over_the_batchs_own_files_are_refused(tmp_path) -> None:
    rows = [
        {"scene": "a.yaml", "output": f"{RECORDS}/x.wav"},
        {"scene": "a.yaml", "output": "batch_report.json"},
        {"image": "p.png", "output": "p.wav", "mesh": "../p.ply"},
    ]
    jobs = read_jobs(jobs_file(tmp_path, rows), tmp_path / "out")
    assert "batch's own files" in jobs[0].error and "batch's own files" in jobs[1].error
    assert "mesh" in jobs[2].error and "inside --out" in jobs[2].error


def test_is_done_is_false_without_a_record(tmp_path) -> None:
    [job] = read_jobs(jobs_file(tmp_path, [{"scene": "a.yaml", "output": "a.wav"}]), tmp_path / "out")
    assert not is_done(job, tmp_path / "out")
