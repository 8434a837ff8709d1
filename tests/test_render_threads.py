"""A render's sources side by side on threads: the same samples as one after another, and no more at once than
the memory budget allows."""

from __future__ import annotations

import threading

import numpy as np

from budget_search import allowed_at, smallest_allowed_budget
from soundstage.acoustics import render as render_module
from soundstage.acoustics.render import render
from soundstage.scene import Scene

RATE = 16000


def room_scene() -> Scene:
    rng = np.random.default_rng(0)
    sources = [
        {"audio": (0.1 * rng.standard_normal(RATE)).astype(np.float32), "sample_rate": RATE, "position": position}
        for position in ([2, 1.5, 1.5], [6, 1.5, 1.5], [2, 4.5, 1.2], [6.5, 4.5, 1.7])
    ]
    return Scene.model_validate(
        {
            "sources": sources,
            "room": {"shoebox": {"size": [8, 6, 3]}, "rt60": 0.5},
            "listener": {"position": [4, 3, 1.6]},
            "output": {"format": "binaural", "sample_rate": RATE},
        }
    )


def test_sources_on_threads_render_the_samples_of_one_after_another(monkeypatch):
    monkeypatch.setenv("SOUNDSTAGE_THREADS", "1")
    serial = render(room_scene(), progress=False).audio
    monkeypatch.setenv("SOUNDSTAGE_THREADS", "2")
    threads = set()
    original = render_module._in_threads

    def spy(work, count, at_most):
        def recorded(index):
            threads.add(threading.current_thread().name)
            return work(index)

        return original(recorded, count, at_most)

    monkeypatch.setattr(render_module, "_in_threads", spy)
    monkeypatch.setattr(render_module, "THREADED_SAMPLES", 0)  # these 4 seconds of sources are a short render
    threaded = render(room_scene(), progress=False).audio
    assert threads and all(name.startswith("soundstage-render") for name in threads)
    assert np.array_equal(serial, threaded)


def test_a_short_render_stays_on_one_thread(monkeypatch):
    """Below THREADED_SAMPLES of sources in all, starting threads costs more than a second core saves."""
    monkeypatch.setenv("SOUNDSTAGE_THREADS", "2")
    asked = []
    original = render_module._in_threads

    def spy(work, count, at_most):
        asked.append(at_most)
        return original(work, count, at_most)

    monkeypatch.setattr(render_module, "_in_threads", spy)
    render(room_scene(), progress=False)
    assert asked and set(asked) == {1}


def test_the_memory_budget_limits_the_sources_rendered_at_once(monkeypatch):
    monkeypatch.setenv("SOUNDSTAGE_THREADS", "4")
    job = render_module._prepare(room_scene(), None, None, None, None, None)
    paths = job.propagate_all()
    lengths, starts = [RATE] * 4, [0] * 4
    plenty = job.check_costs(paths, lengths, starts).at_once
    assert plenty >= 4
    # The smallest budget the render is allowed (found by bisection) leaves room for one source at a time.
    high = smallest_allowed_budget(job, paths, lengths, starts)

    def allowed(limit: int) -> int | None:
        costs = allowed_at(job, paths, lengths, starts, limit)
        return None if costs is None else costs.at_once

    assert allowed(high - 1) is None and allowed(high) == 1
    assert allowed(4 * high) >= 2


def test_the_progress_of_a_render_runs_to_its_end_after_the_inverse_transforms(monkeypatch):
    """Three steps a source (its response, its place in the mix, its share of the transforms back), the last
    one reported only once the mix is whole."""
    from soundstage.acoustics import convolution
    from soundstage.progress import reporting_to

    monkeypatch.setattr(convolution, "INVERSE_CHUNK_SAMPLES", 1)  # a block a step: more steps than sources
    finished = []
    original = convolution.SpectralMix.inverse_steps

    def watched(self):
        yield from original(self)
        finished.append(True)

    monkeypatch.setattr(convolution.SpectralMix, "inverse_steps", watched)
    seen = []

    def listener(what: str, done: int, total: int | None) -> None:
        seen.append((done, total, bool(finished)))

    with reporting_to(listener):
        render(room_scene(), progress=False)
    steps = 3 * len(room_scene().sources)
    assert [done for done, _, _ in seen] == list(range(steps + 1)) and {total for _, total, _ in seen} == {steps}
    assert not seen[-2][2] and seen[-1][2]  # the last step comes with the mix transformed back
