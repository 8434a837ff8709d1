"""CLAP audio–text similarity and diffusers text-to-audio, run through tiny random models.

No weights can be downloaded here, so every model is a tiny randomly initialised one built
from a config in this file, saved with ``save_pretrained`` to a temporary folder and loaded
back by the product's own loading code (``from_pretrained(..., local_files_only=True)``).
Tokenizers are built locally from vocabularies written here. Random weights say nothing about
audio quality; what is checked is the loading, the maths around the model (cosines, chunking,
lengths, mono, caching) and every error path.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from soundstage.audio_models import text_to_audio
from soundstage.audio_models.clap import ClapSimilarity
from soundstage.audio_models.text_to_audio import generate_audio, generate_audio_file, generation_key
from soundstage.errors import DownloadError, InputFileError, ParameterError

LETTERS = "abcdefghijklmnopqrstuvwxyz"
CLAP_RATE = 48000


# ---------------------------------------------------------------------------------------------
# Tiny models


def _roberta_tokenizer(folder: Path):
    """Byte-level BPE tokenizer (CLAP's text side) from a 58-token vocabulary written to ``folder``."""
    from transformers import RobertaTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    for token in [*LETTERS, *("Ġ" + c for c in LETTERS), "Ġ"]:  # Ġ marks a preceding space
        vocab.setdefault(token, len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"Ġ {c}\n" for c in LETTERS))
    return RobertaTokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"), model_max_length=77)


def _t5_tokenizer(max_length: int):
    """Unigram tokenizer (T5's) from an in-memory vocabulary of letters and word-initial letters."""
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(c, -3.0) for c in LETTERS] + [("▁" + c, -2.5) for c in LETTERS]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=max_length)


def _tiny_clap(tokenizer_folder: Path):
    """A random unfused CLAP model and its processor, small enough to run in milliseconds."""
    import torch
    from transformers import ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, ClapTextConfig

    torch.manual_seed(0)
    text = ClapTextConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=37,
        num_attention_heads=2,
        num_hidden_layers=2,
        max_position_embeddings=80,
        projection_dim=16,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
    )
    audio = ClapAudioConfig(
        spec_size=64,
        window_size=4,
        num_mel_bins=64,
        intermediate_size=37,
        depths=[2, 2],
        num_attention_heads=[2, 2],
        num_hidden_layers=2,
        hidden_size=192,
        projection_dim=16,
        patch_size=2,
        patch_stride=2,
        patch_embed_input_channels=1,
        enable_fusion=False,
    )
    model = ClapModel(ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=16)).eval()
    # hop 7900 keeps 10 s of 48 kHz audio within the 64 time frames of this tiny spectrogram;
    # rand_trunc is what the real unfused checkpoint uses (and crops long clips at random).
    extractor = ClapFeatureExtractor(hop_length=7900, truncation="rand_trunc")
    return model, ClapProcessor(feature_extractor=extractor, tokenizer=_roberta_tokenizer(tokenizer_folder))


@pytest.fixture(scope="module")
def clap_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clap")
    model, processor = _tiny_clap(folder / "tokenizer")
    model.save_pretrained(folder / "model")
    processor.save_pretrained(folder / "model")
    return folder / "model"


@pytest.fixture(scope="module")
def clap(clap_folder) -> ClapSimilarity:
    return ClapSimilarity(str(clap_folder), device="cpu")


def _tiny_audioldm2(tokenizer_folder: Path):
    """A random AudioLDM 2 pipeline (CLAP + T5 + GPT-2 conditioning, 16 kHz vocoder), a few MB."""
    import torch
    from diffusers import (
        AudioLDM2Pipeline,
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
    )

    clap_model, clap_processor = _tiny_clap(tokenizer_folder)
    torch.manual_seed(0)
    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=([None, 16, 32], [None, 16, 32]),
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=1,
        out_channels=1,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=8,
        layers_per_block=1,
    )
    language_model = GPT2LMHeadModel(
        GPT2Config(n_embd=16, n_head=2, n_layer=2, vocab_size=64, n_positions=99, bos_token_id=0, eos_token_id=0)
    )
    language_model.config.max_new_tokens = 8
    vocoder = SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=8,
            sampling_rate=16000,
            upsample_initial_channel=16,
            upsample_rates=[2, 2],
            upsample_kernel_sizes=[4, 4],
            resblock_kernel_sizes=[3, 7],
            resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]],
            normalize_before=False,
        )
    )
    return AudioLDM2Pipeline(
        vae=vae,
        text_encoder=clap_model,
        text_encoder_2=T5EncoderModel(T5Config(vocab_size=64, d_model=32, d_ff=37, d_kv=8, num_heads=2, num_layers=2)),
        projection_model=AudioLDM2ProjectionModel(text_encoder_dim=16, text_encoder_1_dim=32, langauge_model_dim=16),
        language_model=language_model,
        tokenizer=clap_processor.tokenizer,
        tokenizer_2=_t5_tokenizer(77),
        feature_extractor=clap_processor.feature_extractor,
        unet=unet,
        scheduler=DDIMScheduler(beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False),
        vocoder=vocoder,
    )


def _tiny_stable_audio():
    """A random Stable Audio pipeline: stereo at 1 kHz, at most 16 latents × hop 8 = 0.128 s."""
    import torch
    from diffusers import (
        AutoencoderOobleck,
        EDMDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    transformer = StableAudioDiTModel(
        sample_size=16,
        in_channels=3,
        num_layers=2,
        attention_head_dim=4,
        num_key_value_attention_heads=2,
        out_channels=3,
        cross_attention_dim=4,
        time_proj_dim=8,
        global_states_input_dim=8,
        cross_attention_input_dim=4,
    )
    vae = AutoencoderOobleck(
        encoder_hidden_size=6,
        downsampling_ratios=[2, 4],
        decoder_channels=3,
        decoder_input_channels=3,
        audio_channels=2,
        channel_multiples=[2, 4],
        sampling_rate=1000,
    )
    text_encoder = T5EncoderModel(T5Config(vocab_size=64, d_model=32, d_ff=37, d_kv=8, num_heads=2, num_layers=2))
    return StableAudioPipeline(
        vae=vae,
        text_encoder=text_encoder,
        projection_model=StableAudioProjectionModel(text_encoder_dim=32, conditioning_dim=4, min_value=0, max_value=32),
        tokenizer=_t5_tokenizer(25),
        transformer=transformer,
        scheduler=EDMDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0),
    )


@pytest.fixture(scope="module")
def audioldm2_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("audioldm2")
    _tiny_audioldm2(folder / "tokenizer").save_pretrained(folder / "pipeline")
    return folder / "pipeline"


@pytest.fixture(scope="module")
def stable_audio_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stable_audio") / "pipeline"
    _tiny_stable_audio().save_pretrained(folder)
    return folder


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """An empty Hugging Face cache and offline mode on, whatever this machine has cached."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty_hf_cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def unreachable_hub(monkeypatch, tmp_path):
    """An empty cache, offline mode *not* set, and a hub that cannot be reached (as on a cut-off machine)."""
    import huggingface_hub
    from huggingface_hub import constants

    def no_network(*args, **kwargs):
        raise ConnectionError("[Errno -2] Name or service not known")

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty_hf_cache"))
    for name in ("HF_HUB_OFFLINE", "SOUNDSTAGE_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("model_info", "hf_hub_download", "snapshot_download"):
        monkeypatch.setattr(huggingface_hub, name, no_network)


def _write(path: Path, audio: np.ndarray, rate: int = CLAP_RATE) -> str:
    soundfile.write(path, audio, rate, subtype="FLOAT")
    return str(path)


# ---------------------------------------------------------------------------------------------
# CLAP


def test_clap_matrix_is_cosine_of_the_models_own_embeddings(clap, clap_folder, tmp_path):
    import torch
    from transformers import ClapModel, ClapProcessor

    rng = np.random.default_rng(1)
    noise = _write(tmp_path / "noise.wav", 0.1 * rng.standard_normal(3 * CLAP_RATE))
    t = np.arange(2 * CLAP_RATE) / CLAP_RATE
    tone = _write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * t))
    labels = ["dog", "car engine", "rain"]

    similarity = clap([noise, tone, noise], labels)

    assert similarity.shape == (3, 3)
    assert np.all(np.isfinite(similarity))
    assert np.all(np.abs(similarity) <= 1.0)
    np.testing.assert_array_equal(similarity[0], similarity[2])  # same file, same row
    assert not np.allclose(similarity[0], similarity[1])  # different sounds are told apart
    # Reference: ClapModel.forward's logits are the cosine times exp(logit_scale_a).
    model = ClapModel.from_pretrained(clap_folder, local_files_only=True).eval()
    processor = ClapProcessor.from_pretrained(clap_folder, local_files_only=True)
    waves = [soundfile.read(path, dtype="float32")[0] for path in (noise, tone)]
    audio_inputs = processor.feature_extractor(waves, sampling_rate=CLAP_RATE, return_tensors="pt")
    texts = [f"the sound of {label}" for label in labels]
    text_inputs = processor.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        output = model(**text_inputs, **audio_inputs)
    expected = (output.logits_per_audio / model.logit_scale_a.exp()).detach().double().numpy()
    np.testing.assert_allclose(similarity[:2], expected, atol=1e-5)


def test_clap_long_sound_is_the_mean_of_its_ten_second_chunks(clap, tmp_path):
    # 20 s splits into two equal 10-s chunks: exactly the two halves written alone.
    rng = np.random.default_rng(2)
    first, second = 0.1 * rng.standard_normal((2, 10 * CLAP_RATE))
    long_path = _write(tmp_path / "long.wav", np.concatenate([first, second]))
    first_path = _write(tmp_path / "first.wav", first)
    second_path = _write(tmp_path / "second.wav", second)

    whole = clap.embed_audio(long_path)
    halves = clap.embed_audio(first_path) + clap.embed_audio(second_path)

    np.testing.assert_allclose(whole, halves / np.linalg.norm(halves), atol=1e-6)
    # No random crop anywhere: asking again gives the very same row.
    np.testing.assert_array_equal(clap([long_path], ["rain"]), clap([long_path], ["rain"]))


def test_clap_stereo_file_is_averaged_to_mono(clap, tmp_path):
    rng = np.random.default_rng(3)
    mono = 0.1 * rng.standard_normal(CLAP_RATE)
    mono_path = _write(tmp_path / "mono.wav", mono)
    stereo_path = _write(tmp_path / "stereo.wav", np.stack([mono, mono], axis=1))
    np.testing.assert_allclose(clap([stereo_path], ["dog"]), clap([mono_path], ["dog"]), atol=1e-6)


def test_clap_assigns_unlabelled_sounds_to_labelled_regions(clap, tmp_path):
    from itertools import permutations

    from soundstage.vision.assign import assign_sounds
    from soundstage.vision.stages import Region

    rng = np.random.default_rng(4)
    paths = [_write(tmp_path / f"s{i}.wav", 0.1 * rng.standard_normal(CLAP_RATE // 2)) for i in range(3)]
    labels = ["dog", "car", "bird", "rain"]
    regions = [Region(np.ones((4, 4), bool), (0, 0, 4, 4), label, 0.5, "test") for label in labels]

    assignments = assign_sounds([(None, path) for path in paths], regions, similarity=clap)

    chosen = [labels.index(a.region.label) for a in assignments]
    assert len(set(chosen)) == 3 and all("similarity" in a.reason for a in assignments)
    # Hungarian: no other one-to-one choice of labels scores higher in total.
    similarity = clap(paths, labels)
    best = max(sum(similarity[i, p[i]] for i in range(3)) for p in permutations(range(4), 3))
    assert sum(similarity[i, chosen[i]] for i in range(3)) == pytest.approx(best)


def test_auto_clap_is_downloaded_when_online_and_matches(clap_folder, tmp_path, monkeypatch, capsys):
    """The pipeline's auto CLAP: not cached, offline mode off → fetched from the (fake) hub, announced, used."""
    from soundstage.audio_models.clap import DEFAULT_MODEL
    from soundstage.vision.pipeline import _clap_if_useful
    from soundstage.vision.stages import Region
    from test_hub import empty_cache_online, install_fake_hub

    cache = empty_cache_online(monkeypatch, tmp_path / "hf_cache")
    hub = install_fake_hub(monkeypatch, cache, {DEFAULT_MODEL: clap_folder}, capsys)
    path = _write(tmp_path / "a.wav", 0.1 * np.random.default_rng(5).standard_normal(CLAP_RATE // 2))
    regions = [Region(np.ones((4, 4), bool), (0, 0, 4, 4), label, 0.5, "test") for label in ("dog", "car")]

    similarity, lines = _clap_if_useful([(None, path)], regions)

    assert [d["repo_id"] for d in hub.downloads] == [DEFAULT_MODEL]
    assert (
        "soundstage: downloading CLAP audio–text matching model 'laion/clap-htsat-unfused' from the Hugging Face hub ("
        in (hub.downloads[0]["stderr_before"])
    )
    assert lines == [
        f"CLAP audio–text matching model {DEFAULT_MODEL!r} downloaded from the Hugging Face hub into {cache}",
        f"unlabelled sounds matched to labels by CLAP ({DEFAULT_MODEL})",
    ]
    # The tiny model the tests built, now loaded from the cache: the same matrix as loaded from its folder.
    np.testing.assert_allclose(
        similarity([path], ["dog", "car"]),
        ClapSimilarity(str(clap_folder), device="cpu")([path], ["dog", "car"]),
        atol=1e-5,
    )


def test_clap_input_errors(clap, tmp_path):
    path = _write(tmp_path / "a.wav", np.zeros(CLAP_RATE // 10))
    with pytest.raises(ParameterError, match="audio_paths: give at least one"):
        clap([], ["dog"])
    with pytest.raises(ParameterError, match="labels: give at least one"):
        clap([path], [])
    with pytest.raises(ParameterError, match=r"labels\[1\]: '  ' is empty"):
        clap([path], ["dog", "  "])
    with pytest.raises(InputFileError, match=r"missing\.wav: file does not exist"):
        clap([str(tmp_path / "missing.wav")], ["dog"])


def test_clap_model_errors(clap_folder, tmp_path, offline_hub):
    with pytest.raises(ParameterError, match=r"text_template: .* must contain '\{label\}'"):
        ClapSimilarity(str(clap_folder), text_template="sound of")
    with pytest.raises(InputFileError, match=r"model './no/such/clap' is neither a folder nor a hub id"):
        ClapSimilarity("./no/such/clap")
    with pytest.raises(InputFileError, match=r"has no config\.json, so it is not a transformers model"):
        ClapSimilarity(str(tmp_path))
    with pytest.raises(
        InputFileError,
        match=r"^CLAP audio–text matching model 'laion/clap-htsat-unfused' is not in the local cache and offline "
        r"mode is on .*\(hf download laion/clap-htsat-unfused\).* --source LABEL=FILE$",
    ):
        ClapSimilarity()


# ---------------------------------------------------------------------------------------------
# Text-to-audio


@pytest.fixture
def counted_loader(monkeypatch):
    """Wrap the pipeline loader so tests can see how often the model was actually loaded."""
    calls: list[str] = []
    original = text_to_audio.load_text_to_audio_pipeline

    def counting(model, **kwargs):
        calls.append(model)
        return original(model, **kwargs)

    monkeypatch.setattr(text_to_audio, "load_text_to_audio_pipeline", counting)
    return calls


def test_audioldm2_generates_mono_of_the_requested_length_and_caches_it(audioldm2_folder, tmp_path, counted_loader):
    options = {"model": str(audioldm2_folder), "duration_s": 0.032, "num_inference_steps": 2, "cache_dir": tmp_path}

    audio, rate = generate_audio("a dog barking", seed=7, **options, device="cpu")

    assert rate == 16000  # the vocoder's rate
    assert audio.dtype == np.float32 and audio.shape == (round(0.032 * 16000),)
    assert np.all(np.isfinite(audio)) and np.any(audio != 0)
    key = generation_key(
        "a dog barking", model=str(audioldm2_folder.resolve()), duration_s=0.032, seed=7, num_inference_steps=2
    )
    assert (tmp_path / f"{key}.wav").is_file()
    description = json.loads((tmp_path / f"{key}.json").read_text())
    assert description["pipeline"] == "AudioLDM2Pipeline" and description["prompt"] == "a dog barking"
    assert counted_loader == [str(audioldm2_folder)]

    again, again_rate = generate_audio("a dog barking", seed=7, **options)
    assert counted_loader == [str(audioldm2_folder)]  # served from the cache, model not loaded
    np.testing.assert_array_equal(again, audio)
    assert again_rate == rate

    other_seed, _ = generate_audio("a dog barking", seed=8, **options)
    assert len(counted_loader) == 2  # a new key: generated afresh
    assert not np.array_equal(other_seed, audio)
    assert len(list(tmp_path.glob("*.wav"))) == 2


def test_same_request_regenerates_identically_without_the_cache(audioldm2_folder, tmp_path):
    options = {"model": str(audioldm2_folder), "duration_s": 0.016, "num_inference_steps": 2, "seed": 3}
    first, _ = generate_audio("rain on a roof", cache_dir=tmp_path / "one", **options)
    second, _ = generate_audio("rain on a roof", cache_dir=tmp_path / "two", **options)
    np.testing.assert_array_equal(first, second)


def test_stable_audio_generates_mono_at_the_vae_rate(stable_audio_folder, tmp_path):
    path = generate_audio_file(
        "a car horn", model=str(stable_audio_folder), duration_s=0.1, num_inference_steps=2, cache_dir=tmp_path
    )
    assert path.parent == tmp_path and path.suffix == ".wav"
    stereo_model_output, rate = soundfile.read(path, dtype="float32", always_2d=True)
    assert rate == 1000 and stereo_model_output.shape == (100, 1)  # stored mono
    assert np.all(np.isfinite(stereo_model_output))
    with pytest.raises(ParameterError, match=r"duration_s: 0.2 s is longer than .* can generate \(0.13 s\)"):
        generate_audio("a car horn", model=str(stable_audio_folder), duration_s=0.2, cache_dir=tmp_path)


def test_generation_key_changes_with_every_field():
    base = {"model": "cvssp/audioldm2", "duration_s": 10.0, "seed": 0, "num_inference_steps": 200}
    key = generation_key("rain", **base)
    assert len(key) == 64 and int(key, 16) >= 0
    assert generation_key("rain", **{**base, "duration_s": 10}) == key  # 10 and 10.0 are one duration
    variants = [
        generation_key("wind", **base),
        generation_key("rain", **{**base, "model": "stabilityai/stable-audio-open-1.0"}),
        generation_key("rain", **{**base, "duration_s": 5.0}),
        generation_key("rain", **{**base, "seed": 1}),
        generation_key("rain", **{**base, "num_inference_steps": 100}),
    ]
    assert len({key, *variants}) == 6


def test_cache_folder_follows_soundstage_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path / "cache"))
    assert text_to_audio.generated_audio_dir() == tmp_path / "cache" / "generated"
    monkeypatch.delenv("SOUNDSTAGE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert text_to_audio.generated_audio_dir() == tmp_path / "home" / ".cache" / "soundstage" / "generated"
    assert text_to_audio.generated_audio_dir(tmp_path / "mine") == tmp_path / "mine"


def test_offline_without_weights_names_them_and_writes_nothing(offline_hub, tmp_path):
    with pytest.raises(
        InputFileError,
        match=r"^text-to-audio model 'cvssp/audioldm2' \(about 3 GB\) is not in the local cache and offline mode is "
        r"on \(HF_HUB_OFFLINE=1\); download it on a connected machine \(hf download cvssp/audioldm2\) and point "
        r"HF_HOME at that cache, or give each region a sound with --source LABEL=FILE$",
    ):
        generate_audio("a dog barking", cache_dir=tmp_path / "generated")
    assert not (tmp_path / "generated").exists()  # no placeholder audio


def test_unreachable_hub_is_a_failed_download(unreachable_hub, tmp_path):
    with pytest.raises(
        DownloadError,
        match=r"^text-to-audio model 'stabilityai/stable-audio-open-1\.0' could not be downloaded \(\[Errno -2\] .*\) "
        r"and is not in the local cache; download it on a connected machine .* --source LABEL=FILE$",
    ):
        generate_audio("rain", model="stabilityai/stable-audio-open-1.0", cache_dir=tmp_path)
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


def test_hub_refusals_are_download_errors(monkeypatch, tmp_path, unreachable_hub):
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    response = SimpleNamespace(headers={}, request=None)

    def gated(*args, **kwargs):
        raise GatedRepoError("403 Client Error: access restricted", response=response)

    def missing(*args, **kwargs):
        raise RepositoryNotFoundError("404 Client Error: repository not found", response=response)

    monkeypatch.setattr(huggingface_hub, "model_info", gated)
    with pytest.raises(
        DownloadError, match=r"'stabilityai/stable-audio-open-1\.0' is gated on the Hugging Face hub: accept its"
    ):
        generate_audio("rain", model="stabilityai/stable-audio-open-1.0", cache_dir=tmp_path)
    monkeypatch.setattr(huggingface_hub, "model_info", missing)
    with pytest.raises(DownloadError, match=r"'someone/no-such-model' is not available on .*\(404 Client Error"):
        generate_audio("rain", model="someone/no-such-model", cache_dir=tmp_path)


def test_generation_parameter_errors(audioldm2_folder, tmp_path):
    model = str(audioldm2_folder)
    with pytest.raises(ParameterError, match="prompt: give a non-empty description"):
        generate_audio("  ", model=model, cache_dir=tmp_path)
    with pytest.raises(ParameterError, match="duration_s: 0 must be positive"):
        generate_audio("rain", model=model, duration_s=0, cache_dir=tmp_path)
    with pytest.raises(ParameterError, match="duration_s: nan is not a finite number"):
        generate_audio("rain", model=model, duration_s=float("nan"), cache_dir=tmp_path)
    with pytest.raises(ParameterError, match="seed: -1 must be a non-negative integer"):
        generate_audio("rain", model=model, seed=-1, cache_dir=tmp_path)
    with pytest.raises(ParameterError, match="seed: True must be a non-negative integer"):
        generate_audio("rain", model=model, seed=True, cache_dir=tmp_path)
    with pytest.raises(ParameterError, match="num_inference_steps: 0 must be a positive integer"):
        generate_audio("rain", model=model, num_inference_steps=0, cache_dir=tmp_path)
    with pytest.raises(ParameterError, match="model: give a hub id such as 'cvssp/audioldm2'"):
        generate_audio("rain", model="", cache_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_generation_model_folder_errors(tmp_path):
    with pytest.raises(InputFileError, match="model '/no/such/pipeline' is neither a folder nor a hub id"):
        generate_audio("rain", model="/no/such/pipeline", cache_dir=tmp_path / "out")
    not_a_pipeline = tmp_path / "empty"
    not_a_pipeline.mkdir()
    with pytest.raises(InputFileError, match=r"has no model_index\.json, so it is not a diffusers pipeline"):
        generate_audio("rain", model=str(not_a_pipeline), cache_dir=tmp_path / "out")
    image_model = tmp_path / "image_model"
    image_model.mkdir()
    (image_model / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ParameterError, match="is a StableDiffusionPipeline; use an AudioLDM 2 or Stable Audio model"):
        generate_audio("rain", model=str(image_model), cache_dir=tmp_path / "out")
    (image_model / "model_index.json").write_text("{not json")
    with pytest.raises(InputFileError, match=r"model_index\.json is not valid JSON"):
        generate_audio("rain", model=str(image_model), cache_dir=tmp_path / "out")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text(json.dumps({"_class_name": "AudioLDM2Pipeline", "vae": ["x", "y"]}))
    loading = r"broken' could not be loaded by DiffusionPipeline .*check that it is a complete download"
    with pytest.raises(InputFileError, match=loading):
        generate_audio("rain", model=str(broken), cache_dir=tmp_path / "out")
    a_file = tmp_path / "weights.bin"
    a_file.write_bytes(b"\0")
    with pytest.raises(InputFileError, match=r"weights\.bin' is a file, not a model folder; give the folder"):
        generate_audio("rain", model=str(a_file), cache_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cached_snapshot_with_only_model_index_is_not_taken_for_a_download(offline_hub, tmp_path):
    # What an interrupted download leaves: the index fetched, no component folders yet.
    from huggingface_hub import constants

    snapshot = Path(constants.HF_HUB_CACHE) / "models--cvssp--audioldm2" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "model_index.json").write_text(json.dumps({"_class_name": "AudioLDM2Pipeline", "vae": ["d", "V"]}))
    refs = snapshot.parents[1] / "refs"
    refs.mkdir()
    (refs / "main").write_text("0" * 40)
    with pytest.raises(InputFileError, match=r"'cvssp/audioldm2' \(about 3 GB\) is not in the local cache"):
        generate_audio("rain", cache_dir=tmp_path / "out")
