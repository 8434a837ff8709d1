"""Tests of the model backends: transformers depth, open-vocabulary detection + SAM, SAM automatic masks.

No weights can be downloaded here, so every model is a tiny randomly initialised one built from a
config in this file, written with ``save_pretrained`` to a temporary folder and loaded back through
the product's own loading code (``local_files_only=True``); processors and tokenizers are built
locally too (a letters-only CLIP BPE vocabulary for OWLv2, a word-piece vocabulary for Grounding
DINO). Random weights mean the content of the outputs is arbitrary, so the tests check what must
hold for any weights: the stated depth rules against the model's raw output, shapes, label
handling, thresholds, masks inside boxes, ranking and deduplication rules on hand-made masks, and
the one-line errors for missing models (finding and fetching models is tested in test_hub.py).
"""

from __future__ import annotations

import json
import math
import string
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from soundstage.errors import InputFileError, ParameterError
from soundstage.hub import weights_available
from soundstage.offline import is_offline
from soundstage.vision.depth.transformers_depth import (
    FOCAL_INVERSE,
    METRIC,
    RELATIVE_INVERSE,
    TransformersDepth,
    focal_inverse_to_metres,
    output_kind,
    relative_to_metres,
)
from soundstage.vision.models import load_sam
from soundstage.vision.regions.detection import DetectionRegions, box_iou, box_masks, grounding_prompt
from soundstage.vision.regions.sam_auto import (
    SamAutoRegions,
    border_factor,
    mask_nms,
    size_factor,
    sounding_scores,
)
from soundstage.vision.stages import LoadedImage

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

HEIGHT, WIDTH = 40, 60


def synthetic_image(seed: int = 0) -> LoadedImage:
    """A 60×40 picture: smooth colour ramps plus a red block, with red ≠ blue everywhere (to tell RGB from BGR)."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgb = np.stack([u / WIDTH, v / HEIGHT, 0.2 + 0.1 * rng.random((HEIGHT, WIDTH))], axis=-1)
    rgb[10:25, 20:40] = [0.9, 0.1, 0.1]
    return LoadedImage(rgb=rgb.astype(np.float32), path="synthetic.png", original_size=(WIDTH, HEIGHT))


def _pil(rgb: np.ndarray):
    from PIL import Image

    return Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8))


def _bilinear(prediction, height: int, width: int) -> np.ndarray:
    tensor = prediction.reshape(1, 1, *prediction.shape[-2:]).float()
    return torch.nn.functional.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)[
        0, 0
    ].numpy()


# ---------------------------------------------------------------- tiny models, built once per module


def _depth_anything(folder: Path, head_bias: float, **config_options) -> Path:
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, DPTImageProcessor

    torch.manual_seed(0)
    backbone = dict(
        model_type="dinov2",
        hidden_size=16,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=32,
        image_size=28,
        patch_size=14,
        out_features=["stage1", "stage2", "stage3", "stage4"],
        reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        reassemble_hidden_size=16,
        reassemble_factors=[4, 2, 1, 0.5],
        neck_hidden_sizes=[8, 8, 16, 16],
        fusion_hidden_size=16,
        head_hidden_size=8,
        **config_options,
    )
    model = DepthAnythingForDepthEstimation(config)
    with torch.no_grad():
        # The default init leaves the head's output nearly constant (~0 after the ReLU); wider weights
        # and an offset give a positive map varying by ~20 %, which is what the conversion rules need.
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.2)
        model.head.conv3.bias.fill_(head_bias)
    model.save_pretrained(folder)
    DPTImageProcessor(
        size={"height": 28, "width": 28}, keep_aspect_ratio=True, ensure_multiple_of=14, do_pad=False
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def relative_depth_folder(tmp_path_factory) -> Path:
    return _depth_anything(tmp_path_factory.mktemp("da_relative"), head_bias=100.0)


@pytest.fixture(scope="module")
def metric_depth_folder(tmp_path_factory) -> Path:
    return _depth_anything(
        tmp_path_factory.mktemp("da_metric"), head_bias=0.0, depth_estimation_type="metric", max_depth=20
    )


@pytest.fixture(scope="module")
def depth_pro_folder(tmp_path_factory) -> Path:
    from transformers import DepthProConfig, DepthProForDepthEstimation

    folder = tmp_path_factory.mktemp("depth_pro")
    torch.manual_seed(0)
    dinov2 = dict(
        model_type="dinov2",
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        patch_size=8,
        image_size=32,
    )
    config = DepthProConfig(
        patch_size=32,
        fusion_hidden_size=16,
        intermediate_hook_ids=[1, 0],
        intermediate_feature_dims=[8, 8],
        scaled_images_ratios=[0.5, 1],
        scaled_images_overlap_ratios=[0.0, 0.25],
        scaled_images_feature_dims=[16, 8],
        image_model_config=dict(dinov2),
        patch_model_config=dict(dinov2),
        fov_model_config=dict(dinov2),
        use_fov_model=True,
    )
    DepthProForDepthEstimation(config).save_pretrained(folder)
    # DepthProImageProcessor needs torchvision to be built, so its file is written as the hub has it.
    processor = {
        "image_processor_type": "DepthProImageProcessor",
        "do_resize": True,
        "size": {"height": 64, "width": 64},
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(processor))
    return folder


@pytest.fixture(scope="module")
def owl_folder(tmp_path_factory) -> Path:
    from transformers import CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor, Owlv2Processor

    folder = tmp_path_factory.mktemp("owlv2")
    # A letters-and-digits byte-level BPE vocabulary with no merges: every word is spelled letter by letter.
    symbols = list(string.ascii_lowercase + string.digits)
    vocab = {token: i for i, token in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    torch.manual_seed(0)
    text = dict(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=16,
        bos_token_id=vocab["<|startoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
    )
    vision = dict(
        image_size=32, patch_size=8, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2
    )
    model = Owlv2ForObjectDetection(Owlv2Config(text_config=text, vision_config=vision, projection_dim=16))
    with torch.no_grad():
        # Untrained box heads predict zero-size boxes; with the last layer zeroed every patch proposes its own
        # grid cell (OWL's box bias), as a trained model's boxes sit around their patches.
        model.box_head.dense2.weight.zero_()
        model.box_head.dense2.bias.zero_()
    model.save_pretrained(folder)
    image_processor = Owlv2ImageProcessor(size={"height": 32, "width": 32})
    Owlv2Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def grounding_dino_folder(tmp_path_factory) -> Path:
    from transformers import (
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
    )

    folder = tmp_path_factory.mktemp("grounding_dino")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "cat", "dog", "red", "car"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    torch.manual_seed(0)
    config = GroundingDinoConfig(
        backbone_config=dict(
            model_type="swin",
            image_size=32,
            patch_size=4,
            embed_dim=8,
            depths=[1, 1, 1, 1],
            num_heads=[1, 1, 1, 1],
            window_size=2,
            out_features=["stage2", "stage3", "stage4"],
        ),
        text_config=dict(
            model_type="bert",
            vocab_size=len(words),
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=32,
        ),
        num_queries=10,
        encoder_layers=1,
        decoder_layers=2,
        encoder_ffn_dim=16,
        decoder_ffn_dim=16,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        d_model=32,
        num_feature_levels=3,
        max_text_len=32,
        encoder_n_points=1,
        decoder_n_points=1,
    )
    GroundingDinoForObjectDetection(config).save_pretrained(folder)
    GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessor(size={"shortest_edge": 32, "longest_edge": 48}),
        tokenizer=BertTokenizer(str(folder / "vocab.txt")),
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def sam_folder(tmp_path_factory) -> Path:
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor

    folder = tmp_path_factory.mktemp("sam")
    torch.manual_seed(0)
    config = SamConfig(
        vision_config=dict(
            hidden_size=16,
            output_channels=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=64,
            patch_size=8,
            window_size=4,
            global_attn_indexes=[1],
            mlp_dim=32,
            num_pos_feats=8,
        ),
        prompt_encoder_config=dict(hidden_size=16, image_size=64, patch_size=8, mask_input_channels=4),
        mask_decoder_config=dict(
            hidden_size=16, mlp_dim=32, num_hidden_layers=2, num_attention_heads=2, iou_head_hidden_dim=16
        ),
    )
    SamModel(config).save_pretrained(folder)
    SamProcessor(
        image_processor=SamImageProcessor(
            size={"longest_edge": 64},
            pad_size={"height": 64, "width": 64},
            mask_size={"longest_edge": 16},
            mask_pad_size={"height": 16, "width": 16},
        )
    ).save_pretrained(folder)
    return folder


# ---------------------------------------------------------------- depth


def _reference_depth_anything(folder: Path, rgb: np.ndarray) -> np.ndarray:
    """The model's own predicted_depth for ``rgb``, bilinearly resized to the image (computed here, not by the
    backend)."""
    from transformers import AutoImageProcessor, AutoModelForDepthEstimation

    model = AutoModelForDepthEstimation.from_pretrained(folder, local_files_only=True).eval()
    processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    with torch.no_grad():
        predicted = model(**processor(images=_pil(rgb), return_tensors="pt")).predicted_depth
    return _bilinear(predicted, rgb.shape[0], rgb.shape[1]).astype(np.float64)


def test_relative_depth_anything_median_is_scene_depth(relative_depth_folder):
    image = synthetic_image()
    depth = TransformersDepth(model=str(relative_depth_folder), scene_depth_m=2.5, device="cpu").estimate(
        image, horizontal_fov_deg=60.0
    )
    assert depth.z_m.shape == (HEIGHT, WIDTH)
    assert np.all(np.isfinite(depth.z_m))
    assert depth.metric is False
    assert np.median(depth.z_m) == pytest.approx(2.5, rel=1e-5)
    assert any("relative depth scaled so the median is 2.5 m (--scene-depth)" in note for note in depth.notes)
    # The rule z = s · median(d) / d, applied here to the model's raw relative inverse depth.
    d = _reference_depth_anything(relative_depth_folder, image.rgb)
    assert np.ptp(d) > 0.01 * np.median(d)  # the check below would be vacuous on a constant map
    np.testing.assert_allclose(depth.z_m, 2.5 * np.median(d) / d, rtol=1e-4)
    # The image goes in as RGB: feeding BGR gives a different prediction.
    bgr = _reference_depth_anything(relative_depth_folder, image.rgb[..., ::-1])
    assert not np.allclose(depth.z_m, 2.5 * np.median(bgr) / bgr, rtol=1e-3)


def test_relative_depth_default_scene_depth_is_3_m(relative_depth_folder):
    depth = TransformersDepth(model=str(relative_depth_folder)).estimate(synthetic_image(), horizontal_fov_deg=60.0)
    assert np.median(depth.z_m) == pytest.approx(3.0, rel=1e-5)
    assert any("median is 3.0 m (--scene-depth)" in note for note in depth.notes)


def test_metric_depth_anything_is_metres_as_predicted(metric_depth_folder):
    image = synthetic_image()
    depth = TransformersDepth(model=str(metric_depth_folder), scene_depth_m=2.5).estimate(
        image, horizontal_fov_deg=60.0
    )
    assert depth.metric is True
    assert depth.z_m.shape == (HEIGHT, WIDTH)
    # Metric Depth Anything's head is sigmoid × max_depth: metres in (0, 20].
    assert np.all((depth.z_m > 0) & (depth.z_m <= 20.0))
    assert np.ptp(depth.z_m) > 1.0
    np.testing.assert_allclose(depth.z_m, _reference_depth_anything(metric_depth_folder, image.rgb), rtol=1e-4)
    assert any("ignored: the model is metric" in note for note in depth.notes)


def test_depth_pro_is_metric_through_the_focal_length(depth_pro_folder):
    image = synthetic_image()
    narrow = TransformersDepth(model=str(depth_pro_folder)).estimate(image, horizontal_fov_deg=40.0)
    wide = TransformersDepth(model=str(depth_pro_folder)).estimate(image, horizontal_fov_deg=90.0)
    assert narrow.metric is True and narrow.z_m.shape == (HEIGHT, WIDTH)
    finite = np.isfinite(narrow.z_m) & np.isfinite(wide.z_m)
    assert finite.mean() > 0.5
    # z = f_px / (W · inverse) with f_px = W / (2 tan(fov/2)): depth scales with 1 / tan(fov/2).
    ratio = math.tan(math.radians(45.0)) / math.tan(math.radians(20.0))
    np.testing.assert_allclose(narrow.z_m[finite] / wide.z_m[finite], ratio, rtol=1e-5)
    assert any("field of view" in note for note in narrow.notes)


def test_conversion_rules_on_known_values():
    # Inverse depth 1, 2, 4 with median 2 → depths 2s, s, s/2; non-positive → unknown.
    z = relative_to_metres(np.array([[1.0, 2.0, 4.0, 0.0, -1.0]]), 3.0)
    np.testing.assert_allclose(z[0, :3], [6.0, 3.0, 1.5])
    assert np.all(np.isnan(z[0, 3:]))
    # 90° field of view: f_px = W / 2, so z = 1 / (2 · inverse).
    np.testing.assert_allclose(focal_inverse_to_metres(np.array([[0.25, 1.0]]), 90.0), [[2.0, 0.5]], rtol=1e-6)


def test_output_kind_from_config():
    relative = SimpleNamespace(model_type="depth_anything", depth_estimation_type="relative")
    metric = SimpleNamespace(model_type="depth_anything", depth_estimation_type="metric")
    assert output_kind(relative) == RELATIVE_INVERSE
    assert output_kind(metric) == METRIC
    assert output_kind(SimpleNamespace(model_type="depth_pro")) == FOCAL_INVERSE
    with pytest.raises(ParameterError, match="'zoedepth' is not supported"):
        output_kind(SimpleNamespace(model_type="zoedepth"))


def test_depth_bad_parameters(relative_depth_folder):
    with pytest.raises(ParameterError, match=r"scene_depth_m .* positive"):
        TransformersDepth(scene_depth_m=-1.0)
    with pytest.raises(ParameterError, match=r"scene_depth_m .* positive"):
        TransformersDepth(scene_depth_m="far")
    with pytest.raises(ParameterError, match=r"horizontal_fov_deg must be in \(0, 180\)"):
        TransformersDepth(model=str(relative_depth_folder)).estimate(synthetic_image(), horizontal_fov_deg=180.0)
    with pytest.raises(InputFileError, match="no positive inverse depth"):
        relative_to_metres(np.zeros((2, 2)), 3.0)


# ---------------------------------------------------------------- finding models, offline (more in test_hub.py)


def test_offline_uncached_hub_id_is_one_line_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert is_offline()
    missing = r"'soundstage-tests/no-such-depth-model' is not in the local cache.*--depth geometric"
    with pytest.raises(InputFileError, match=missing):
        TransformersDepth(model="soundstage-tests/no-such-depth-model").estimate(
            synthetic_image(), horizontal_fov_deg=60.0
        )
    with pytest.raises(InputFileError, match=r"detection model 'soundstage-tests/no-such-owl'.*--regions classical"):
        DetectionRegions(detector="soundstage-tests/no-such-owl", device="cpu").find(
            synthetic_image(), labels=["cat"], max_regions=1
        )
    assert not weights_available("soundstage-tests/no-such-owl")


def test_a_folder_of_the_wrong_kind_of_model_is_refused_by_name(sam_folder, owl_folder):
    with pytest.raises(InputFileError, match="is a 'sam' model; use OWLv2"):
        DetectionRegions(detector=str(sam_folder), segmenter=None).find(
            synthetic_image(), labels=["cat"], max_regions=1
        )
    with pytest.raises(InputFileError, match="is a 'owlv2' model, not SAM; give a SAM model"):
        load_sam(str(owl_folder), device="cpu")


# ---------------------------------------------------------------- detection + SAM


def _owl_reference_scores(folder: Path, image: LoadedImage, queries: list[str]) -> np.ndarray:
    """Per query, the largest sigmoid score over boxes that keep at least a pixel inside the image."""
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    model = AutoModelForZeroShotObjectDetection.from_pretrained(folder, local_files_only=True).eval()
    processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
    with torch.no_grad():
        out = model(**processor(text=[queries], images=_pil(image.rgb), return_tensors="pt"))
    probability = torch.sigmoid(out.logits[0].double()).numpy()
    cx, cy, w, h = out.pred_boxes[0].double().numpy().T
    side = max(image.width, image.height)  # OWLv2 boxes are fractions of the padded square
    u0, u1 = np.clip((cx - w / 2) * side, 0, image.width), np.clip((cx + w / 2) * side, 0, image.width)
    v0, v1 = np.clip((cy - h / 2) * side, 0, image.height), np.clip((cy + h / 2) * side, 0, image.height)
    inside = (u1 - u0 >= 1) & (v1 - v0 >= 1)
    return np.where(inside[:, None], probability, 0.0).max(axis=0)


def _assert_mask_inside_box(region) -> None:
    v, u = np.nonzero(region.mask)
    u0, v0, u1, v1 = region.box
    assert len(u) > 0
    assert np.all((u + 0.5 >= u0) & (u + 0.5 <= u1) & (v + 0.5 >= v0) & (v + 0.5 <= v1))


def test_owlv2_with_sam_end_to_end(owl_folder, sam_folder):
    image = synthetic_image()
    backend = DetectionRegions(detector=str(owl_folder), segmenter=str(sam_folder), threshold=0.0, device="cpu")
    regions = backend.find(image, labels=["cat", "dog"], max_regions=5)
    assert sorted(r.label for r in regions) == ["cat", "dog"]
    assert [r.score for r in regions] == sorted((r.score for r in regions), reverse=True)
    reference = dict(zip(["cat", "dog"], _owl_reference_scores(owl_folder, image, ["cat", "dog"]), strict=True))
    for region in regions:
        assert region.mask.shape == (HEIGHT, WIDTH) and region.mask.dtype == bool
        assert 0.0 <= region.score <= 1.0
        assert region.score == pytest.approx(reference[region.label], rel=1e-5)  # the best box of its label
        assert region.backend == "detect"
        _assert_mask_inside_box(region)
    assert any("refined to masks with SAM" in note for note in backend.last_notes)


def test_detection_threshold_max_regions_and_repeats(owl_folder):
    image = synthetic_image()
    strict = DetectionRegions(detector=str(owl_folder), segmenter=None, threshold=1.0)
    assert strict.find(image, labels=["cat"], max_regions=3) == []
    assert any("'cat' not found" in note for note in strict.last_notes)

    loose = DetectionRegions(detector=str(owl_folder), segmenter=None, threshold=0.0)
    both = loose.find(image, labels=["cat", "dog"], max_regions=2)
    one = loose.find(image, labels=["cat", "dog"], max_regions=1)
    assert len(one) == 1 and one[0].score == max(r.score for r in both)
    # With the box head zeroed, OWLv2's boxes are its patch grid: 4 × 4 cells of a quarter of the padded
    # 60 × 60 square, centred on the cells' far corners (15, 30, 45, 60 px), clipped to the 60 × 40 image.
    for region in both:
        u0, v0, u1, v1 = region.box
        assert min(abs(u0 - c) for c in (7.5, 22.5, 37.5, 52.5)) < 0.01
        assert min(abs(v0 - c) for c in (7.5, 22.5, 37.5)) < 0.01
        assert u1 == pytest.approx(min(u0 + 15.0, WIDTH), abs=0.01)
        assert v1 == pytest.approx(min(v0 + 15.0, HEIGHT), abs=0.01)
    # Without a segmenter the mask is exactly the box's pixels.
    np.testing.assert_array_equal(one[0].mask, box_masks(np.array([one[0].box]), HEIGHT, WIDTH)[0])
    # Two sounds labelled "cat" ask for two distinct cats.
    cats = loose.find(image, labels=["cat", "cat"], max_regions=4)
    assert [r.label for r in cats] == ["cat", "cat"]
    assert box_iou(np.array(cats[0].box), np.array([cats[1].box]))[0] <= 0.5


def test_detection_bad_input(owl_folder):
    backend = DetectionRegions(detector=str(owl_folder), segmenter=None)
    with pytest.raises(ParameterError, match="finds named things: give labels"):
        backend.find(synthetic_image(), labels=None, max_regions=2)
    with pytest.raises(ParameterError, match="labels must be non-empty text"):
        backend.find(synthetic_image(), labels=["  "], max_regions=2)
    with pytest.raises(ParameterError, match="max_regions must be a positive integer"):
        backend.find(synthetic_image(), labels=["cat"], max_regions=0)
    with pytest.raises(ParameterError, match=r"threshold must be a number in \[0, 1\]"):
        DetectionRegions(threshold=1.5)


def test_grounding_dino_with_sam_end_to_end(grounding_dino_folder, sam_folder):
    image = synthetic_image()
    backend = DetectionRegions(detector=str(grounding_dino_folder), segmenter=str(sam_folder), threshold=0.0)
    regions = backend.find(image, labels=["Cat", "red car"], max_regions=5)
    assert sorted(r.label for r in regions) == ["Cat", "red car"]
    for region in regions:
        assert region.mask.shape == (HEIGHT, WIDTH)
        assert 0.0 <= region.score <= 1.0
        _assert_mask_inside_box(region)
    assert grounding_prompt(["Cat", "red car."]) == ("cat. red car.", [(0, 3), (5, 12)])


# ---------------------------------------------------------------- SAM automatic masks


def test_sam_automatic_masks_end_to_end(sam_folder):
    image = synthetic_image()
    backend = SamAutoRegions(
        segmenter=str(sam_folder), points_per_side=4, points_per_batch=5, min_predicted_iou=0.0, min_stability=0.0
    )
    regions = backend.find(image, labels=["guitar"], max_regions=3)
    assert 1 <= len(regions) <= 3
    assert [r.score for r in regions] == sorted((r.score for r in regions), reverse=True)
    for region in regions:
        assert region.mask.shape == (HEIGHT, WIDTH) and region.mask.any()
        assert region.label is None and 0.0 <= region.score <= 1.0
        _assert_mask_inside_box(region)
    for i, a in enumerate(regions):
        for b in regions[i + 1 :]:
            assert np.sum(a.mask & b.mask) / np.sum(a.mask | b.mask) < 0.95  # no duplicates
    assert any("does not recognise labels" in note for note in backend.last_notes)
    # SAM's own quality filter (predicted IoU ≥ 0.88) rejects every mask of an untrained model.
    assert SamAutoRegions(segmenter=str(sam_folder), points_per_side=4).find(image, labels=None, max_regions=3) == []


def test_sam_bad_parameters():
    with pytest.raises(ParameterError, match="points_per_side must be a positive integer"):
        SamAutoRegions(points_per_side=0)
    with pytest.raises(ParameterError, match=r"nms_iou must be a number in \[0, 1\]"):
        SamAutoRegions(nms_iou=2.0)


def _scene() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A 100×100 grey picture with a blue sky band on top and red objects; masks over it by name."""
    rgb = np.full((100, 100, 3), 0.5)
    rgb[:20] = [0.2, 0.4, 1.0]  # sky: 20 % of the image, along the top edge
    rgb[40:50, 10:30] = [1.0, 0.0, 0.0]  # small object: 2 % of the image
    rgb[35:75, 40:95] = [1.0, 0.0, 0.0]  # bigger object: 22 %
    masks = {}
    for name, rows, cols in (
        ("small", slice(40, 50), slice(10, 30)),
        ("big", slice(35, 75), slice(40, 95)),
        ("sky", slice(0, 20), slice(0, 100)),
        ("background", slice(80, 95), slice(10, 30)),  # grey on grey
    ):
        mask = np.zeros((100, 100), bool)
        mask[rows, cols] = True
        masks[name] = mask
    return rgb, masks


def test_ranking_prefers_distinct_objects_over_sky_and_background():
    rgb, masks = _scene()
    names = list(masks)
    scores = dict(zip(names, sounding_scores(np.array([masks[n] for n in names]), rgb), strict=True))
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert scores["small"] > scores["sky"] and scores["big"] > scores["sky"]
    assert scores["background"] == pytest.approx(0.0, abs=1e-9)  # no contrast with its surroundings
    # Not area: an object of 2 % and one of 22 %, equally distinct, score the same.
    assert scores["small"] == pytest.approx(scores["big"], rel=1e-9)
    # The sky covers the top row (100) and 19 more pixels down each side: 138 of the 396 border pixels.
    assert border_factor(masks["sky"][None])[0] == pytest.approx((1 - 138 / 396) ** 2)


def test_masks_over_35_percent_are_penalised():
    rgb = np.full((100, 100, 3), 0.5)
    rgb[10:90, 10:90] = [1.0, 0.0, 0.0]  # 64 %, inside the frame
    rgb[40:60, 40:60] = [1.0, 0.0, 0.0]
    large = np.zeros((100, 100), bool)
    large[10:90, 10:90] = True
    rgb_small = np.full((100, 100, 3), 0.5)
    rgb_small[30:70, 30:70] = [1.0, 0.0, 0.0]  # 16 %, same colours
    small = np.zeros((100, 100), bool)
    small[30:70, 30:70] = True
    score_large = sounding_scores(large[None], rgb)[0]
    score_small = sounding_scores(small[None], rgb_small)[0]
    # Same contrast and no border contact: the ratio is the size rule's ((1 − 0.64) / 0.65)².
    assert score_large / score_small == pytest.approx(((1 - 0.64) / 0.65) ** 2, rel=1e-9)
    np.testing.assert_allclose(size_factor(np.array([0.2, 0.35, 0.5, 1.0])), [1.0, 1.0, (0.5 / 0.65) ** 2, 0.0])
    # SAM's predicted IoU multiplies the score.
    assert sounding_scores(small[None], rgb_small, np.array([0.5]))[0] == pytest.approx(score_small / 2)
    with pytest.raises(ParameterError, match="must match"):
        sounding_scores(small[None], rgb_small[:50])


def test_mask_nms_merges_duplicates_and_keeps_distinct():
    masks = np.zeros((4, 20, 20), bool)
    masks[0, 2:10, 2:10] = True
    masks[1, 2:10, 2:11] = True  # mask 0 plus one column: IoU 64/72
    masks[2, 12:18, 12:18] = True
    masks[3, 2:10, 2:6] = True  # half of mask 0: IoU 0.5
    kept = mask_nms(masks, np.array([0.6, 0.9, 0.5, 0.4]), 0.7)
    assert kept == [1, 2, 3]  # 0 is a duplicate of the better-scored 1; 3 overlaps only by 0.5
    assert mask_nms(masks, np.array([0.6, 0.9, 0.5, 0.4]), 0.95) == [1, 0, 2, 3]


def test_the_pipeline_takes_the_field_of_view_depth_pro_estimates(depth_pro_folder, tmp_path):
    """With no --fov and no EXIF focal length, the camera follows the depth model's own estimate."""
    import soundfile
    from PIL import Image
    from transformers import DepthProForDepthEstimation

    # An untrained FOV head says ~0°; make it say 50° (its last layer's weights 0, bias 50) for any picture.
    model = DepthProForDepthEstimation.from_pretrained(depth_pro_folder)
    with torch.no_grad():
        model.fov_model.head.layers[4].weight.zero_()
        model.fov_model.head.layers[4].bias.fill_(50.0)
    model.save_pretrained(tmp_path / "model")
    processor = (depth_pro_folder / "preprocessor_config.json").read_text()
    (tmp_path / "model" / "preprocessor_config.json").write_text(processor)

    from soundstage.vision.image import load_image
    from soundstage.vision.pipeline import ImageJob, image_to_scene

    rgb = synthetic_image().rgb
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(tmp_path / "picture.png")
    soundfile.write(tmp_path / "a.wav", np.zeros(1600, dtype=np.float32), 16000)
    job = ImageJob(
        image=tmp_path / "picture.png",
        sounds=[("thing", tmp_path / "a.wav")],
        regions=[("thing", (20.0, 10.0, 40.0, 25.0))],
        depth="transformers",
        depth_model=str(tmp_path / "model"),
        room="none",
    )
    result = image_to_scene(job, sample_rate=16000)
    estimated = result.depth.estimated_horizontal_fov_deg
    assert estimated == pytest.approx(50.0, rel=1e-5)
    assert result.camera.horizontal_fov_deg == pytest.approx(estimated)
    # The same depth as the backend gives when told that field of view (z scales with 1 / tan(fov / 2)).
    direct = TransformersDepth(model=str(tmp_path / "model")).estimate(
        load_image(tmp_path / "picture.png"), horizontal_fov_deg=estimated
    )
    finite = np.isfinite(direct.z_m)
    np.testing.assert_allclose(result.depth.z_m[finite], direct.z_m[finite], rtol=1e-4)


# ---------------------------------------------------------------- auto: fetch when online, fall back offline


def _picture_and_sounds(folder: Path) -> tuple[Path, Path, Path]:
    import soundfile
    from PIL import Image

    Image.fromarray(np.round(synthetic_image().rgb * 255).astype(np.uint8)).save(folder / "picture.png")
    rng = np.random.default_rng(0)
    for name in ("a.wav", "b.wav"):
        soundfile.write(folder / name, (0.1 * rng.standard_normal(1600)).astype(np.float32), 16000)
    return folder / "picture.png", folder / "a.wav", folder / "b.wav"


def test_auto_depth_downloads_the_default_model_when_online(relative_depth_folder, tmp_path, monkeypatch, capsys):
    from soundstage.vision.depth.transformers_depth import DEFAULT_DEPTH_MODEL
    from soundstage.vision.pipeline import ImageJob, image_to_scene
    from test_hub import empty_cache_online, install_fake_hub

    cache = empty_cache_online(monkeypatch, tmp_path / "hf_cache")
    hub = install_fake_hub(monkeypatch, cache, {DEFAULT_DEPTH_MODEL: relative_depth_folder}, capsys)
    picture, a, _ = _picture_and_sounds(tmp_path)
    job = ImageJob(image=picture, sounds=[("thing", a)], regions=[("thing", (20.0, 10.0, 40.0, 25.0))], room="none")
    result = image_to_scene(job, sample_rate=16000)

    assert ("model_info", DEFAULT_DEPTH_MODEL) in hub.calls
    [download] = hub.downloads
    assert (
        f"soundstage: downloading depth estimation model {DEFAULT_DEPTH_MODEL!r} from the Hugging Face hub ("
        in download["stderr_before"]
    )
    assert result.depth.backend == "transformers"
    assert result.depth.notes[:2] == (
        f"depth estimation model {DEFAULT_DEPTH_MODEL!r} downloaded from the Hugging Face hub into {cache}",
        f"transformers depth model {DEFAULT_DEPTH_MODEL!r} (relative inverse depth) on cpu",
    )
    assert "depth: transformers" in result.report.explain()
    assert not any("geometric prior" in warning for warning in result.report.warnings)


def test_auto_detection_downloads_detector_and_sam_when_online(owl_folder, sam_folder, tmp_path, monkeypatch, capsys):
    from soundstage.vision.pipeline import ImageJob, _detect_if_available
    from soundstage.vision.regions import REGION_BACKENDS
    from soundstage.vision.regions.detection import DEFAULT_DETECTOR, DEFAULT_SEGMENTER
    from test_hub import empty_cache_online, install_fake_hub

    cache = empty_cache_online(monkeypatch, tmp_path / "hf_cache")
    hub = install_fake_hub(monkeypatch, cache, {DEFAULT_DETECTOR: owl_folder, DEFAULT_SEGMENTER: sam_folder}, capsys)
    job = ImageJob(image=tmp_path / "unused.png", sounds=[("cat", None)])
    name, lines, options = _detect_if_available(job)

    assert (name, options) == ("detect", {"detector": DEFAULT_DETECTOR, "segmenter": DEFAULT_SEGMENTER})
    assert [d["repo_id"] for d in hub.downloads] == [DEFAULT_DETECTOR, DEFAULT_SEGMENTER]
    assert (
        lines[0]
        == f"open-vocabulary detection model {DEFAULT_DETECTOR!r} downloaded from the Hugging Face hub into {cache}"
    )
    assert lines[2] == f"open-vocabulary detection with {DEFAULT_DETECTOR}"
    # The downloaded tiny models are what the backend then loads (from the cache, without the hub).
    hub.calls.clear()
    backend = REGION_BACKENDS.create(name, device="cpu", **options)
    backend.find(synthetic_image(), labels=["cat"], max_regions=1)
    assert hub.calls == [] and backend._detector is not None

    # SAM missing on the hub: detection still, with the boxes as masks, and a note saying why.
    second_cache = empty_cache_online(monkeypatch, tmp_path / "hf_cache2")
    install_fake_hub(monkeypatch, second_cache, {DEFAULT_DETECTOR: owl_folder}, capsys)
    name, lines, options = _detect_if_available(job)
    assert (name, options["segmenter"]) == ("detect", None)
    assert lines[1].startswith(f"segmentation (SAM) model {DEFAULT_SEGMENTER!r} could not be downloaded (it is not")
    assert lines[1].endswith("using the detector's boxes as masks; set SOUNDSTAGE_OFFLINE=1 to stop trying")


@pytest.mark.parametrize("how", ["offline", "unreachable"])
def test_auto_falls_back_everywhere_and_says_why(how, tmp_path, monkeypatch, capsys):
    """Depth, detection and CLAP all chosen by ``auto``: offline, no hub call; unreachable, one failed try each."""
    import huggingface_hub

    from soundstage.audio_models.clap import DEFAULT_MODEL as DEFAULT_CLAP_MODEL
    from soundstage.vision.depth.transformers_depth import DEFAULT_DEPTH_MODEL
    from soundstage.vision.pipeline import ImageJob, image_to_scene
    from soundstage.vision.regions.detection import DEFAULT_DETECTOR
    from test_hub import empty_cache_online

    empty_cache_online(monkeypatch, tmp_path / "hf_cache")
    asked: list[str] = []

    def no_network(repo_id, *args, **kwargs):
        asked.append(repo_id)
        raise ConnectionError("[Errno -2] Name or service not known")

    for name in ("model_info", "hf_hub_download"):  # snapshot_download stays real: it only looks in the cache
        monkeypatch.setattr(huggingface_hub, name, no_network)
    if how == "offline":
        monkeypatch.setenv("SOUNDSTAGE_OFFLINE", "1")
    picture, a, b = _picture_and_sounds(tmp_path)
    # "dog" must be found (detect, auto); the unlabelled sound could go to the labelled "car" region (CLAP, auto).
    job = ImageJob(
        image=picture, sounds=[("dog", a), (None, b)], regions=[("car", (20.0, 10.0, 40.0, 25.0))], room="none"
    )
    result = image_to_scene(job, sample_rate=16000)
    lines = {stage.stage: stage.lines for stage in result.report.stages}

    assert result.depth.backend == "geometric"
    assert result.report.stages[3].backend == "user + classical"
    if how == "offline":
        assert asked == []
        why = "is not in the local cache and offline mode is on (SOUNDSTAGE_OFFLINE=1)"
        tail = ""
    else:
        assert asked == [DEFAULT_DEPTH_MODEL, DEFAULT_DETECTOR, DEFAULT_CLAP_MODEL]
        why = "could not be downloaded ([Errno -2] Name or service not known)"
        tail = "; set SOUNDSTAGE_OFFLINE=1 to stop trying"
    assert (
        lines["depth"][0]
        == f"depth estimation model {DEFAULT_DEPTH_MODEL!r} {why}: using the offline geometric prior{tail}"
    )
    assert (
        f"open-vocabulary detection model {DEFAULT_DETECTOR!r} {why}: using the classical finder{tail}"
        in lines["regions"]
    )
    assert lines["assignment"][0] == (
        f"CLAP audio–text matching model {DEFAULT_CLAP_MODEL!r} {why}: using rank order for unlabelled sounds{tail}"
    )
    assert "downloading" not in capsys.readouterr().err
