"""Tests of :mod:`soundstage.hub`: finding models in folders and the cache, the offline policy, downloads.

No network here. The hub is faked in-process: ``huggingface_hub.model_info``, ``hf_hub_download`` and
``snapshot_download`` are replaced by functions serving a "remote" folder per repo id and writing the
Hugging Face cache layout (``models--owner--name/{refs/main, snapshots/<commit>/...}``) in a temporary
folder, while cache look-ups (``local_files_only=True``) go through huggingface_hub's real code. The
models are a few bytes of JSON and fake weights: resolving never loads them.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from soundstage.errors import DownloadError, InputFileError, ParameterError
from soundstage.hub import (
    cached_locally,
    cached_snapshot,
    choose_device,
    fetch_for_auto,
    format_size,
    read_config,
    resolve_model,
    weights_available,
)

huggingface_hub = pytest.importorskip("huggingface_hub")

COMMIT = "0123456789abcdef0123456789abcdef01234567"
ALT = "use the offline backend"


def _files(folder: Path, files: dict[str, bytes | str]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return folder


# What a transformers repo on the hub carries: one config, weights three ways, an ONNX export, a variant.
MODEL_REPO = {
    "config.json": json.dumps({"model_type": "sam"}),
    "preprocessor_config.json": "{}",
    "model.safetensors": b"w" * 500,
    "model.fp16.safetensors": b"h" * 250,
    "pytorch_model.bin": b"b" * 500,
    "onnx/model.onnx": b"o" * 1500,
    "README.md": "# a model",
}
# A diffusers repo: model_index.json, component folders, and the original checkpoint at the top.
PIPELINE_REPO = {
    "model_index.json": json.dumps(
        {
            "_class_name": "AudioLDM2Pipeline",
            "unet": ["diffusers", "UNet"],
            "tokenizer": ["transformers", "Tok"],
            "safety_checker": [None, None],
        }
    ),
    "unet/config.json": "{}",
    "unet/diffusion_pytorch_model.safetensors": b"u" * 2_000_000,
    "unet/diffusion_pytorch_model.fp16.safetensors": b"h" * 1_000_000,
    "unet/diffusion_pytorch_model.bin": b"b" * 2_000_000,
    "tokenizer/vocab.json": "{}",
    "tokenizer/merges.txt": "#version: 0.2\n",
    "model.safetensors": b"c" * 3_000_000,
}


def empty_cache_online(monkeypatch, cache: Path) -> Path:
    """Make ``cache`` the Hugging Face cache for this test, and offline mode off."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    for name in ("HF_HUB_OFFLINE", "SOUNDSTAGE_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return cache


@pytest.fixture
def hub_cache(monkeypatch, tmp_path) -> Path:
    """An empty Hugging Face cache of this test's own, online mode."""
    return empty_cache_online(monkeypatch, tmp_path / "hf_cache")


def _snapshot_folder(cache: Path, repo_id: str) -> Path:
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


class FakeHub:
    """Serves ``remote[repo_id]`` (a folder) the way huggingface_hub would, and records what was asked."""

    def __init__(self, cache: Path, remote: dict[str, Path], capsys, *, sizes: bool = True) -> None:
        self.cache, self.remote, self.capsys, self.sizes = cache, remote, capsys, sizes
        self.calls: list[tuple[str, str]] = []
        self.downloads: list[dict] = []
        self.real_snapshot_download = huggingface_hub.snapshot_download

    def _source(self, repo_id: str) -> Path:
        if repo_id not in self.remote:
            from huggingface_hub.errors import RepositoryNotFoundError

            raise RepositoryNotFoundError("404 Client Error: Repository Not Found", response=_response())
        return self.remote[repo_id]

    def model_info(self, repo_id, *, files_metadata=False, **kwargs):
        self.calls.append(("model_info", repo_id))
        source = self._source(repo_id)
        siblings = [
            SimpleNamespace(rfilename=p.relative_to(source).as_posix(), size=p.stat().st_size if self.sizes else None)
            for p in sorted(source.rglob("*"))
            if p.is_file()
        ]
        return SimpleNamespace(sha=COMMIT, siblings=siblings)

    def hf_hub_download(self, repo_id, filename, **kwargs):
        self.calls.append(("hf_hub_download", f"{repo_id}:{filename}"))
        target = _snapshot_folder(self.cache, repo_id) / filename
        shutil.copyfile(self._source(repo_id) / filename, target)
        return str(target)

    def snapshot_download(self, repo_id, *, allow_patterns=None, local_files_only=False, **kwargs):
        if local_files_only:
            return self.real_snapshot_download(repo_id, local_files_only=True, **kwargs)
        from huggingface_hub.utils import filter_repo_objects

        # What the user has been told on stderr by the time the download starts.
        self.downloads.append({"repo_id": repo_id, "stderr_before": self.capsys.readouterr().err})
        source = self._source(repo_id)
        names = [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
        snapshot = _snapshot_folder(self.cache, repo_id)
        for name in filter_repo_objects(names, allow_patterns=allow_patterns):
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, snapshot / name)
        return str(snapshot)


def _response():
    return SimpleNamespace(headers={}, request=None, status_code=404)


def install_fake_hub(monkeypatch, cache: Path, remote: dict[str, Path], capsys) -> FakeHub:
    """Replace huggingface_hub's fetching functions by a :class:`FakeHub` serving ``remote`` into ``cache``."""
    hub = FakeHub(cache, remote, capsys)
    for name in ("model_info", "hf_hub_download", "snapshot_download"):
        monkeypatch.setattr(huggingface_hub, name, getattr(hub, name))
    return hub


@pytest.fixture
def fake_hub(monkeypatch, hub_cache, tmp_path, capsys) -> FakeHub:
    remote = {
        "owner/model": _files(tmp_path / "remote" / "model", MODEL_REPO),
        "owner/pipeline": _files(tmp_path / "remote" / "pipeline", PIPELINE_REPO),
        "owner/legacy": _files(
            tmp_path / "remote" / "legacy", {"config.json": "{}", "pytorch_model.bin": b"b" * 10, "tf_model.h5": b"t"}
        ),
    }
    return install_fake_hub(monkeypatch, hub_cache, remote, capsys)


# ---------------------------------------------------------------- downloads, online


def test_download_says_what_and_how_big_before_it_starts(fake_hub, hub_cache, capsys):
    folder = Path(resolve_model("owner/model", purpose="segmentation", offline_alternative=ALT))

    [download] = fake_hub.downloads
    # config.json was fetched first (and read); what remains is preprocessor_config.json and the weights.
    line = (
        "soundstage: downloading segmentation model 'owner/model' from the Hugging Face hub "
        f"(2 files, 502 B) into {hub_cache}\n"
    )
    assert download["stderr_before"] == line  # one line, printed before the first byte of weights
    # Only what from_pretrained reads: no .bin copy, no fp16 variant, no ONNX export, no README.
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "preprocessor_config.json"]
    assert cached_locally("owner/model")
    # Asked again: the cached copy, with no call to the hub and nothing printed.
    fake_hub.calls.clear()
    assert resolve_model("owner/model", purpose="segmentation", offline_alternative=ALT) == str(folder)
    assert fake_hub.calls == [] and len(fake_hub.downloads) == 1
    assert capsys.readouterr().err == ""


def test_pipeline_download_takes_only_its_components(fake_hub):
    folder = Path(resolve_model("owner/pipeline", purpose="text-to-audio", offline_alternative=ALT, kind="pipeline"))

    announced = fake_hub.downloads[0]["stderr_before"]
    # After model_index.json: the unet's config and safetensors and 2 tokenizer files; not the top-level checkpoint.
    names = ("model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors")
    names += ("tokenizer/vocab.json", "tokenizer/merges.txt")
    assert format_size(sum(len(PIPELINE_REPO[name]) for name in names[1:])) == "2.0 MB"
    assert "text-to-audio model 'owner/pipeline' from the Hugging Face hub (4 files, 2.0 MB)" in announced
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(names)
    assert cached_locally("owner/pipeline", kind="pipeline")
    assert read_config(folder, kind="pipeline", purpose="text-to-audio")["_class_name"] == "AudioLDM2Pipeline"


def test_repo_with_only_pytorch_bin_weights_gets_them(fake_hub):
    folder = Path(resolve_model("owner/legacy", purpose="depth estimation", offline_alternative=ALT))
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "pytorch_model.bin"]


def test_size_unknown_when_the_hub_does_not_say(fake_hub):
    fake_hub.sizes = False
    resolve_model("owner/model", purpose="segmentation", offline_alternative=ALT)
    assert "(2 files, size unknown)" in fake_hub.downloads[0]["stderr_before"]


def test_wrong_kind_is_refused_before_the_weights_are_fetched(fake_hub):
    def only_owl(config):
        if config.get("model_type") != "owlv2":
            raise InputFileError(f"detector is a {config.get('model_type')!r} model; use OWLv2")

    with pytest.raises(InputFileError, match="is a 'sam' model; use OWLv2"):
        resolve_model("owner/model", purpose="detection", offline_alternative=ALT, check=only_owl)
    assert fake_hub.downloads == []  # config.json was read, the weights never asked for
    with pytest.raises(
        DownloadError, match=r"'owner/model' has no model_index\.json on the Hugging Face hub, so it is"
    ):
        resolve_model("owner/model", purpose="text-to-audio", offline_alternative=ALT, kind="pipeline")


def test_hub_refusals_and_failures_are_download_errors(fake_hub, monkeypatch):
    from huggingface_hub.errors import GatedRepoError

    with pytest.raises(DownloadError, match=r"^segmentation model 'owner/absent' is not available on the Hugging "):
        resolve_model("owner/absent", purpose="segmentation", offline_alternative=ALT)

    def gated(repo_id, **kwargs):
        raise GatedRepoError("403 Client Error: access restricted", response=_response())

    monkeypatch.setattr(huggingface_hub, "model_info", gated)
    with pytest.raises(DownloadError, match=r"'owner/model' is gated .* \(hf auth login\), or download it"):
        resolve_model("owner/model", purpose="segmentation", offline_alternative=ALT)

    def no_network(*args, **kwargs):
        raise ConnectionError("[Errno -2] Name or service not known")

    monkeypatch.setattr(huggingface_hub, "model_info", no_network)
    with pytest.raises(
        DownloadError,
        match=r"^segmentation model 'owner/model' could not be downloaded \(\[Errno -2\] Name or service not known\) "
        r"and is not in the local cache; download it on a connected machine \(hf download owner/model\) .* use the "
        r"offline backend$",
    ):
        resolve_model("owner/model", purpose="segmentation", offline_alternative=ALT)
    assert not weights_available("owner/model")


# ---------------------------------------------------------------- the cache and offline mode


def _cached(cache: Path, repo_id: str, files: dict[str, bytes | str]) -> Path:
    return _files(_snapshot_folder(cache, repo_id), files)


def test_cached_copy_is_used_without_the_network(hub_cache, monkeypatch):
    snapshot = _cached(hub_cache, "owner/model", {"config.json": "{}", "model.safetensors": b"w"})

    def no_network(*args, **kwargs):
        raise AssertionError("the hub was asked")

    for name in ("model_info", "hf_hub_download"):
        monkeypatch.setattr(huggingface_hub, name, no_network)
    assert resolve_model("owner/model", purpose="segmentation", offline_alternative=ALT) == str(snapshot)
    monkeypatch.setenv("SOUNDSTAGE_OFFLINE", "true")
    assert resolve_model("owner/model", purpose="segmentation", offline_alternative=ALT) == str(snapshot)
    assert weights_available("owner/model") and cached_locally("owner/model")


def test_offline_uncached_is_one_line_naming_model_purpose_and_what_to_do(hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        InputFileError,
        match=r"^text-to-audio model 'owner/big' \(about 3 GB\) is not in the local cache and offline mode is on "
        r"\(HF_HUB_OFFLINE=1\); download it on a connected machine \(hf download owner/big\) and point HF_HOME at "
        r"that cache, or use the offline backend$",
    ):
        resolve_model(
            "owner/big", purpose="text-to-audio", offline_alternative=ALT, kind="pipeline", size_hint="about 3 GB"
        )
    assert not weights_available("owner/big")


def test_incomplete_cached_copies_are_not_taken(hub_cache, monkeypatch):
    # What interrupted downloads leave: a pipeline's index without its components, a model without weights.
    index = json.dumps({"_class_name": "AudioLDM2Pipeline", "vae": ["diffusers", "AutoencoderKL"]})
    _cached(hub_cache, "owner/pipeline", {"model_index.json": index})
    _cached(hub_cache, "owner/model", {"config.json": "{}"})
    monkeypatch.setenv("SOUNDSTAGE_OFFLINE", "1")
    assert cached_snapshot("owner/pipeline", kind="pipeline") is None
    assert not cached_locally("owner/pipeline", kind="pipeline") and not cached_locally("owner/model")
    with pytest.raises(InputFileError, match="'owner/pipeline' is not in the local cache"):
        resolve_model("owner/pipeline", purpose="text-to-audio", offline_alternative=ALT, kind="pipeline")
    with pytest.raises(InputFileError, match="'owner/model' is not in the local cache"):
        resolve_model("owner/model", purpose="depth estimation", offline_alternative=ALT)
    _files(_snapshot_folder(hub_cache, "owner/pipeline"), {"vae/config.json": "{}"})
    assert cached_locally("owner/pipeline", kind="pipeline")


# ---------------------------------------------------------------- auto choices


def test_auto_fetches_an_uncached_model_when_online_and_says_so(fake_hub, hub_cache, capsys):
    folder, note = fetch_for_auto("owner/model", purpose="segmentation", fallback="the classical finder")

    assert fake_hub.calls[0] == ("model_info", "owner/model")
    assert fake_hub.downloads[0]["stderr_before"] == (
        "soundstage: downloading segmentation model 'owner/model' from the Hugging Face hub "
        f"(2 files, 502 B) into {hub_cache}\n"
    )
    assert sorted(p.name for p in Path(folder).iterdir()) == [
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
    ]
    assert note == f"segmentation model 'owner/model' downloaded from the Hugging Face hub into {hub_cache}"
    # Next time: the cached copy, the hub not asked.
    fake_hub.calls.clear()
    assert fetch_for_auto("owner/model", purpose="segmentation", fallback="x") == (
        folder,
        "segmentation model 'owner/model' from the local Hugging Face cache",
    )
    assert fake_hub.calls == []
    folder, _ = fetch_for_auto("owner/pipeline", purpose="text-to-audio", fallback="x", kind="pipeline")
    assert cached_locally("owner/pipeline", kind="pipeline") and (Path(folder) / "unet").is_dir()


@pytest.mark.parametrize("variable", ["SOUNDSTAGE_OFFLINE", "HF_HUB_OFFLINE"])
def test_auto_offline_falls_back_without_asking_the_hub(fake_hub, hub_cache, monkeypatch, variable):
    monkeypatch.setenv(variable, "on")
    assert fetch_for_auto("owner/model", purpose="segmentation", fallback="the classical finder") == (
        None,
        f"segmentation model 'owner/model' is not in the local cache and offline mode is on ({variable}=on): "
        "using the classical finder",
    )
    assert fake_hub.calls == [] and fake_hub.downloads == []
    # A cached copy is used offline too.
    snapshot = _cached(hub_cache, "owner/cached", {"config.json": "{}", "model.safetensors": b"w"})
    assert fetch_for_auto("owner/cached", purpose="segmentation", fallback="x")[0] == str(snapshot)
    assert fake_hub.calls == []


def test_auto_falls_back_when_the_download_fails_and_says_why(fake_hub, monkeypatch):
    stop = "set SOUNDSTAGE_OFFLINE=1 to stop trying"
    assert fetch_for_auto("owner/absent", purpose="segmentation", fallback="the classical finder") == (
        None,
        "segmentation model 'owner/absent' could not be downloaded (it is not available on the Hugging Face hub "
        f"(404 Client Error: Repository Not Found); check the id): using the classical finder; {stop}",
    )
    assert fetch_for_auto("owner/model", purpose="text-to-audio", fallback="nothing", kind="pipeline") == (
        None,
        "text-to-audio model 'owner/model' could not be downloaded (it has no model_index.json on the Hugging Face "
        f"hub, so it is not a diffusers pipeline): using nothing; {stop}",
    )

    def no_network(*args, **kwargs):
        raise ConnectionError("[Errno -2] Name or service not known\n(and a long traceback-like tail)")

    monkeypatch.setattr(huggingface_hub, "model_info", no_network)
    assert fetch_for_auto("owner/model", purpose="segmentation", fallback="the classical finder") == (
        None,
        f"segmentation model 'owner/model' could not be downloaded ([Errno -2] Name or service not known): "
        f"using the classical finder; {stop}",
    )
    assert fake_hub.downloads == [] and not cached_locally("owner/model")


def test_auto_against_an_unreachable_hub_falls_back_at_once(hub_cache):
    # The real huggingface_hub code, pointed by conftest at a closed local port: what a cut-off machine sees.
    folder, note = fetch_for_auto("owner/model", purpose="segmentation", fallback="the classical finder")
    assert folder is None
    assert note.startswith("segmentation model 'owner/model' could not be downloaded (")
    assert note.endswith("): using the classical finder; set SOUNDSTAGE_OFFLINE=1 to stop trying")


def test_auto_with_folders_and_bad_names(tmp_path, hub_cache):
    model = _files(tmp_path / "model", {"config.json": "{}", "model.safetensors": b"w"})
    assert fetch_for_auto(str(model), purpose="depth estimation", fallback="x") == (
        str(model.resolve()),
        f"depth estimation model {str(model)!r} from its folder",
    )
    half = _files(tmp_path / "half", {"config.json": "{}"})
    assert fetch_for_auto(str(half), purpose="depth estimation", fallback="the prior") == (
        None,
        f"depth estimation model folder {str(half)!r} holds no complete model (config.json and weights): "
        "using the prior",
    )
    assert fetch_for_auto("not a/valid/id", purpose="depth estimation", fallback="the prior") == (
        None,
        "depth estimation model 'not a/valid/id' is neither a folder nor a hub id (owner/name): using the prior",
    )
    with pytest.raises(ParameterError, match="depth estimation model must be a hub id or a folder, got ''"):
        fetch_for_auto("", purpose="depth estimation", fallback="x")
    with pytest.raises(ParameterError, match="kind must be one of 'model', 'pipeline', got 'onnx'"):
        fetch_for_auto("owner/model", purpose="depth estimation", fallback="x", kind="onnx")


# ---------------------------------------------------------------- folders


def test_local_folder_errors(tmp_path):
    model = _files(tmp_path / "model", {"config.json": "{}", "model.safetensors": b"w"})
    assert resolve_model(str(model), purpose="segmentation", offline_alternative="x") == str(model.resolve())
    assert weights_available(str(model)) and cached_locally(str(model))
    with pytest.raises(InputFileError, match=r"has no config\.json, so it is not a transformers model"):
        resolve_model(str(tmp_path), purpose="segmentation", offline_alternative="x")
    with pytest.raises(InputFileError, match=r"has no model_index\.json, so it is not a diffusers pipeline"):
        resolve_model(str(model), purpose="text-to-audio", offline_alternative="x", kind="pipeline")
    with pytest.raises(InputFileError, match=r"model_index\.json is not valid JSON"):
        resolve_model(
            str(_files(tmp_path / "p", {"model_index.json": "{no"})),
            purpose="t",
            offline_alternative="x",
            kind="pipeline",
        )
    with pytest.raises(InputFileError, match=r"'.*weights\.bin' is a file, not a model folder"):
        resolve_model(
            str(_files(tmp_path, {"weights.bin": b"0"}) / "weights.bin"), purpose="s", offline_alternative="x"
        )
    with pytest.raises(InputFileError, match="neither a folder nor a hub id"):
        resolve_model("not a/valid/id", purpose="segmentation", offline_alternative="x")
    with pytest.raises(ParameterError, match="must be a hub id or a folder"):
        resolve_model("", purpose="segmentation", offline_alternative="x")
    with pytest.raises(ParameterError, match="kind must be one of 'model', 'pipeline', got 'onnx'"):
        resolve_model(str(model), purpose="segmentation", offline_alternative="x", kind="onnx")


def test_format_size():
    assert [format_size(n) for n in (0, 999, 1000, 1_234_567, 3_000_000_000, 4_500_000_000_000)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "1.2 MB",
        "3.0 GB",
        "4500.0 GB",
    ]


def test_choose_device():
    pytest.importorskip("torch")
    import torch

    assert choose_device("cpu") == "cpu"
    assert choose_device(None) in {"cpu", "cuda"}
    with pytest.raises(ParameterError, match="device must be 'auto', 'cpu', 'cuda'"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="torch sees no CUDA GPU"):
            choose_device("cuda")


def test_a_model_is_loaded_once_per_process_until_its_folder_changes(tmp_path):
    from soundstage.hub import load_pretrained

    class Loader:
        calls = 0

        @classmethod
        def from_pretrained(cls, folder, **options):
            cls.calls += 1
            return {"weights": (Path(folder) / "w.bin").read_bytes(), "options": options}

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"first")
    first = load_pretrained(Loader, str(folder), purpose="test")
    assert load_pretrained(Loader, str(folder), purpose="test") is first and Loader.calls == 1
    assert load_pretrained(Loader, str(folder), purpose="test", revision="x") is not first  # other options
    time.sleep(0.01)
    (folder / "w.bin").write_bytes(b"second")  # written again: loaded again
    assert load_pretrained(Loader, str(folder), purpose="test")["weights"] == b"second" and Loader.calls == 3
