"""The source bank (all sources of a stream rendered together) and its head table, against exact references.

The head table against the rigid sphere it tabulates (levels per band, Woodworth-like ITDs), its lattice
weights, the many-line delay buffer against the one-line reader, the matrix convolver against direct
convolution; then whole scenes: a still source as the offline render hears it (levels per band, ITD, timing),
the Doppler shift f·c/(c − v_r), a moving source as the exact block engine hears it without clicks, a shoebox
heard by its first-order reflections and a shared tail whose decay is Eyring's, and the ambisonic route to
binaural against the offline ambisonic render decoded.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import hilbert

from soundstage.acoustics.hrtf import load_hrtf
from soundstage.acoustics.hrtf.head_table import HeadTable
from soundstage.acoustics.moving.bank import SourceBank
from soundstage.acoustics.moving.delay_line import DelayLine, DelayLines
from soundstage.acoustics.moving.engine import BlockEngine
from soundstage.acoustics.moving.partitioned import MatrixConvolver
from soundstage.acoustics.moving.scene_render import _block_of, engine_for_scene
from soundstage.acoustics.render import prepare_render, render
from soundstage.scene import Scene
from soundstage.stream.streamer import Streamer

RATE = 48000
C = 343.0


def scene(source: dict, fmt: str = "binaural", **extra) -> Scene:
    return Scene.model_validate({"sources": [source], "output": {"format": fmt, "sample_rate": RATE}, **extra})


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


def run_engine(scene: Scene, *, bank: bool, block: int = 512) -> np.ndarray:
    """The scene's sources (played once) through the source bank or the block engine, latency removed (C, n)."""
    job = prepare_render(scene)
    engine = engine_for_scene(job.scene, job.encoder, job.model, block=block, bank=bank)
    assert isinstance(engine, SourceBank if bank else BlockEngine)
    signals = [np.asarray(source.audio, dtype=float) for source in job.scene.sources]
    length = max(len(s) for s in signals) + RATE // 2
    blocks = -(-(length + engine.latency_samples) // block)
    out = np.concatenate(
        [engine.process(np.array([_block_of(s, 0, b * block, block) for s in signals])) for b in range(blocks)], axis=1
    )
    return out[:, engine.latency_samples : engine.latency_samples + length]


def band_levels_db(x: np.ndarray, lo: float = 200.0, hi: float = 16000.0) -> np.ndarray:
    """Energy in third-octave bands from ``lo`` to ``hi`` Hz of each row, dB."""
    spectrum = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[-1], 1 / RATE)
    centres = lo * 2.0 ** (np.arange(int(np.log2(hi / lo) * 3) + 1) / 3)
    edges = np.stack([centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)], axis=1)
    return np.stack([10 * np.log10(spectrum[:, (freqs >= a) & (freqs < b)].sum(axis=1)) for a, b in edges], axis=1)


def itd_s(left: np.ndarray, right: np.ndarray) -> float:
    """Delay of the right ear behind the left (s), from the cross-correlation of the ears below 1.5 kHz."""
    n = len(left)
    spectra = np.fft.rfft(np.stack([left, right]), 8 * n)
    spectra[:, np.fft.rfftfreq(8 * n, 1 / RATE) > 1500.0] = 0.0
    xc = np.fft.irfft(spectra[1] * np.conj(spectra[0]), 8 * n)  # upsampled by 8 for sub-sample lags
    lag = int(np.argmax(np.abs(xc)))
    return (lag if lag < 4 * n else lag - 8 * n) / (8 * RATE)


# -- the head table ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sphere():
    head = load_hrtf("sphere", RATE)
    return head, HeadTable(head)


def test_the_head_table_keeps_the_sphere_s_levels_and_interaural_delays(sphere):
    head, table = sphere
    rng = np.random.default_rng(3)
    directions = rng.standard_normal((24, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    n_fft, lead = 2048, 64
    tabulated = np.fft.irfft(table.kernel_spectra(directions, n_fft, lead), n_fft)
    exact = np.zeros((24, 2, n_fft))
    exact[..., : head.n_taps] = head.hrirs(directions, np.full(24, 2.0))
    ears = np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    for k in range(24):
        # Per third-octave band, each ear within 1 dB of the sphere's own response (the series, not the table),
        # 2 dB within 30° of the point opposite the ear (the bright spot, narrower than the lattice).
        difference = np.abs(band_levels_db(tabulated[k]) - band_levels_db(exact[k]))
        behind = np.degrees(np.arccos(np.clip(ears @ directions[k], -1, 1))) > 150.0
        assert np.all(difference.max(axis=1) < np.where(behind, 2.0, 1.0))
        assert itd_s(*tabulated[k]) == pytest.approx(itd_s(*exact[k]), abs=10e-6)
    # A source on the left reaches the left ear first by about Woodworth's (a/c)(θ + sin θ) at 90°.
    left = table.ear_delays(np.array([[0.0, 1.0, 0.0]]))[0]
    woodworth = 0.0875 / C * (np.pi / 2 + 1.0)
    assert (left[1] - left[0]) / RATE == pytest.approx(woodworth, rel=0.15)


def test_lattice_weights_are_barycentric_and_exact_at_the_vertices(sphere):
    _, table = sphere
    corners, weights = table.corners(table.directions[:50])
    assert np.all(weights >= 0) and np.allclose(weights.sum(axis=1), 1.0)
    own = np.array([weights[k, list(corners[k]).index(k)] if k in corners[k] else 0.0 for k in range(50)])
    assert np.allclose(own, 1.0, atol=1e-9)
    # Any direction is rebuilt by its corners: the weighted corners point along it.
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((200, 3))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    corners, weights = table.corners(queries)
    rebuilt = np.einsum("kj,kjd->kd", weights, table.directions[corners])
    rebuilt /= np.linalg.norm(rebuilt, axis=1, keepdims=True)
    assert np.min(np.einsum("kd,kd->k", rebuilt, queries)) > np.cos(np.radians(0.2))


# -- buffers and convolvers --------------------------------------------------------------------------


def test_many_delay_lines_read_what_one_line_reads_across_the_wrap():
    rng = np.random.default_rng(1)
    signals = rng.standard_normal((3, 5120)).astype(np.float32)
    lines, single = DelayLines(3, 700, spill=128 + 32), [DelayLine(700) for _ in range(3)]
    for start in range(0, 5120, 128):
        block = signals[:, start : start + 128]
        lines.write(block)
        for line, row in zip(single, block, strict=True):
            line.write(row)
        if start < 1000:
            continue
        newest = start + 128
        rows = np.array([0, 2, 1])
        starts = newest - np.array([128, 500, 650])
        expected = signals[rows[:, None], starts[:, None] + np.arange(128)]
        assert np.array_equal(lines.read_blocks(rows, starts, 128), expected)
        positions = newest - 40.0 - rng.uniform(0, 600, (3, 128))
        expected = np.stack([single[r].read(p) for r, p in zip(rows, positions, strict=True)])
        assert np.allclose(lines.read(rows, positions), expected, atol=1e-5)
    with pytest.raises(ValueError, match="outside"):
        lines.read_blocks(np.array([0]), np.array([5120 - 800]), 128)


def test_the_matrix_convolver_is_the_sum_of_convolutions():
    rng = np.random.default_rng(2)
    filters = rng.standard_normal((2, 4, 700))
    x = rng.standard_normal((4, 256 * 12))
    convolver = MatrixConvolver(filters, 256)
    y = np.concatenate([convolver.process(x[:, i : i + 256]) for i in range(0, x.shape[1], 256)], axis=1)
    expected = np.stack([sum(np.convolve(x[i], filters[o, i])[: x.shape[1]] for i in range(4)) for o in range(2)])
    assert np.allclose(y, expected, atol=1e-9)


# -- scenes --------------------------------------------------------------------------------------------


def test_a_still_source_in_the_bank_sounds_as_the_offline_render():
    source = {"audio": noise(1.0), "sample_rate": RATE, "position": {"az": 35, "el": 10, "dist": 3}}
    still = scene(source, listener={"position": [0, 0, 1.6]})
    offline = render(still, progress=False).audio.astype(float)
    banked = run_engine(still, bank=True)
    n = RATE
    assert np.max(np.abs(band_levels_db(banked[:, :n]) - band_levels_db(offline[:, :n]))) < 1.0
    assert itd_s(*banked[:, :n]) == pytest.approx(itd_s(*offline[:, :n]), abs=10e-6)
    # The delay is held at a whole sample: the render is in time to half a sample.
    xc = np.fft.irfft(np.fft.rfft(banked[0, :n], 2 * n) * np.conj(np.fft.rfft(offline[0, :n], 2 * n)))
    assert min(int(np.argmax(xc)), 2 * n - int(np.argmax(xc))) <= 1


@pytest.mark.parametrize("fmt", ["foa", "hoa3", "stereo"])
def test_a_still_source_in_the_bank_pans_as_the_offline_render(fmt):
    source = {"audio": noise(1.0), "sample_rate": RATE, "position": {"az": 35, "el": 10, "dist": 3}}
    still = scene(source, fmt)
    offline = render(still, progress=False).audio.astype(float)[:, :RATE]
    banked = run_engine(still, bank=True)[:, :RATE]
    loud = np.sum(offline**2, axis=1) > 1e-6 * np.sum(offline**2)
    # Each channel's level per third octave to 16 kHz (above it the offline render's fractional-delay
    # interpolator rolls off; the bank holds the delay at a whole sample and reads it exactly).
    assert np.max(np.abs(band_levels_db(banked[loud]) - band_levels_db(offline[loud]))) < 0.05


def test_doppler_in_the_bank_follows_the_analytic_shift():
    f, speed, duration = 1000.0, 20.0, 4.0
    t = np.arange(int(RATE * (duration + 0.3))) / RATE
    start, end = np.array([3.0, 40.0, 0.0]), np.array([3.0, 40.0 - speed * duration, 0.0])
    source = {
        "audio": (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32),
        "sample_rate": RATE,
        "doppler": True,
        "trajectory": {"keyframes": [{"t": 0, "position": start.tolist()}, {"t": duration, "position": end.tolist()}]},
    }
    y = run_engine(scene(source, "omni"), bank=True)[0]
    phase = np.unwrap(np.angle(hilbert(y)))
    window = int(0.005 * RATE)
    measured = np.convolve(np.diff(phase) * RATE / (2 * np.pi), np.ones(window) / window, mode="same")
    reception = (np.arange(len(measured)) + 0.5) / RATE
    emitted = reception.copy()
    for _ in range(60):
        where = start + (end - start) * (np.clip(emitted, 0, duration) / duration)[:, None]
        emitted = reception - np.linalg.norm(where, axis=1) / C
    position = start + (end - start) * (emitted / duration)[:, None]
    towards = -(position @ ((end - start) / duration)) / np.linalg.norm(position, axis=1)
    inside = (emitted > 0.2) & (emitted < duration - 0.2)
    expected = f * C / (C - towards[inside])
    assert expected.max() / expected.min() > 1.1
    assert np.max(np.abs(measured[inside] - expected) / expected) < 0.005


def test_a_source_circling_in_the_bank_follows_the_exact_engine_without_clicks():
    f, duration = 1000.0, 2.0
    t = np.arange(int(RATE * duration)) / RATE
    keyframes = [{"t": k * duration / 8, "position": {"az": 45 * k, "dist": 2}} for k in range(9)]
    source = {
        "audio": (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32),
        "sample_rate": RATE,
        "trajectory": {"keyframes": keyframes, "interpolate": "spline"},
    }
    circling = scene(source)
    banked = run_engine(circling, bank=True)[:, int(0.1 * RATE) : int(1.9 * RATE)]
    exact = run_engine(circling, bank=False)[:, int(0.1 * RATE) : int(1.9 * RATE)]
    # Level of each ear in every 20 ms within 0.5 dB of the exact engine's.
    frames = banked.shape[1] // 960
    level = [10 * np.log10(np.sum(y[:, : frames * 960].reshape(2, frames, 960) ** 2, axis=2)) for y in (banked, exact)]
    assert np.max(np.abs(level[0] - level[1])) < 0.5
    # A sine of amplitude a never steps more than 2 a sin(π f / fs) between samples; margin 2 %.
    step = np.abs(np.diff(banked, axis=1)).max(axis=1)
    assert np.all(step <= 1.02 * 2 * np.sin(np.pi * f / RATE) * np.abs(banked).max(axis=1))


def test_a_shoebox_in_the_bank_has_the_first_order_reflections_and_eyring_s_decay():
    room = {"shoebox": {"size": [8, 6, 3]}, "rt60": 0.5}
    click = np.zeros(RATE, dtype=np.float32)
    click[0] = 1.0
    source = {"audio": click, "sample_rate": RATE, "position": [5.5, 3.5, 1.6]}
    boxed = scene(source, room=room, listener={"position": [4, 3, 1.6]})
    offline = render(boxed, progress=False).audio.astype(float)
    banked = run_engine(boxed, bank=True)
    omni = [np.sum(y**2, axis=0) for y in (banked, offline)]
    # The direct sound and each first-order reflection that no second-order one overlaps: the energy in 1 ms
    # around it as the offline render's (which places every image up to its mixing time).
    size, listener = np.array([8.0, 6.0, 3.0]), np.array([4.0, 3.0, 1.6])

    def mirrored(point, skip=None):
        """The point mirrored in each wall but ``skip`` (mirroring back across the same wall is the source)."""
        out = []
        for axis in range(3):
            for wall in (0.0, size[axis]):
                if (axis, wall) != skip:
                    image = point.copy()
                    image[axis] = 2 * wall - image[axis]
                    out.append((image, (axis, wall)))
        return out

    source = np.array([5.5, 3.5, 1.6])
    first = [source] + [image for image, _ in mirrored(source)]
    second = np.array([image for once, wall in mirrored(source) for image, _ in mirrored(once, skip=wall)])
    second_arrivals = np.linalg.norm(second - listener, axis=1) / C * RATE
    isolated = 0
    for image in first:
        arrival = round(np.linalg.norm(image - listener) / C * RATE)
        if np.min(np.abs(second_arrivals - arrival)) < 48:
            continue
        isolated += 1
        window = slice(arrival - 24, arrival + 24)
        assert 10 * np.log10(omni[0][window].sum() / omni[1][window].sum()) == pytest.approx(0.0, abs=0.5)
    assert isolated >= 4  # the direct sound and at least three reflections
    # The decay (T20 from the backward-integrated energy, 0.25–1 s) is Eyring's, and the total energy is the room's.
    for energy in omni:
        decay = 10 * np.log10(np.maximum(np.cumsum(energy[::-1])[::-1], 1e-300) / energy.sum())
        times = np.arange(len(decay)) / RATE
        fit = (decay < -5) & (decay > -25)
        t20 = -60.0 / np.polyfit(times[fit], decay[fit], 1)[0]
        assert t20 == pytest.approx(0.5, rel=0.15)
    assert 10 * np.log10(omni[0].sum() / omni[1].sum()) == pytest.approx(0.0, abs=1.5)


def test_binaural_via_third_order_ambisonics_is_the_offline_ambisonic_render_decoded():
    from soundstage.acoustics.render import decode_to_binaural

    source = {"audio": noise(2.0), "sample_rate": RATE, "position": {"az": 60, "el": 0, "dist": 2}}
    streamer = Streamer(scene(source), block=512, via="hoa3")
    assert streamer.format == "binaural via hoa3"
    streamed = np.concatenate([streamer.next_block() for _ in range(94)], axis=0).T[:, streamer.latency_samples :]
    hoa = render(scene(source, "hoa3"), progress=False)
    decoded = decode_to_binaural(hoa).audio.astype(float)
    lag = round(load_hrtf("sphere", RATE).latency_s * RATE)
    n = RATE
    assert np.max(np.abs(band_levels_db(streamed[:, :n]) - band_levels_db(decoded[:, lag : lag + n]))) < 1.0
    assert 10 * np.log10(np.sum(streamed[0, :n] ** 2) / np.sum(streamed[1, :n] ** 2)) > 3.0  # left louder


def test_the_stream_chooses_the_bank_where_it_can_and_the_block_engine_elsewhere():
    source = {"audio": noise(0.5), "sample_rate": RATE, "position": {"az": 35, "dist": 3}}
    assert isinstance(Streamer(scene(source)).engine, SourceBank)
    assert isinstance(Streamer(scene(source), exact=True).engine, BlockEngine)
    assert isinstance(Streamer(scene(source, "ortf")).engine, BlockEngine)  # spaced microphones
    grounded = scene(source, room={"ground": "grass"}, listener={"position": [0, 0, 1.6]})
    assert isinstance(Streamer(grounded).engine, BlockEngine)
    assert isinstance(Streamer(scene(source, propagation={"air_absorption": True})).engine, BlockEngine)
    boxed = {**source, "position": [3, 2, 1.5]}
    room = {"room": {"shoebox": {"size": [6, 4, 3]}, "rt60": 0.3}, "listener": {"position": [1.5, 1.5, 1.5]}}
    assert isinstance(Streamer(scene(boxed, **room)).engine, SourceBank)
    assert isinstance(Streamer(scene(boxed, "foa", **room)).engine, BlockEngine)  # reflections are filters


def frame_levels_db(y: np.ndarray, frame: int = 960) -> np.ndarray:
    frames = y.shape[1] // frame
    return 10 * np.log10(np.sum(y[:, : frames * frame].reshape(y.shape[0], frames, frame) ** 2, axis=2) + 1e-20)


def lag_samples(a: np.ndarray, b: np.ndarray) -> float:
    """Lag of ``a`` behind ``b`` in samples (cross-correlation, upsampled by 8)."""
    n = len(a)
    xc = np.fft.irfft(np.fft.rfft(a, 2 * n) * np.conj(np.fft.rfft(b, 2 * n)), 16 * n)
    lag = int(np.argmax(xc))
    return (lag if lag < 8 * n else lag - 16 * n) / 8


def tone(seconds: float, f: float = 1000.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * f * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def test_a_fast_pass_with_doppler_in_the_bank_has_the_exact_engine_s_pitch_within_a_block():
    # 30 m/s, 1 m from the head: the pitch sweeps fastest at the closest approach, within a block.
    keyframes = [{"t": 0.0, "position": [1.0, 15.0, 0.0]}, {"t": 1.0, "position": [1.0, -15.0, 0.0]}]
    source = {"audio": tone(1.3), "sample_rate": RATE, "doppler": True, "trajectory": {"keyframes": keyframes}}
    passing = scene(source, "omni")
    banked, exact = (run_engine(passing, bank=bank)[0, int(0.1 * RATE) : int(1.0 * RATE)] for bank in (True, False))
    window = int(0.001 * RATE)
    smooth = np.ones(window) / window
    pitch = [np.convolve(np.diff(np.unwrap(np.angle(hilbert(y)))), smooth, mode="valid") for y in (banked, exact)]
    pitch = [p * RATE / (2 * np.pi) for p in pitch]
    assert np.ptp(pitch[1]) > 150.0  # the pass sweeps more than 150 Hz
    assert np.max(np.abs(pitch[0] - pitch[1]) / pitch[1]) < 0.001


def test_a_moving_listener_and_a_turning_head_in_the_bank_are_heard_as_the_exact_engine_hears_them():
    source = {"audio": noise(1.2), "sample_rate": RATE, "position": [2.0, 1.0, 0.0]}
    walk = {"keyframes": [{"t": 0.0, "position": [0, 0, 0]}, {"t": 1.0, "position": [3.0, 0.0, 0.0]}]}
    turn = {"keyframes": [{"t": 0.0, "yaw": 0}, {"t": 1.0, "yaw": 120}]}
    moving = scene(source, listener={"trajectory": walk, "orientation_track": turn})
    banked, exact = (run_engine(moving, bank=bank)[:, : int(1.1 * RATE)] for bank in (True, False))
    assert np.max(np.abs(frame_levels_db(banked) - frame_levels_db(exact))) < 1.0
    # The ILD per 20 ms follows the exact render's as the listener walks past and turns (it swings by 5 dB).
    ild = [np.diff(frame_levels_db(y), axis=0)[0] for y in (banked, exact)]
    assert np.ptp(ild[1]) > 5.0 and np.max(np.abs(ild[0] - ild[1])) < 1.0
    for part in (slice(0, RATE // 4), slice(RATE // 2, 3 * RATE // 4)):
        assert abs(lag_samples(banked[0, part], exact[0, part])) <= 1.0


def test_a_held_delay_is_reset_without_a_click_and_without_moving_the_pitch():
    # Away by 6 m in 1 s without Doppler: the held delay is reset about every 3.4 m (10 ms), with a crossfade.
    f = 500.0
    keyframes = [{"t": 0.0, "position": [2.0, 0.0, 0.0]}, {"t": 1.0, "position": [8.0, 0.0, 0.0]}]
    source = {"audio": tone(1.3, f), "sample_rate": RATE, "trajectory": {"keyframes": keyframes}}
    y = run_engine(scene(source), bank=True)[:, int(0.05 * RATE) : int(1.0 * RATE)]
    # A click spreads over the spectrum; a crossfade between two reads of the tone does not: above 2 kHz
    # nothing louder than 60 dB below the tone.
    spectrum = np.fft.rfft(y[0])
    spectrum[np.fft.rfftfreq(y.shape[1], 1 / RATE) < 2000.0] = 0.0
    above = np.fft.irfft(spectrum, y.shape[1])[2000:-2000]
    assert 20 * np.log10(np.abs(above).max() / np.abs(y[0]).max()) < -60.0
    pitch = np.diff(np.unwrap(np.angle(hilbert(y[0])))) * RATE / (2 * np.pi)
    assert abs(np.median(pitch) - f) < 0.05


def test_a_source_moving_in_a_shoebox_in_the_bank_keeps_the_exact_engine_s_level():
    keyframes = [{"t": 0.0, "position": [6.0, 1.5, 1.6]}, {"t": 1.0, "position": [6.0, 4.5, 1.6]}]
    source = {"audio": noise(1.2), "sample_rate": RATE, "trajectory": {"keyframes": keyframes}}
    boxed = scene(source, room={"shoebox": {"size": [8, 6, 3]}, "rt60": 0.4}, listener={"position": [3, 3, 1.6]})
    banked, exact = (run_engine(boxed, bank=bank)[:, : int(1.1 * RATE)] for bank in (True, False))
    # Per 20 ms and ear within 1.5 dB: the bank's tail stands in for the offline render's higher orders.
    assert np.max(np.abs(frame_levels_db(banked) - frame_levels_db(exact))) < 1.5


def test_rooms_with_an_order_or_mixing_time_of_their_own_and_nearest_heads_take_the_block_engine(tmp_path):
    source = {"audio": noise(0.3), "sample_rate": RATE, "position": [3, 2, 1.5]}
    head = {"listener": {"position": [1.5, 1.5, 1.5]}}
    for room in ({"max_order": 3}, {"mixing_time": 0.05}, {"late_reverb": False}):
        spec = {"shoebox": {"size": [6, 4, 3]}, "rt60": 0.3, **room}
        assert isinstance(Streamer(scene(source, room=spec, **head)).engine, BlockEngine), room
    from soundstage.acoustics.hrtf import write_sofa

    sofa = tmp_path / "grid.sofa"
    directions = [(az, el) for el in (-30, 0, 30, 60) for az in range(0, 360, 30)]
    hrirs = np.zeros((len(directions), 2, 64))
    hrirs[:, :, 8] = 1.0
    positions = np.array([[az, el, 1.5] for az, el in directions], dtype=float)
    write_sofa(sofa, hrirs, positions, RATE)
    nearest = scene(source, hrtf={"name": str(sofa), "interpolation": "nearest"}, **head)
    assert isinstance(Streamer(nearest).engine, BlockEngine)
