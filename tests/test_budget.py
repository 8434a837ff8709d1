"""Renders are held to a memory budget before the work; scene fields have physical bounds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from budget_search import smallest_allowed_budget
from soundstage.acoustics.budget import memory_limit_bytes, parse_memory_size
from soundstage.acoustics.render import render
from soundstage.errors import InputFileError, ParameterError
from soundstage.scene import scene_from_dict

RATE = 16000
ROOM = {"shoebox": {"size": [8, 6, 3]}}
LISTENER = {"position": [4, 3, 1.6]}


def _scene(tmp_path: Path, room=None, **source_fields):
    soundfile.write(tmp_path / "a.wav", np.random.default_rng(0).standard_normal(RATE // 4) * 0.05, RATE)
    data = {
        "output": {"format": "binaural", "sample_rate": RATE},
        "sources": [{"name": "a", "audio": "a.wav", "position": [2, 1.5, 1.5], **source_fields}],
    }
    if room is not None:
        data["room"] = room
        data["listener"] = LISTENER
    return scene_from_dict(data, base_dir=tmp_path)


def test_sizes_parse_in_powers_of_1024():
    assert parse_memory_size("8G") == 8 * 2**30
    assert parse_memory_size("1.5 GiB") == 3 * 2**29
    assert parse_memory_size("512m") == 512 * 2**20
    for bad in ("", "lots", "-1G", "0", "1e30T", True):
        with pytest.raises(ParameterError, match="memory"):
            parse_memory_size(bad)


def test_the_limit_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.setenv("SOUNDSTAGE_MEMORY_LIMIT", "3G")
    assert memory_limit_bytes() == 3 * 2**30
    assert memory_limit_bytes("1G") == 2**30
    monkeypatch.delenv("SOUNDSTAGE_MEMORY_LIMIT")
    assert 0 < memory_limit_bytes() <= 8 * 2**30


def test_an_image_source_order_beyond_the_budget_is_refused_naming_max_order(tmp_path):
    # The case: max_order 50 without a tail peaked at 13 GiB; now it is refused before any encoding.
    scene = _scene(tmp_path, {**ROOM, "max_order": 50, "late_reverb": False})
    with pytest.raises(ParameterError, match=r"^room\.max_order: image sources up to order 50 .* more than the budget"):
        render(scene, progress=False, memory_limit="2G")


def test_without_a_tail_or_order_the_message_names_late_reverb(tmp_path):
    scene = _scene(tmp_path, {**ROOM, "late_reverb": False})
    with pytest.raises(ParameterError, match=r"^room: about .* image sources .* keep room\.late_reverb on"):
        render(scene, progress=False, memory_limit="50M")


def test_a_late_start_names_the_start(tmp_path):
    scene = _scene(tmp_path, start=3000.0)  # 3000 s of binaural at 16 kHz: ~1 GiB with the pieces
    with pytest.raises(ParameterError, match=r"^sources\[0\] 'a'\.start: a start at 3000 s would need"):
        render(scene, progress=False, memory_limit="100M")
    render(
        scene.model_copy(update={"sources": [scene.sources[0].model_copy(update={"start": 1.0})]}),
        progress=False,
        memory_limit="100M",
    )


def test_a_reverberation_beyond_the_budget_names_the_materials(tmp_path):
    scene = _scene(tmp_path, {**ROOM, "materials": 0.0001})
    with pytest.raises(ParameterError, match=r"^room\.materials: a response of .* s"):
        render(scene, progress=False, memory_limit="1G")


def test_a_room_that_absorbs_nothing_names_its_materials(tmp_path):
    scene = _scene(tmp_path, {**ROOM, "materials": 0.0})
    with pytest.raises(ParameterError, match=r"^room\.materials: nothing absorbs sound in the 125 Hz band"):
        render(scene, progress=False)


def test_the_estimate_bounds_the_measured_peak(tmp_path):
    """In a fresh process, the peak memory of a binaural image-source render stays below the estimate."""
    scene = tmp_path / "s.yaml"
    _scene(tmp_path)  # writes a.wav
    scene.write_text(
        "output: {format: binaural, sample_rate: 16000}\n"
        "room: {shoebox: {size: [8, 6, 3]}, max_order: 20, late_reverb: false}\n"
        "listener: {position: [4, 3, 1.6]}\n"
        "sources: [{audio: a.wav, position: [2, 1.5, 1.5]}]\n"
    )
    probe = (
        "import resource, sys\n"
        "from soundstage.acoustics.render import render\n"
        "import os\n"
        "base = int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024\n"
        "try:\n"
        "    render(sys.argv[1], progress=False, memory_limit=sys.argv[2])\n"
        "    print('ok', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)\n"
        "except Exception as error:\n"
        "    print('refused', error)\n"
    )
    used = subprocess.run([sys.executable, "-c", probe, str(scene), "8G"], capture_output=True, text=True, check=True)
    kind, peak = used.stdout.split()
    assert kind == "ok"
    # Half the measured peak as the budget must be refused: the estimate is at least the peak.
    refused = subprocess.run(
        [sys.executable, "-c", probe, str(scene), str(int(peak) // 2)], capture_output=True, text=True, check=True
    )
    assert refused.stdout.startswith("refused room.max_order"), refused.stdout


def test_the_estimate_bounds_the_measured_peak_of_short_sounds_in_a_long_reverberation(tmp_path):
    """Short sounds one every 4 s in a room of 2 s reverberation, to first-order ambisonics: the blocks are as
    short against the responses as they get (the mix's block spectra twice its samples' bytes) and every response
    is kept until the grid is set. The smallest budget the render is allowed (bisection over the estimate) is
    above the peak of what the render allocates."""
    from soundstage.acoustics import render as render_module

    _scene(tmp_path)  # writes a.wav (0.25 s)
    count = 16
    sources = ", ".join(
        f"{{audio: a.wav, position: [{1 + 0.4 * k}, {1 + 0.25 * k}, 1.5], start: {4 * k}}}" for k in range(count)
    )
    scene = tmp_path / "s.yaml"
    scene.write_text(
        f"output: {{format: foa, sample_rate: {RATE}}}\n"
        "room: {shoebox: {size: [8, 6, 3]}, rt60: 2.0}\n"
        "listener: {position: [4, 3, 1.6]}\n"
        f"sources: [{sources}]\n"
    )
    job = render_module._prepare(scene, None, None, None, None, None)
    paths = job.propagate_all()
    high = smallest_allowed_budget(job, paths, [RATE // 4] * count, [4 * k * RATE for k in range(count)])
    import tracemalloc

    render(_scene(tmp_path, ROOM), progress=False)  # a short render first: imports and set-up are not the mix
    tracemalloc.start()  # numpy reports its arrays to tracemalloc: every byte the render allocates
    try:
        render(scene, progress=False, memory_limit=str(high))  # the render runs within its own estimate
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak > 20 * 2**20  # the timeline's arrays were made: 60 s of 4 channels, their spectra, the responses
    assert high >= peak, f"estimate {high / 2**20:.0f} MiB below the measured peak {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"start": 1e8}, r"sources\[0\]\.start: Input should be less than or equal to 86400"),
        ({"gain_db": 1000}, r"sources\[0\]\.gain_db: Input should be less than or equal to 60"),
        ({"position": {"az": 0, "dist": 1e8}}, r"sources\[0\]\.position\.dist: Input should be less than or equal"),
        ({"position": {"x": float("inf"), "y": 0}}, r"sources\[0\]\.position\.x: must be a finite number"),
        ({"position": [float("nan"), 0, 0]}, r"sources\[0\]\.position\.x: must be a finite number \(got nan\)"),
    ],
)
def test_values_no_scene_can_mean_are_refused_naming_the_field(tmp_path, fields, match):
    with pytest.raises(InputFileError, match=match):
        _scene(tmp_path, **fields)


def test_a_typo_is_an_unknown_field_with_a_suggestion():
    with pytest.raises(InputFileError, match=r"^s\.yaml: sorces: unknown field; did you mean 'sources'\?"):
        scene_from_dict({"sorces": [{"audio": "a.wav", "position": [1, 0, 0]}]}, origin="s.yaml")
    with pytest.raises(InputFileError, match=r"sources\[0\]\.position\.dsit: unknown field; did you mean 'dist'\?"):
        scene_from_dict({"sources": [{"audio": "a.wav", "position": {"az": 0, "dsit": 1}}]}, origin="s.yaml")
    fields = r"the fields here are audio, doppler, downmix"
    with pytest.raises(InputFileError, match=r"sources\[0\]\.zzz: unknown field; " + fields):
        scene_from_dict({"sources": [{"audio": "a.wav", "position": [1, 0, 0], "zzz": 1}]}, origin="s.yaml")


@pytest.mark.parametrize("rate", ["0", "-48000", "7999", "48000.5"])
def test_an_impossible_sample_rate_is_refused_never_a_silent_default(tmp_path, capsys, rate):
    from soundstage.cli.main import main

    scene = tmp_path / "s.yaml"
    _scene(tmp_path)
    scene.write_text("sources: [{audio: a.wav, position: [1, 0, 0]}]\n")
    try:
        code = main(["render", str(scene), "-o", str(tmp_path / "o.wav"), "--sample-rate", rate, "--quiet"])
    except SystemExit as usage_error:  # argparse's own check of an integer option
        code = usage_error.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (1, 2) and len(err) == 1 and "sample" in err[0] and "error:" in err[0]
    assert not (tmp_path / "o.wav").exists()
