"""The HRTF registry: pinned checksums, cached downloads from a local mirror, and the failure modes."""

import functools
import hashlib
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shared_data import KEMAR, need_kemar
from soundstage.acoustics.hrtf import SofaHRTF, fetch_hrtf, list_hrtfs, load_hrtf
from soundstage.acoustics.hrtf.registry import get_entry, hrtf_cache_dir
from soundstage.errors import DownloadError, ParameterError


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output clean
        pass


@pytest.fixture
def serve():
    """Start a local HTTP server for a folder; returns its base URL. Shut down after the test."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_registry_lists_the_mit_kemar_with_its_published_checksum():
    need_kemar()
    entry = get_entry("mit_kemar")
    assert [e.name for e in list_hrtfs()] == ["mit_kemar"]
    assert entry.url == "https://sofacoustics.org/data/database/mit/mit_kemar_normal_pinna.sofa"
    assert entry.sha256 == hashlib.sha256(KEMAR.read_bytes()).hexdigest()
    assert "Gardner" in entry.citation
    assert get_entry("mit_kemar_normal_pinna") is entry


def test_fetch_from_a_mirror_then_from_the_cache(tmp_path, serve, monkeypatch):
    need_kemar()
    monkeypatch.setenv("SOUNDSTAGE_HRTF_MIRROR", serve(KEMAR.parent) + "/")
    path = fetch_hrtf("mit_kemar", cache_dir=tmp_path, progress=False)
    assert path == tmp_path / "mit_kemar_normal_pinna.sofa"
    assert path.read_bytes() == KEMAR.read_bytes()
    assert get_entry("mit_kemar").is_cached(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    # Once cached, nothing is downloaded: an unreachable mirror does not matter.
    monkeypatch.setenv("SOUNDSTAGE_HRTF_MIRROR", f"http://127.0.0.1:{closed_port()}")
    assert fetch_hrtf("mit_kemar_normal_pinna", cache_dir=tmp_path, progress=False) == path


def test_a_corrupt_cached_file_is_downloaded_again(tmp_path, serve, monkeypatch):
    need_kemar()
    (tmp_path / "mit_kemar_normal_pinna.sofa").write_bytes(b"truncated")
    monkeypatch.setenv("SOUNDSTAGE_HRTF_MIRROR", serve(KEMAR.parent))
    path = fetch_hrtf("mit_kemar", cache_dir=tmp_path, progress=False)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == get_entry("mit_kemar").sha256


def test_a_checksum_mismatch_caches_nothing(tmp_path, serve, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    corrupt = b"HDF\x00 this is not the KEMAR set" * 100
    (mirror / "mit_kemar_normal_pinna.sofa").write_bytes(corrupt)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SOUNDSTAGE_HRTF_MIRROR", serve(mirror))
    expected, actual = get_entry("mit_kemar").sha256, hashlib.sha256(corrupt).hexdigest()
    with pytest.raises(DownloadError, match=f"failed its checksum .*expected sha256 {expected}, got {actual}"):
        fetch_hrtf("mit_kemar", cache_dir=cache, progress=False)
    assert list(cache.iterdir()) == []


def test_offline_says_how_to_get_the_file(tmp_path, monkeypatch):
    port = closed_port()
    monkeypatch.setenv("SOUNDSTAGE_HRTF_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError, match=r"cannot download mit_kemar .*sofacoustics\.org.*--hrtf sphere") as info:
        fetch_hrtf("mit_kemar", cache_dir=tmp_path, progress=False)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and str(tmp_path / "mit_kemar_normal_pinna.sofa") in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_unknown_names_are_rejected(tmp_path):
    with pytest.raises(ParameterError, match=r"no registered HRTF set is called 'cipic'.*mit_kemar"):
        fetch_hrtf("cipic", cache_dir=tmp_path)


def test_cache_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path))
    assert hrtf_cache_dir() == tmp_path / "hrtf"
    assert get_entry("mit_kemar").cache_path() == tmp_path / "hrtf" / "mit_kemar_normal_pinna.sofa"
    monkeypatch.delenv("SOUNDSTAGE_CACHE")
    assert hrtf_cache_dir() == Path.home() / ".cache" / "soundstage" / "hrtf"


def test_load_hrtf_fetches_a_registered_set(tmp_path, serve, monkeypatch):
    need_kemar()
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path))
    monkeypatch.setenv("SOUNDSTAGE_HRTF_MIRROR", serve(KEMAR.parent))
    head = load_hrtf("mit_kemar", 44100, interpolation="nearest")
    assert isinstance(head, SofaHRTF) and head.name == "mit_kemar" and head.interpolation == "nearest"
    assert (tmp_path / "hrtf" / "mit_kemar_normal_pinna.sofa").is_file()
