"""The README's commands are the CLI's: every one parses, and the --ir-only pair runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundstage.cli.main import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_commands() -> list[list[str]]:
    """Every ``soundstage ...`` line inside the README's shell code blocks, comments dropped."""
    commands, language = [], None
    for raw in README.read_text(encoding="utf-8").splitlines():
        if raw.startswith("```"):
            language = None if language is not None else raw[3:].strip()
            continue
        if language not in ("bash", "sh", "console"):
            continue
        line = re.split(r"\s#\s", raw, maxsplit=1)[0].strip()
        match = re.search(r"(?:^|&& )soundstage (.*)$", line)
        if match:
            commands.append(shlex.split(match.group(1).split(" && ")[0]))
    return commands


def test_the_readme_shows_commands():
    assert len(_readme_commands()) >= 15


@pytest.mark.parametrize("argv", _readme_commands(), ids=lambda argv: " ".join(argv)[:60])
def test_every_readme_command_parses(argv):
    args = build_parser().parse_args(argv)
    assert hasattr(args, "handler")


def test_ir_only_then_analyze_as_the_readme_writes_them(tmp_path, monkeypatch):
    render_argv = next(argv for argv in _readme_commands() if "--ir-only" in argv)
    analyze_argv = next(argv for argv in _readme_commands() if argv[:1] == ["analyze"] and "--ir" in argv)
    monkeypatch.chdir(tmp_path)
    soundfile.write("a.wav", np.random.default_rng(0).standard_normal(4000) * 0.05, 16000)
    Path(render_argv[1]).write_text(
        "output: {format: omni, sample_rate: 16000}\nroom: {shoebox: {size: [8, 6, 3]}, rt60: 0.4}\n"
        "listener: {position: [4, 3, 1.6]}\nsources:\n  - {name: a, audio: a.wav, position: [2, 1.5, 1.5]}\n"
    )
    assert main([*render_argv, "--quiet"]) == 0
    assert main(analyze_argv) == 0
    assert Path(analyze_argv[analyze_argv.index("--plot") + 1]).is_file()
