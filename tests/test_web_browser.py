"""The web page of ``soundstage serve`` in a real browser, against a real server process.

A photo and two sounds with very different spectra (A below 700 Hz, B above 3 kHz) go through the
page: photo analysis, a binaural render, a drag of A to its mirror image in the top view, a second
render, and 5.1 and FOA downloads. Each source is followed in the binaural files by the level
difference between the ears in its own band, so the test checks what is heard, not only the DOM.

The synthetic photo's objects are all within about 17° of straight ahead, where a sphere head's
level difference below 700 Hz is under 1 dB. So A is first dragged out to 60° on its own side
(about 2 dB there), and its side is also read from the time difference between the ears, the
cue that dominates at low frequencies.

Needs Playwright (Python) and Debian's chromium at /usr/bin/chromium; skipped without them.
Screenshots of every step go to $SOUNDSTAGE_SCREENSHOTS (default test-screenshots/browser/).
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright import sync_api

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("the browser test needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)

from soundstage.conventions import channel_mask  # noqa: E402
from soundstage.io.wav import read_wav_header  # noqa: E402
from synthetic_scene import save_scene_files  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RATE = 48000
LOW_BAND = (100.0, 700.0)  # sound A
HIGH_BAND = (3000.0, 12000.0)  # sound B
#: Level difference between the ears, in dB, that puts B (> 3 kHz) on a side, and by which A's must change
#: when A moves to its mirror image.
MARGIN_DB = 2.0
#: Level difference that puts A (< 700 Hz) on a side: a sphere head gives about 2 dB there at 60°.
A_SIDE_DB = 1.0
#: Longest wait for a job (photo analysis, render) on a slow 2-core machine, in ms.
JOB_MS = 90_000


def band_noise(band: tuple[float, float], seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """White noise with every FFT bin outside `band` removed: energy in the band only."""
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / RATE)
    spectrum[(freqs < band[0]) | (freqs > band[1])] = 0.0
    signal = np.fft.irfft(spectrum, n)
    return 0.5 * signal / np.max(np.abs(signal))


def ild_db(path: Path, band: tuple[float, float]) -> float:
    """Left minus right level in `band`, in dB (positive: louder on the left)."""
    audio, rate = sf.read(path, always_2d=True)
    assert audio.shape[1] == 2, f"a binaural file has 2 channels, got {audio.shape[1]}"
    spectra = np.abs(np.fft.rfft(audio, axis=0)) ** 2
    freqs = np.fft.rfftfreq(audio.shape[0], 1.0 / rate)
    inside = (freqs >= band[0]) & (freqs <= band[1])
    left, right = spectra[inside].sum(axis=0)
    return float(10.0 * np.log10(left / right))


def itd_ms(path: Path, band: tuple[float, float]) -> float:
    """Interaural time difference in `band`, in ms, from the cross-correlation (positive: left ear first)."""
    audio, rate = sf.read(path, always_2d=True)
    n = audio.shape[0]
    spectra = np.fft.rfft(audio, 2 * n, axis=0)
    freqs = np.fft.rfftfreq(2 * n, 1.0 / rate)
    spectra[(freqs < band[0]) | (freqs > band[1])] = 0.0
    correlation = np.fft.irfft(spectra[:, 0] * np.conj(spectra[:, 1]), 2 * n)  # peak at the left's delay
    most = int(0.001 * rate)
    lags = np.r_[np.arange(0, most + 1), np.arange(-most, 0)]
    values = np.r_[correlation[: most + 1], correlation[-most:]]
    return -1000.0 * lags[np.argmax(values)] / rate


def azimuth(scene: dict, index: int) -> float:
    """Azimuth in degrees of source `index` seen from the listener (positions as the page keeps them)."""
    position = scene["sources"][index]["position"]
    if "az" in position:
        return float(position["az"])
    listener = scene["listener"]["position"]
    return math.degrees(math.atan2(position["y"] - listener["y"], position["x"] - listener["x"]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `soundstage serve` process on a free port; its base URL."""
    port = free_port()
    folder = tmp_path_factory.mktemp("serve")
    log_path = folder / "server.log"
    command = [sys.executable, "-m", "soundstage", "serve", "--port", str(port), "--workers", "2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SOUNDSTAGE_OFFLINE": "1"}
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [*command, "--data-dir", str(folder / "data")], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while not answers(f"{base}/api/info"):
                if process.poll() is not None:
                    pytest.fail(f"soundstage serve exited with {process.returncode}: {log_path.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"soundstage serve did not answer in 60 s: {log_path.read_text()}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def test_photo_render_drag_and_downloads(server, browser, tmp_path):
    shots = Path(os.environ.get("SOUNDSTAGE_SCREENSHOTS", REPO / "test-screenshots" / "browser"))
    shots.mkdir(parents=True, exist_ok=True)
    save_scene_files(tmp_path, 480, 360)
    sf.write(tmp_path / "a_low.wav", band_noise(LOW_BAND, seed=1), RATE)
    sf.write(tmp_path / "b_high.wav", band_noise(HIGH_BAND, seed=2), RATE)

    page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def shot(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")  # the header is sticky: keep it at the top of the picture
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    def no_error() -> None:
        assert not errors, f"JavaScript errors: {errors}"
        box = page.get_by_test_id("error")
        assert box.is_hidden(), f"the page shows an error: {box.text_content()}"

    def download(link) -> Path:
        with page.expect_download() as info:
            link.click()
        path = tmp_path / f"{time.monotonic_ns()}-{info.value.suggested_filename}"
        info.value.save_as(path)
        return path

    def centre(selector: str) -> tuple[float, float]:
        box = page.locator(selector).first.bounding_box()
        return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def drag(index: int, target: tuple[float, float]) -> None:
        """Drag source `index`'s circle in the top view to a point of the viewport, in small steps like a hand."""
        sx, sy = centre(f'[data-testid="source-{index}"]')
        page.mouse.move(sx, sy)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(sx + (target[0] - sx) * step / 10, sy + (target[1] - sy) * step / 10)
        page.mouse.up()

    def listener_on_screen() -> tuple[float, float]:
        """The listener's centre in the viewport, the top view scrolled into it (mouse positions are the viewport's)."""
        page.get_by_test_id("topview").scroll_into_view_if_needed()
        return centre('[data-testid="listener"] circle')  # its group also holds the nose

    def render_and_download() -> Path:
        before = page.evaluate("window.soundstage.lastRender()?.job_id ?? null")
        page.get_by_test_id("render").click()
        page.wait_for_function(
            "before => window.soundstage.playing() === 'server' && window.soundstage.lastRender().job_id !== before",
            arg=before,
            timeout=JOB_MS,
        )
        status = page.get_by_test_id("status").text_content()
        assert status.startswith("Playing: server render (binaural, head sphere)"), status
        job = page.evaluate("window.soundstage.lastRender().job_id")
        return download(page.locator(f'[data-testid="download-render"][data-job="{job}"]'))

    # 1. Upload the photo and both sounds, run the photo analysis.
    page.goto(server)
    page.wait_for_selector('[data-testid="format-select"] option[value="5.1"]', state="attached")
    page.get_by_test_id("photo-input").set_input_files(tmp_path / "scene.png")
    page.get_by_test_id("sound-input").set_input_files([tmp_path / "a_low.wav", tmp_path / "b_high.wav"])
    page.wait_for_selector('[data-testid="sound-label-1"]')
    page.get_by_test_id("sound-label-0").fill("hum")  # sources are named after their sound's label
    page.get_by_test_id("sound-label-1").fill("hiss")
    page.wait_for_selector('[data-testid="picture-image"]')
    no_error()
    shot("1-uploaded")

    page.get_by_test_id("analyze-photo").click()
    page.wait_for_selector('[data-testid="region-1"]', timeout=JOB_MS)
    assert page.locator('[data-testid^="region-"]').count() == 2
    assert page.locator("#topview circle[data-testid^='source-']").count() == 2
    scene = page.evaluate("window.soundstage.scene()")
    names = [source.get("name") for source in scene["sources"]]
    assert sorted(names) == ["hiss", "hum"], names
    a, b = names.index("hum"), names.index("hiss")
    assert sorted(page.locator('[data-testid="picture"] .region-label').all_text_contents()) == ["hiss", "hum"]
    no_error()
    shot("2-analysed")

    # Sources placed from the photo are all near straight ahead: take A out to 60° on its own side.
    # Screen up is forward and screen left is left.
    lx, ly = listener_on_screen()
    side = 1.0 if azimuth(scene, a) > 0 else -1.0
    sx, sy = centre(f'[data-testid="source-{a}"]')
    radius = min(math.hypot(sx - lx, sy - ly), 200.0)
    drag(a, (lx - side * radius * math.sin(math.radians(60)), ly - radius * math.cos(math.radians(60))))
    az_before = azimuth(page.evaluate("window.soundstage.scene()"), a)
    assert abs(az_before - side * 60) < 3, f"A dragged to {side * 60:.0f}° is at {az_before:.1f}°"

    # 2. Render, download, find each source's side by the level difference in its band.
    first = render_and_download()
    a_before, b_before = ild_db(first, LOW_BAND), ild_db(first, HIGH_BAND)
    az_b = azimuth(scene, b)
    assert np.sign(a_before) == side and abs(a_before) > A_SIDE_DB, f"A at {az_before:.0f}°: {a_before:.1f} dB"
    assert np.sign(b_before) == np.sign(az_b) and abs(b_before) > MARGIN_DB, f"B at {az_b:.0f}°: {b_before:.1f} dB"
    assert np.sign(itd_ms(first, LOW_BAND)) == side, f"A at {az_before:.0f}° reaches the other ear first"
    no_error()
    shot("3-rendered")

    # 3. Drag A to its mirror image across the listener's forward line.
    lx, _ = listener_on_screen()
    sx, sy = centre(f'[data-testid="source-{a}"]')
    drag(a, (2 * lx - sx, sy))
    az_after = azimuth(page.evaluate("window.soundstage.scene()"), a)
    assert abs(az_after + az_before) < 3, f"A's azimuth {az_after:.1f}° is not the mirror of {az_before:.1f}°"
    no_error()
    shot("4-dragged")

    # 4. Render again: A's band changed ears, B's did not.
    second = render_and_download()
    a_after, b_after = ild_db(second, LOW_BAND), ild_db(second, HIGH_BAND)
    print(
        f"A (< 700 Hz): {a_before:+.2f} dB, {itd_ms(first, LOW_BAND):+.3f} ms at {az_before:+.0f}° → "
        f"{a_after:+.2f} dB, {itd_ms(second, LOW_BAND):+.3f} ms at {az_after:+.0f}°; "
        f"B (> 3 kHz) at {az_b:+.0f}°: {b_before:+.2f} dB → {b_after:+.2f} dB"
    )
    assert np.sign(a_after) == -side and abs(a_after) > A_SIDE_DB and abs(a_before - a_after) > MARGIN_DB, (
        f"A's band did not move to the other ear: {a_before:.1f} dB → {a_after:.1f} dB"
    )
    assert np.sign(itd_ms(second, LOW_BAND)) == -side, "A's band still reaches the same ear first"
    assert np.sign(b_after) == np.sign(b_before) and abs(b_after - b_before) < 1.0, (
        f"B's band moved: {b_before:.1f} dB → {b_after:.1f} dB"
    )
    no_error()
    shot("5-rendered-again")

    # 5. 5.1 and FOA files through the format select.
    for format_name, channels in (("5.1", 6), ("foa", 4)):
        page.get_by_test_id("format-select").select_option(format_name)
        page.get_by_test_id("render-format").click()
        link = page.locator(f'[data-testid="download-link"][data-format="{format_name}"]')
        link.wait_for(timeout=JOB_MS)
        path = download(link)
        assert sf.info(str(path)).channels == channels, f"{format_name}: {sf.info(str(path)).channels} channels"
        if format_name == "5.1":
            assert read_wav_header(path).channel_mask == channel_mask("5.1")
    no_error()
    shot("6-downloads")

    # 6. Nothing plays that should not: Stop cancels a render's play still to come, and a new (empty)
    #    scene stops the browser preview of the old one.
    def silent(when: str) -> None:
        status = page.get_by_test_id("status").text_content()
        assert page.evaluate("window.soundstage.playing()") is None, f"{when}: still plays ({status})"
        assert not status.startswith(("Playing", "Loading")), f"{when}: the status says {status!r}"

    page.evaluate("window.renderBefore = window.soundstage.lastRender()")
    # One task: the render starts (its job is cached now), then Stop, before any of it is awaited.
    page.evaluate("document.getElementById('render').click(); document.getElementById('stop').click()")
    page.wait_for_function("window.soundstage.lastRender() !== window.renderBefore", timeout=JOB_MS)
    page.wait_for_timeout(1000)  # time for a cancelled play to fetch and decode the file
    silent("Stop pressed while the render ran")

    page.get_by_test_id("preview").click()
    page.wait_for_function("window.soundstage.playing() === 'preview'", timeout=10_000)
    assert page.get_by_test_id("status").text_content().startswith("Playing: browser preview")
    page.get_by_test_id("start-mode").select_option("empty")
    page.get_by_test_id("new-scene").click()
    page.wait_for_function("window.soundstage.scene().sources.length === 0")
    page.wait_for_timeout(300)
    silent("a new, empty scene")
    no_error()
