"""The terminal bar: shown only for work that lasts, every item passed through in order, callbacks told."""

from __future__ import annotations

import subprocess
import sys

from soundstage import progress
from soundstage.progress import progress_bar, reporting_to


def test_bar_passes_every_item_in_order_and_appears_after_the_delay(monkeypatch, capsys):
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    items = list(progress_bar(iter(range(5)), enabled=True, description="render", unit="source", total=5))
    assert items == [0, 1, 2, 3, 4]
    assert "render" in capsys.readouterr().err  # tqdm writes its bar to stderr


def test_quick_loop_shows_no_bar_and_does_not_import_tqdm():
    code = (
        "import sys\n"
        "from soundstage.progress import progress_bar\n"
        "assert list(progress_bar(range(3), enabled=True, description='d', unit='u')) == [0, 1, 2]\n"
        "print('tqdm' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
    assert run.stderr == ""


def test_a_loop_left_early_closes_the_bar(monkeypatch, capsys):
    import tqdm

    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    bar = progress_bar(range(10), enabled=True, description="frames", unit="frame")
    for item in bar:
        if item == 3:
            shown = list(tqdm.tqdm._instances)
            break
    assert shown and not any(b.disable for b in shown)  # a bar was on the terminal while the loop ran
    bar.close()  # what leaving the loop does once nothing holds the generator
    assert all(b.disable for b in shown)  # ...and it closed the bar, not left it on the terminal
    assert "frames" in capsys.readouterr().err


def test_callback_sees_every_step_with_the_bar_on(monkeypatch):
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    seen = []
    with reporting_to(lambda what, done, total: seen.append((done, total))):
        list(progress_bar(range(3), enabled=True, description="render", unit="source"))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
