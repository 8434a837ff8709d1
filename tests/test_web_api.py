"""The web API through FastAPI's test client: every endpoint, the limits, and the bad inputs it must refuse.

Renders are checked for what a listener relies on (the side a source is heard on, channel counts,
the same samples as the Python API), uploads for being judged by content, and the job runner for
isolation: a worker killed or a server stopped mid-job fails that job only, and serves nothing of it.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import time
import zipfile
import zlib

import numpy as np
import pytest
import soundfile
import yaml
from fastapi.testclient import TestClient

from soundstage.acoustics.render import render
from soundstage.errors import InputFileError
from soundstage.scene import Scene, load_scene, scene_from_dict
from soundstage.web.app import create_app
from soundstage.web.jobs import STOPPED
from soundstage.web.limits import Limits

RATE = 48000


def wav_bytes(signal: np.ndarray, rate: int = RATE) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.asarray(signal, dtype=np.float32), rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return 0.2 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))


def png_bytes(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header declaring ``width``×``height`` pixels, with a few bytes of data: tiny file, huge image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def wait(client: TestClient, job: dict, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job {job['id']} still {job['state']} after {timeout} s"
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def upload(client: TestClient, name: str, data: bytes, kind: str | None = None):
    return client.post("/api/uploads", files={"file": (name, data)}, data={"kind": kind} if kind else {})


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("serve"), workers=2)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sound_id(client) -> str:
    return upload(client, "noise.wav", wav_bytes(noise(1.0)), "sound").json()["id"]


def one_source(sound_id: str, az: float = 60.0, **extra) -> dict:
    return {"sources": [{"audio": f"upload:{sound_id}", "position": {"az": az, "el": 0, "dist": 2}, **extra}]}


def render_file(client: TestClient, scene: dict, **options) -> tuple[np.ndarray, int, dict]:
    job = wait(client, client.post("/api/jobs/render", json={"scene": scene, **options}).json())
    assert job["state"] == "done", job["error"]
    answer = client.get(f"/api/jobs/{job['id']}/files/{job['result']['files']['audio']}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
    audio, rate = soundfile.read(io.BytesIO(answer.content), always_2d=True)
    return audio.T, rate, job


# -- information ---------------------------------------------------------------------------------------


def test_info_offers_formats_heads_materials_and_rooms_that_the_scene_model_accepts(client, monkeypatch) -> None:
    monkeypatch.setenv("SOUNDSTAGE_OFFLINE", "1")
    info = client.get("/api/info").json()
    assert {"binaural", "5.1", "7.1", "foa", "hoa3", "stereo"} <= set(info["formats"])
    assert info["hrtfs"][0] == {"name": "sphere", "description": "rigid-sphere head (built in)", "available": True}
    assert {"carpet", "concrete"} <= {m["name"] for m in info["materials"]}
    assert {"dog", "car"} <= {s["name"] for s in info["library"]}
    assert info["limits"]["max_sources"] == Limits().max_sources
    rooms = [json.dumps(preset["room"], sort_keys=True) for preset in info["room_presets"]]
    assert len(rooms) == len(set(rooms)) > 10  # spelling variants (theatre, theater) are listed once
    assert info["text_to_audio"]["available"] is False  # offline, and the tests have no text-to-audio weights
    assert "offline (SOUNDSTAGE_OFFLINE=1)" in info["text_to_audio"]["why"]
    for preset in info["room_presets"]:  # each preset is a room the renderer takes, with a source inside
        size = preset["room"]["shoebox"]["size"]
        centre = [v / 2 for v in size]
        Scene.model_validate(
            {
                "room": preset["room"],
                "listener": {"position": centre},
                "sources": [{"audio": "x.wav", "position": [centre[0] + 0.5, centre[1], centre[2]]}],
            }
        )


def test_the_scene_schema_is_the_scene_models_and_openapi_documents_every_endpoint(client) -> None:
    assert client.get("/api/schema/scene").json() == Scene.model_json_schema()
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        "/api/info",
        "/api/schema/scene",
        "/api/uploads",
        "/api/uploads/{upload_id}",
        "/api/uploads/{upload_id}/content",
        "/api/library",
        "/api/scenes/validate",
        "/api/scenes/import",
        "/api/scenes/export",
        "/api/jobs/image",
        "/api/jobs/video",
        "/api/jobs/text",
        "/api/jobs/render",
        "/api/jobs/sound",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/files/{name}",
    }
    assert expected <= set(paths)
    for path in expected:
        for operation in paths[path].values():
            assert operation.get("summary"), f"{path} has no summary"
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


# -- uploads -------------------------------------------------------------------------------------------


def test_a_sound_upload_is_described_stored_once_and_served_back_unchanged(client) -> None:
    data = wav_bytes(noise(0.5, seed=4), rate=44100)
    first = upload(client, "../../secret/rain.wav", data, "sound")
    assert first.status_code == 201
    meta = first.json()
    assert meta["kind"] == "sound" and meta["name"] == "rain.wav"  # the name is for display only
    assert meta["duration"] == pytest.approx(24000 / 44100, abs=1e-4)
    assert meta["sample_rate"] == 44100 and meta["channels"] == 1
    again = upload(client, "other name.wav", data).json()
    assert again["id"] == meta["id"]  # named by content: stored once
    assert client.get(f"/api/uploads/{meta['id']}").json()["duration"] == meta["duration"]
    assert client.get(f"/api/uploads/{meta['id']}/content").content == data


@pytest.mark.parametrize(
    ("name", "data", "kind", "status", "words"),
    [
        ("dog.wav", png_bytes(8, 8), "sound", 415, "is an image (PNG content), not a sound"),
        ("photo.png", b"name: a scene file, not a photo\n", "image", 415, "not a file type the server takes"),
        ("photo.jpg", b"", None, 415, "not a file type the server takes"),
        ("cut.wav", wav_bytes(noise(0.1))[:30], "sound", 422, "does not decode"),
        ("head.sofa", b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "sofa", 422, "head.sofa"),
        ("clip.mp4", b"\0\0\0\x18ftypisom" + b"\0" * 64, "video", 422, "clip.mp4"),
    ],
)
def test_uploads_are_judged_by_their_content_not_their_name(client, name, data, kind, status, words) -> None:
    answer = upload(client, name, data, kind)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"] and "\n" not in answer.json()["detail"]


def test_a_decompression_bomb_is_refused_before_any_pixel_is_decoded(client) -> None:
    bomb = png_bomb(30000, 30000)  # 900 megapixels declared in under 200 bytes
    assert len(bomb) < 200
    answer = upload(client, "bomb.png", bomb, "image")
    assert answer.status_code == 422
    assert "bomb.png: declares far more pixels than this server decodes" in answer.json()["detail"]
    assert (
        upload(client, "fine.png", png_bytes(64, 48), "image").json() | {"width": 64, "height": 48}
        == upload(client, "fine.png", png_bytes(64, 48), "image").json()
    )


@pytest.fixture(scope="module")
def small_client(tmp_path_factory):
    limits = Limits(
        max_upload_bytes=200_000,
        max_sound_seconds=1.0,
        max_image_pixels=10_000,
        max_sources=2,
        max_render_seconds=2.0,
        max_reflection_order=5,
        max_pending_jobs=1,
    )
    with TestClient(create_app(tmp_path_factory.mktemp("small"), limits=limits, workers=1)) as test_client:
        yield test_client


def test_uploads_past_the_size_and_length_limits_are_refused_with_the_limit(small_client) -> None:
    too_big = upload(small_client, "long.wav", wav_bytes(noise(1.2)), "sound")  # 230 kB > 200 kB
    assert too_big.status_code == 413 and "larger than this server takes" in too_big.json()["detail"]
    too_long = upload(small_client, "long.wav", wav_bytes(noise(0.5), rate=16000))  # 1.5 s in 96 kB
    assert too_long.status_code == 422 and "longer than this server takes (1 s)" in too_long.json()["detail"]
    too_many_pixels = upload(small_client, "big.png", png_bytes(200, 100), "image")
    assert too_many_pixels.status_code == 422
    assert "200×100 pixels, more than this server decodes (10,000 pixels)" in too_many_pixels.json()["detail"]

    def chunked():  # no Content-Length: counted as it arrives
        boundary = b"--x\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        for _ in range(30):
            yield b"\0" * 10_000
        yield b"\r\n--x--\r\n"

    streamed = small_client.post(
        "/api/uploads", content=chunked(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert streamed.status_code == 413


# -- no path from a request reaches the file system ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        # (httpx would resolve a literal "../" before sending, so the dots are escaped as an attacker would.)
        "/api/uploads/..%2F..%2Fetc%2Fpasswd",
        "/api/uploads/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/content",
        "/api/uploads/%2Fetc%2Fpasswd/content",
        "/api/uploads/0123456789abcdef0123456789abcdeX/content",
        "/api/jobs/..%2Fuploads",
        "/static/%2E%2E/app.py",
        "/static/%2E%2E%2Fapp.py",
        "/static/js/%2E%2E%2F%2E%2E%2Fapp.py",
    ],
)
def test_paths_in_urls_reach_no_file(client, url) -> None:
    answer = client.get(url)
    assert answer.status_code == 404
    assert "soundstage" not in answer.text.lower() or "no such" in answer.text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"audio": "/etc/passwd"}, 'sources[0].audio: "/etc/passwd" is not an upload'),
        ({"audio": "upload:../../etc/passwd"}, "no such upload"),
        ({"audio": ["a"]}, "is not an upload"),
    ],
)
def test_file_paths_inside_a_scene_are_refused(client, sound_id, change, words) -> None:
    scene = one_source(sound_id)
    scene["sources"][0].update(change)
    answer = client.post("/api/jobs/render", json={"scene": scene})
    assert answer.status_code in (404, 422) and words in answer.json()["detail"]


def test_heads_meshes_and_tracker_files_from_paths_are_refused(client, sound_id) -> None:
    for extra, words in [
        ({"hrtf": "/etc/head.sofa"}, "hrtf.name"),
        ({"hrtf": {"name": "../x/y"}}, "hrtf.name"),
        ({"room": {"mesh": "/etc/room.obj"}}, "room.mesh: mesh rooms are not available here"),
        ({"listener": {"orientation_track": "/etc/head.csv"}}, "listener.orientation_track"),
        ({"hrtf": f"upload:{sound_id}"}, "is a sound, not a sofa"),
    ]:
        answer = client.post("/api/scenes/validate", json={"scene": {**one_source(sound_id), **extra}})
        assert answer.status_code in (404, 422) and words in answer.json()["detail"], (extra, answer.text)


def test_a_job_serves_only_the_files_its_result_lists(client, sound_id) -> None:
    _, _, job = render_file(client, one_source(sound_id, az=10))
    for name in ("job.json", "%2E%2E", "out", "render.wav.tmp", "%2E%2E%2Fjob.json"):
        assert client.get(f"/api/jobs/{job['id']}/files/{name}").status_code == 404


# -- scenes ------------------------------------------------------------------------------------------


def test_validate_normalises_a_scene_and_gives_its_length(client, sound_id) -> None:
    moving = {
        "sources": [
            {
                "audio": f"upload:{sound_id}",
                "trajectory": {
                    "keyframes": [
                        {"t": 0, "position": {"az": 90, "el": 0, "dist": 2}},
                        {"t": 3, "position": {"az": -90, "el": 0, "dist": 2}},
                    ]
                },
            }
        ]
    }
    answer = client.post("/api/scenes/validate", json={"scene": moving}).json()
    assert answer["moves"] is True and answer["duration"] == pytest.approx(3.0)  # the trajectory outlasts the sound
    still = client.post("/api/scenes/validate", json={"scene": one_source(sound_id)}).json()
    assert still["moves"] is False and still["duration"] == pytest.approx(1.0 + 2 / 343.0, abs=1e-3)  # + the way
    assert still["scene"]["sources"][0]["audio"] == f"upload:{sound_id}"


def test_a_scene_the_model_refuses_gets_the_clis_one_line_message(client, sound_id) -> None:
    scene = one_source(sound_id)
    scene["sources"][0]["position"] = [9, 1, 1]
    scene["room"] = {"shoebox": {"size": [5, 4, 3]}}
    answer = client.post("/api/scenes/validate", json={"scene": scene})
    with pytest.raises(InputFileError) as cli:
        scene_from_dict({**scene, "sources": [{**scene["sources"][0], "audio": "x.wav"}]}, origin="scene")
    assert answer.status_code == 422 and answer.json()["detail"] == " ".join(str(cli.value).split())


def test_export_then_import_round_trips_and_the_zip_renders_the_same_samples(client, sound_id, tmp_path) -> None:
    scene = one_source(sound_id, az=-35.0, gain_db=-3.0, name="hum")
    scene["room"] = {"shoebox": {"size": [6, 5, 3]}, "rt60": 0.4}
    scene["listener"] = {"position": [3, 2.5, 1.5]}
    scene["sources"][0]["position"] = [4.5, 2.0, 1.5]
    archive = client.post("/api/scenes/export", json={"scene": scene})
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        bundle.extractall(tmp_path)
        names = bundle.namelist()
    assert "scene.yaml" in names and any(n.startswith("sounds/") for n in names)
    from_zip = render(load_scene(tmp_path / "scene.yaml"), format="binaural", progress=False)
    web, rate, _ = render_file(client, scene, format="binaural", bit_depth="float", normalize=False)
    assert rate == from_zip.sample_rate
    np.testing.assert_allclose(web, from_zip.audio[:, : web.shape[1]], atol=1e-6)

    text = (tmp_path / "scene.yaml").read_text()
    sound_file = yaml.safe_load(text)["sources"][0]["audio"]
    imported = client.post("/api/scenes/import", json={"text": text, "sounds": {sound_file.split("/")[-1]: sound_id}})
    assert imported.status_code == 200
    assert imported.json()["scene"]["sources"][0]["audio"] == f"upload:{sound_id}"
    assert imported.json()["scene"]["sources"][0]["position"] == {"x": 4.5, "y": 2.0, "z": 1.5}
    missing = client.post("/api/scenes/import", json={"text": text, "sounds": {}})
    assert missing.status_code == 422 and sound_file.split("/")[-1] in missing.json()["detail"]
    broken = client.post("/api/scenes/import", json={"text": "sources: [a", "sounds": {}})
    assert broken.status_code == 422 and "not valid YAML or JSON" in broken.json()["detail"]


def test_the_library_adds_a_sound_of_the_asked_length(client) -> None:
    answer = client.post("/api/library", json={"name": "bird", "seconds": 2.0})
    assert answer.status_code == 201
    assert answer.json()["kind"] == "sound" and answer.json()["duration"] == pytest.approx(2.0, abs=0.01)
    unknown = client.post("/api/library", json={"name": "unicorn"})
    assert unknown.status_code == 422 and "unicorn" in unknown.json()["detail"]


# -- renders ----------------------------------------------------------------------------------------


def test_a_binaural_render_puts_the_source_on_its_side_and_is_cached_by_content(client, sound_id) -> None:
    for az, louder in ((60.0, 0), (-60.0, 1)):
        audio, rate, job = render_file(client, one_source(sound_id, az=az))
        assert rate == RATE and audio.shape[0] == 2
        level = 10 * np.log10(np.sum(audio**2, axis=1))
        assert level[louder] - level[1 - louder] > 3.0, (az, level)
        again = client.post("/api/jobs/render", json={"scene": one_source(sound_id, az=az)}).json()
        assert again["id"] == job["id"] and again["cached"] is True and again["state"] == "done"


@pytest.mark.parametrize(("format_name", "channels"), [("5.1", 6), ("7.1", 8), ("foa", 4), ("hoa2", 9), ("stereo", 2)])
def test_every_format_downloads_with_its_channel_count(client, sound_id, format_name, channels) -> None:
    audio, _, job = render_file(client, one_source(sound_id, az=30), format=format_name)
    assert audio.shape[0] == channels == job["result"]["channels"]
    answer = client.get(f"/api/jobs/{job['id']}/files/render.wav?download=1")
    assert "attachment" in answer.headers["content-disposition"]


def test_plots_are_drawn_on_request(client, sound_id) -> None:
    _, _, job = render_file(client, one_source(sound_id, az=45), plots=True)
    files = job["result"]["files"]
    assert {"plot", "localization"} <= set(files)
    for name in (files["plot"], files["localization"]):
        answer = client.get(f"/api/jobs/{job['id']}/files/{name}")
        assert answer.status_code == 200 and answer.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("scene_change", "options", "words"),
    [
        ({"extra_sources": 2}, {}, "3 sources is more than this server renders at once (2)"),
        ({"start": 1.7}, {}, "lasts 2.2 s, more than this server renders (2 s)"),
        ({"room": {"shoebox": {"size": [20, 20, 5]}, "max_order": 9}}, {}, "room.max_order: 9 is more than"),
        ({}, {"format": "9.1"}, "9.1"),
    ],
)
def test_a_render_past_the_limits_is_refused_before_it_is_queued(small_client, scene_change, options, words) -> None:
    sound = upload(small_client, "short.wav", wav_bytes(noise(0.5, seed=9))).json()["id"]
    scene = one_source(sound)
    scene["sources"] += [dict(scene["sources"][0]) for _ in range(scene_change.get("extra_sources", 0))]
    if "start" in scene_change:
        scene["sources"][0]["start"] = scene_change["start"]
    if "room" in scene_change:
        scene["room"] = scene_change["room"]
        scene["listener"] = {"position": [10, 10, 1.5]}
        scene["sources"][0]["position"] = [12, 10, 1.5]
    answer = small_client.post("/api/jobs/render", json={"scene": scene, **options})
    assert answer.status_code == 422 and words in answer.json()["detail"], answer.text


def test_bad_request_bodies_get_one_line_naming_the_field(client) -> None:
    answer = client.post("/api/jobs/image", json={"sounds": []})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("image: Field required")
    typo = client.post("/api/jobs/render", json={"scene": {}, "fromat": "foa"})
    assert typo.status_code == 422 and "fromat" in typo.json()["detail"]


# -- pipelines as jobs ----------------------------------------------------------------------------------


def test_a_photo_job_returns_regions_on_the_picture_and_sources_on_their_side(client, tmp_path) -> None:
    from synthetic_scene import save_scene_files

    save_scene_files(tmp_path, 480, 360)
    image = upload(client, "scene.png", (tmp_path / "scene.png").read_bytes(), "image").json()
    sounds = [upload(client, f"s{i}.wav", wav_bytes(noise(1.0, seed=10 + i)), "sound").json()["id"] for i in (1, 2)]
    request = {"image": image["id"], "sounds": [{"label": None, "sound": s} for s in sounds], "regions": "classical"}
    job = wait(client, client.post("/api/jobs/image", json=request).json())
    assert job["state"] == "done", job["error"]
    result = job["result"]
    assert result["picture"] == {"id": image["id"], "width": 480, "height": 360}
    assert len(result["regions"]) == len(result["scene"]["sources"]) == 2
    assert result["camera"]["hfov_deg"] > 0
    listener = np.asarray(
        result["scene"]["listener"]["position"]
        if isinstance(result["scene"]["listener"]["position"], list)
        else list(result["scene"]["listener"]["position"].values())
    )
    for region in result["regions"]:
        outline = np.asarray(region["outline"])
        u0, v0, u1, _ = region["box"]
        assert len(outline) >= 3
        assert np.all((outline[:, 0] >= u0 - 1) & (outline[:, 0] <= u1 + 1) & (outline[:, 1] >= v0 - 1))
        # Left of the picture's centre is left of the listener: y (left) of the source above the listener's.
        source = result["scene"]["sources"][region["source"]]["position"]
        y = source["y"] if isinstance(source, dict) else source[1]
        centre_u = outline[:, 0].mean()
        if abs(centre_u - 240) > 30:
            assert np.sign(240 - centre_u) == np.sign(y - listener[1]), (centre_u, y)
    for name in result["files"].values():
        assert client.get(f"/api/jobs/{job['id']}/files/{name}").content[:4] == b"\x89PNG"
    assert result["scene"]["sources"][0]["audio"].removeprefix("upload:") in sounds
    rendered, _, _ = render_file(client, result["scene"], format="foa")
    assert rendered.shape[0] == 4


def test_a_prompt_job_builds_a_scene_of_library_sounds(client) -> None:
    job = client.post("/api/jobs/text", json={"prompt": "a dog barking on my left", "format": "binaural"}).json()
    job = wait(client, job)
    assert job["state"] == "done", job["error"]
    source = job["result"]["scene"]["sources"][0]
    x, y, z = (source["position"][name] for name in "xyz")  # on the left: +y, level with the head
    assert y > 1.0 and abs(x) < 1e-6 and abs(z) < 1e-6
    sound = client.get(f"/api/uploads/{source['audio'].removeprefix('upload:')}").json()
    assert sound["kind"] == "sound" and sound["duration"] > 1.0
    assert "dog" in job["result"]["explain"]


def test_a_video_job_gives_a_moving_source_that_follows_the_disc(client, tmp_path) -> None:
    from synthetic_video import write_clip

    clip = write_clip(tmp_path / "clip.mp4", seconds=2.0)
    video = upload(client, "clip.mp4", clip.read_bytes(), "video").json()
    assert video["kind"] == "video" and video["duration"] == pytest.approx(2.0, abs=0.1)
    sound = upload(client, "engine.wav", wav_bytes(noise(2.0, seed=5))).json()["id"]
    request = {"video": video["id"], "sounds": [{"label": "disc", "sound": sound}], "stride": 0.25}
    job = wait(client, client.post("/api/jobs/video", json=request).json())
    assert job["state"] == "done", job["error"]
    keyframes = job["result"]["scene"]["sources"][0]["trajectory"]["keyframes"]
    ys = [k["position"]["y"] if isinstance(k["position"], dict) else k["position"][1] for k in keyframes]
    assert ys[0] > 0 > ys[-1]  # the disc crosses from the left of the picture to the right
    assert job["result"]["scene"]["sources"][0]["audio"] == f"upload:{sound}"  # the user's upload, not a copy
    assert job["result"]["scene"]["sources"][0]["name"] == "disc"
    picture = job["result"]["picture"]
    assert client.get(f"/api/uploads/{picture['id']}").json()["kind"] == "image"
    _, _, render_job = render_file(client, job["result"]["scene"], format="stereo", video=video["id"])
    assert "video" in render_job["result"]["files"]


def test_text_to_audio_without_its_weights_fails_the_job_with_a_clear_line(client) -> None:
    # The tests' hub is a closed local port (conftest.py): the model cannot be fetched, as on an offline machine.
    job = wait(client, client.post("/api/jobs/sound", json={"prompt": "a dog barking"}).json())
    assert job["state"] == "failed" and "\n" not in job["error"]
    assert "internal error" not in job["error"] and "audioldm2" in job["error"]
    for model in ("../../etc", "/home/someone/model", "someone/any-repo"):  # only the models the server knows
        answer = client.post("/api/jobs/sound", json={"prompt": "a dog", "model": model})
        assert answer.status_code == 422 and answer.json()["detail"].startswith("model: Input should be")


# -- isolation, stopping and limits of the job runner --------------------------------------------------


def long_scene(sound_id: str) -> dict:
    """A scene that takes seconds to render: 8 sources rising through a reverberant hall (the block engine)."""
    scene = {"room": {"shoebox": {"size": [12, 9, 4]}, "rt60": 1.5}, "listener": {"position": [6, 4.5, 1.6]}}
    scene["sources"] = [
        {
            "audio": f"upload:{sound_id}",
            "name": f"s{i}",
            "trajectory": {
                "keyframes": [
                    {"t": 0, "position": [2 + i, 2 + 0.5 * i, 1.6]},
                    {"t": 6, "position": [2 + i, 2 + 0.5 * i, 2.6]},
                ]
            },
        }
        for i in range(8)
    ]
    return scene


def running(client: TestClient, job: dict, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while job["state"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def test_a_killed_worker_fails_its_job_only(client, sound_id) -> None:
    import os
    import signal

    six_seconds = upload(client, "six.wav", wav_bytes(noise(6.0, seed=8))).json()["id"]
    victim = client.post("/api/jobs/render", json={"scene": long_scene(six_seconds)}).json()
    victim = running(client, victim)
    other = client.post("/api/jobs/render", json={"scene": one_source(sound_id, az=-20), "format": "7.1"}).json()
    process = client.app.state.jobs._processes.get(victim["id"])
    assert process is not None, "the job finished before the test could stop its worker"
    os.kill(process.pid, signal.SIGKILL)  # what the kernel's out-of-memory killer does
    victim = wait(client, victim)
    assert victim["state"] == "failed" and "SIGKILL" in victim["error"]
    assert client.get(f"/api/jobs/{victim['id']}/files/render.wav").status_code == 404
    assert wait(client, other)["state"] == "done"


def test_a_server_stopped_mid_job_reports_it_failed_and_serves_nothing_of_it(tmp_path) -> None:
    data = tmp_path / "serve"
    with TestClient(create_app(data, workers=1)) as first:
        sound = upload(first, "n.wav", wav_bytes(noise(6.0, seed=3))).json()["id"]
        job = running(first, first.post("/api/jobs/render", json={"scene": long_scene(sound)}).json())
        assert job["state"] == "running"
    record = json.loads((data / "jobs" / job["id"] / "job.json").read_text())
    assert record["state"] == "failed" and record["error"] == STOPPED
    assert not any((data / "jobs" / job["id"]).rglob("*.wav"))
    with TestClient(create_app(data, workers=1)) as second:
        assert second.get(f"/api/jobs/{job['id']}").json()["state"] == "failed"
        assert second.get(f"/api/jobs/{job['id']}/files/render.wav").status_code == 404
        resubmitted = second.post("/api/jobs/render", json={"scene": long_scene(sound)}).json()
        assert resubmitted["id"] == job["id"] and resubmitted["state"] in ("queued", "running")


def test_a_full_queue_answers_503_and_says_to_try_again(small_client) -> None:
    sound = upload(small_client, "q.wav", wav_bytes(noise(0.9, seed=11))).json()["id"]
    first = small_client.post("/api/jobs/render", json={"scene": one_source(sound, az=5)})
    second = small_client.post("/api/jobs/render", json={"scene": one_source(sound, az=6)})
    assert first.status_code == 202
    assert second.status_code == 503 and "try again" in second.json()["detail"]
    wait(small_client, first.json())


def test_unused_uploads_and_results_expire(tmp_path) -> None:
    with TestClient(create_app(tmp_path / "serve", workers=1)) as client:
        kept = upload(client, "kept.wav", wav_bytes(noise(0.3, seed=20))).json()["id"]
        fresh = upload(client, "expiring.wav", wav_bytes(noise(0.3, seed=21))).json()["id"]
        _, _, job = render_file(client, one_source(fresh, az=33))
        later = time.time() + Limits().keep_seconds + 10
        client.get(f"/api/uploads/{kept}")  # a look is not a use: only renders and downloads keep a file
        assert client.app.state.jobs.expire(now=later) == 3
        for url in (f"/api/uploads/{fresh}", f"/api/uploads/{kept}", f"/api/jobs/{job['id']}"):
            assert client.get(url).status_code == 404
        assert not any((tmp_path / "serve" / "uploads").iterdir())


def test_worker_progress_reaches_the_job_and_the_outcome_is_sent_last(tmp_path, sound_id, client) -> None:
    import multiprocessing

    from soundstage.web.worker import run_job

    receiver, sender = multiprocessing.Pipe(duplex=False)
    scene = {"sources": [dict(one_source(sound_id, az=a)["sources"][0]) for a in (10, 50, 90)]}
    run_job("render", {"scene": scene, "format": "binaural"}, client.app.state.store, tmp_path, sender)
    messages = []
    while receiver.poll():
        try:
            messages.append(receiver.recv())
        except EOFError:  # the worker closed its end after the last message
            break
    progress = [m for m in messages if m[0] == "progress"]
    assert progress[0][2] == 0.0 and progress[-1][2] == 1.0 and "render binaural" in progress[0][1]
    assert messages[-1][0] == "done" and (tmp_path / "render.wav").is_file()


def test_serve_listens_on_this_machine_only_unless_told() -> None:
    from soundstage.cli.main import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000 and args.workers >= 1


# -- what a request may cost, and who may send one -----------------------------------------------------


def test_a_page_from_another_site_cannot_upload_or_queue_work(client, sound_id) -> None:
    foreign = {"Origin": "http://evil.example"}
    assert upload(client, "n.wav", wav_bytes(noise(0.2)), "sound").status_code == 201  # scripts send no Origin
    answer = client.post("/api/uploads", files={"file": ("n.wav", wav_bytes(noise(0.2)))}, headers=foreign)
    assert answer.status_code == 403 and "http://evil.example" in answer.json()["detail"]
    answer = client.post("/api/jobs/render", json={"scene": one_source(sound_id)}, headers=foreign)
    assert answer.status_code == 403
    own = client.post(
        "/api/scenes/validate", json={"scene": one_source(sound_id)}, headers={"Origin": "http://testserver"}
    )
    assert own.status_code == 200
    assert client.get("/api/info", headers=foreign).status_code == 200  # reading is harmless


def test_a_loopback_server_answers_its_own_names_only(tmp_path) -> None:
    from soundstage.web.guards import LOOPBACK_HOSTS

    app = create_app(tmp_path / "serve", workers=1, allowed_hosts=LOOPBACK_HOSTS)
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/api/info").status_code == 200
        assert local.get("/api/info", headers={"Host": "localhost:8000"}).status_code == 200
        # A rebound DNS name reaches this machine with the attacker's name in Host.
        assert local.get("/api/info", headers={"Host": "evil.example:8000"}).status_code == 400


def test_two_servers_cannot_share_a_data_folder(tmp_path) -> None:
    with TestClient(create_app(tmp_path / "serve", workers=1)):
        with pytest.raises(Exception, match="another soundstage serve uses this data folder"):
            with TestClient(create_app(tmp_path / "serve", workers=1)):
                pass
    with TestClient(create_app(tmp_path / "serve", workers=1)) as again:  # free once the first has stopped
        assert again.get("/api/info").status_code == 200


def test_json_bodies_are_capped_and_big_scenes_refused_before_validation(client, sound_id) -> None:
    huge = {"scene": one_source(sound_id), "padding": "x" * 3_000_000}
    answer = client.post("/api/scenes/validate", json=huge)
    assert answer.status_code == 413 and "a scene is a short text" in answer.json()["detail"]
    many = {"sources": [dict(one_source(sound_id)["sources"][0]) for _ in range(Limits().max_sources + 1)]}
    started = time.perf_counter()
    answer = client.post("/api/scenes/validate", json={"scene": many})
    assert answer.status_code == 422 and f"{Limits().max_sources + 1} sources is more than" in answer.json()["detail"]
    keyframes = [{"t": 0.01 * k, "position": {"az": k % 90, "el": 0, "dist": 2}} for k in range(5000)]
    path = {"sources": [{"audio": f"upload:{sound_id}", "trajectory": {"keyframes": keyframes}}]}
    answer = client.post("/api/scenes/validate", json={"scene": path})
    assert answer.status_code == 422 and "5000 keyframes in all is more than" in answer.json()["detail"]
    assert time.perf_counter() - started < 5.0  # refused by counting, not after validating


def test_a_scene_file_with_yaml_aliases_is_refused(client, sound_id) -> None:
    text = "s: &s {audio: a.wav, position: {az: 10, dist: 2}}\nsources: [*s, *s, *s]\n"
    answer = client.post("/api/scenes/import", json={"text": text, "sounds": {"a.wav": sound_id}})
    assert answer.status_code == 422 and "YAML aliases" in answer.json()["detail"]


def test_a_far_source_counts_the_time_its_sound_travels(small_client) -> None:
    sound = upload(small_client, "far.wav", wav_bytes(noise(0.5, seed=31))).json()["id"]
    near = small_client.post("/api/scenes/validate", json={"scene": one_source(sound)}).json()
    assert near["duration"] == pytest.approx(0.5 + 2 / 343.0, abs=1e-3)
    far = one_source(sound)
    far["sources"][0]["position"]["dist"] = 600.0  # 1.75 s on the way
    answer = small_client.post("/api/jobs/render", json={"scene": far})
    assert answer.status_code == 422 and "lasts 2.2 s" in answer.json()["detail"]


def test_sounds_with_absurd_channels_rates_or_sample_counts_are_refused(tmp_path) -> None:
    limits = Limits(max_sound_samples=100_000)
    with TestClient(create_app(tmp_path / "serve", workers=1, limits=limits)) as client:
        buffer = io.BytesIO()
        soundfile.write(buffer, np.zeros((100, 12), dtype=np.float32), 48000, format="WAV")
        answer = upload(client, "twelve.wav", buffer.getvalue(), "sound")
        assert answer.status_code == 422 and "12 channels at 48000 Hz" in answer.json()["detail"]
        buffer = io.BytesIO()
        soundfile.write(buffer, np.zeros(1000, dtype=np.float32), 384000, format="WAV")
        answer = upload(client, "fast.wav", buffer.getvalue(), "sound")
        assert answer.status_code == 422 and "at 384000 Hz" in answer.json()["detail"]
        answer = upload(client, "stereo.wav", wav_bytes(np.zeros((60_000, 2))), "sound")  # 120 000 samples
        assert answer.status_code == 422 and "120,000 samples" in answer.json()["detail"]


def test_a_sofa_file_declaring_a_huge_array_is_refused_before_it_is_read(client, tmp_path) -> None:
    import h5py

    path = tmp_path / "bomb.sofa"
    with h5py.File(path, "w") as f:  # 2000 × 2 × 100 000 float64 = 3 GB declared, nothing written
        f.create_dataset("Data.IR", shape=(2000, 2, 100_000), dtype="f8")
    assert path.stat().st_size < 100_000
    answer = upload(client, "bomb.sofa", path.read_bytes(), "sofa")
    assert answer.status_code == 422 and "more than this server reads" in answer.json()["detail"]


def test_a_job_past_its_time_fails_and_its_worker_is_not_reused(tmp_path) -> None:
    limits = Limits(job_timeout_s=1.0)
    with TestClient(create_app(tmp_path / "serve", workers=1, limits=limits)) as client:
        sound = upload(client, "n.wav", wav_bytes(noise(6.0, seed=41))).json()["id"]
        slow = client.post("/api/jobs/render", json={"scene": long_scene(sound)}).json()
        quick = client.post("/api/jobs/render", json={"scene": one_source(sound, az=12)}).json()
        slow = wait(client, slow)
        assert slow["state"] == "failed" and "stopped after 1 s" in slow["error"]
        quick = wait(client, quick)
        assert quick["state"] == "done", quick["error"]  # run by a fresh worker, not the killed one


def test_a_cached_result_whose_uploads_expired_is_made_again(tmp_path) -> None:
    with TestClient(create_app(tmp_path / "serve", workers=1)) as client:
        request = {"prompt": "a bird singing on the right", "format": "binaural"}
        first = wait(client, client.post("/api/jobs/text", json=request).json())
        assert first["state"] == "done", first["error"]
        sound = first["result"]["scene"]["sources"][0]["audio"].removeprefix("upload:")
        cached = client.post("/api/jobs/text", json=request).json()
        assert cached["cached"] is True
        shutil.rmtree(tmp_path / "serve" / "uploads" / sound)  # the library sound it made has expired
        again = client.post("/api/jobs/text", json=request).json()
        assert again["cached"] is False and again["state"] in ("queued", "running")
        again = wait(client, again)
        assert again["state"] == "done", again["error"]
        remade = again["result"]["scene"]["sources"][0]["audio"].removeprefix("upload:")
        assert client.get(f"/api/uploads/{remade}").status_code == 200  # the result names sounds that are there


def test_export_is_bounded_like_a_render(small_client) -> None:
    sound = upload(small_client, "e.wav", wav_bytes(noise(0.5, seed=51))).json()["id"]
    scene = one_source(sound)
    scene["sources"] *= 3
    answer = small_client.post("/api/scenes/export", json={"scene": scene})
    assert answer.status_code == 422 and "3 sources is more than" in answer.json()["detail"]
