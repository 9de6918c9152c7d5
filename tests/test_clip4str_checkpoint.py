"""Recognizer weights files: the official CLIP4STR layouts, plain CLIP weights, our own format, and refusals.

The official B/16 and L/14 layouts are checked against the key/shape listings in ../shared/reference
(clip4str_b16_state_dict.tsv, clip4str_l14_state_dict.tsv). Real official files are ~633 MB / ~1.8 GB, so the
end-to-end loader test writes a B/16-shaped file with random values instead.
"""
import argparse
import hashlib
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from ocrpipe.recognizer.clip4str.charset import CHARSET_36
from ocrpipe.recognizer.clip4str.checkpoint import (CheckpointError, load_model, model_from_clip_weights, read_file,
                                            save_model)
from ocrpipe.recognizer.clip4str.config import PRESETS
from ocrpipe.recognizer.clip4str.model import CLIP4STR
from ocrpipe.recognizer.data import load_rgb, read_labels
from ocrpipe.recognizer.preprocess import crop_to_tensor

# What a PyTorch Lightning 1.9 `.ckpt` holds besides the weights (hyper-parameters kept to plain values).
LIGHTNING_EXTRAS = {
    "epoch": 3, "global_step": 10, "pytorch-lightning_version": "1.9.5",
    "hyper_parameters": {"charset_train": PRESETS["clip4str-base"].charset, "max_label_length": 25,
                         "img_size": [224, 224], "lr": 8.4e-05, "decode_ar": True, "refine_iters": 1},
}


def lightning_ckpt(state_dict):
    return {"state_dict": state_dict, **LIGHTNING_EXTRAS}


def released_pt(state_dict):
    return {"state_dict": state_dict}


def read_tsv(path):
    """(key -> shape, total parameter count from the header) of a reference state_dict listing."""
    shapes, total = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            if match := re.search(r"Total parameters: (\d+)", line):
                total = int(match.group(1))
            continue
        key, shape = line.split("\t")
        shapes[key] = tuple(int(n) for n in shape.split(",") if n)  # logit_scale is a scalar: empty shape
    return shapes, total


@pytest.fixture(scope="module")
def reference(shared):
    return shared / "reference"


@pytest.fixture(scope="module")
def word_crop(shared):
    """A real word crop (RGB uint8), the first one of IIIT5K train."""
    sample = read_labels(shared / "data" / "rec" / "iiit5k_train")[0]
    return np.asarray(load_rgb(sample.path))


def model_input(model, crop):
    cfg = model.cfg
    return crop_to_tensor(crop, cfg.image_size, cfg.mean, cfg.std)[None]


# --- the official layouts ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset, listing, expected_total", [
    ("clip4str-base", "clip4str_b16_state_dict.tsv", 158_256_319),
    ("clip4str-large", "clip4str_l14_state_dict.tsv", 446_861_247),
])
def test_presets_have_the_official_state_dict_layout(reference, preset, listing, expected_total):
    shapes, total = read_tsv(reference / listing)
    assert total == expected_total
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = CLIP4STR(PRESETS[preset])
    assert sum(p.numel() for p in model.parameters()) == expected_total
    state_dict = model.state_dict()
    assert sorted(state_dict) == sorted(shapes)
    assert {key: tuple(value.shape) for key, value in state_dict.items()} == shapes
    assert sum(value.numel() for value in state_dict.values()) == expected_total  # no buffers are saved


@pytest.fixture(scope="module")
def b16_state_dict(reference):
    """Random fp32 values under the exact names and shapes of the official B/16 checkpoint (~633 MB)."""
    shapes, _ = read_tsv(reference / "clip4str_b16_state_dict.tsv")
    generator = torch.Generator().manual_seed(0)
    return {key: torch.randn(shape, generator=generator) * 0.02 for key, shape in shapes.items()}


@pytest.mark.parametrize("container", [lightning_ckpt, released_pt])
def test_official_b16_checkpoint_loads_whatever_its_name(tmp_path, b16_state_dict, word_crop, container):
    path = tmp_path / "weird_name.bin"  # the reference loader needs "clip4str" in the name; we must not
    torch.save(container(b16_state_dict), path)
    model = load_model(path)
    path.unlink()

    assert model.cfg == PRESETS["clip4str-base"]  # every dimension inferred from the tensor shapes
    loaded = model.state_dict()
    assert loaded.keys() == b16_state_dict.keys()
    assert all(torch.equal(loaded[key], value) for key, value in b16_state_dict.items())
    with torch.inference_mode():
        logits = model(model_input(model, word_crop))
    assert logits.shape == (1, 26, 95)
    assert torch.isfinite(logits).all()


# --- the small model of the reference test vectors, in every container ---------------------------------------------
@pytest.fixture(scope="module")
def vectors(reference):
    directory = reference / "clip4str_vectors"
    return dict(
        state_dict=torch.load(directory / "state_dict.pt", weights_only=True)["state_dict"],
        images=torch.load(directory / "inputs.pt", weights_only=True)["images"],
        logits=torch.load(directory / "outputs.pt", weights_only=True)["inference"]["logits"],
    )


def bare(state_dict):
    return state_dict


@pytest.mark.parametrize("container, legacy", [
    (lightning_ckpt, False),
    (bare, False),
    (released_pt, True),  # torch's pre-1.6 serialisation: a pickle stream rather than a zip
])
def test_small_official_model_in_every_container(tmp_path, vectors, container, legacy):
    path = tmp_path / "weights"
    torch.save(container(vectors["state_dict"]), path, _use_new_zipfile_serialization=not legacy)
    model = load_model(path)

    cfg = model.cfg
    assert (cfg.vision_width, cfg.vision_layers, cfg.vision_heads, cfg.patch_size) == (128, 2, 2, (16, 16))
    assert (cfg.text_width, cfg.text_layers, cfg.text_heads, cfg.embed_dim) == (64, 2, 1, 64)
    assert model.state_dict().keys() == vectors["state_dict"].keys()
    with torch.inference_mode():
        logits = model(vectors["images"])
    torch.testing.assert_close(logits, vectors["logits"], atol=1e-4, rtol=1e-4)  # the official code's output


# --- refusals ------------------------------------------------------------------------------------------------------
class CustomHyperParameters:
    """Stands for a class a training script pickled into its checkpoint."""

    def __init__(self):
        self.lr = 1e-4


@pytest.mark.parametrize("hyper_parameters", [argparse.Namespace(lr=1e-4), CustomHyperParameters()],
                         ids=["namespace", "custom-class"])
def test_pickled_objects_need_trust(tmp_path, vectors, hyper_parameters):
    path = tmp_path / "trained.ckpt"
    torch.save({"state_dict": vectors["state_dict"], "hyper_parameters": hyper_parameters}, path)
    with pytest.raises(CheckpointError, match="trust") as error:
        load_model(path)
    assert str(path) in str(error.value)
    model = load_model(path, trust=True)
    assert model.state_dict().keys() == vectors["state_dict"].keys()


def write_text(path):
    path.write_text("these are not weights\n")


def write_empty(path):
    path.write_bytes(b"")


def write_lfs_pointer(path):  # what a clone without Git LFS leaves in place of the weights
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0123abcd\nsize 633000000\n")


def write_foreign_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "a zip, but not a torch archive")


def write_unrelated_tensors(path):
    torch.save({"encoder.weight": torch.ones(4, 4), "encoder.bias": torch.zeros(4)}, path)


def write_tensor_list(path):
    torch.save([torch.ones(2)], path)


@pytest.mark.parametrize("write", [write_text, write_empty, write_lfs_pointer, write_foreign_zip,
                                   write_unrelated_tensors, write_tensor_list])
@pytest.mark.parametrize("trust", [False, True])
def test_non_weights_files_are_refused_with_their_name(tmp_path, write, trust):
    path = tmp_path / "model.pt"
    write(path)
    with pytest.raises(CheckpointError) as error:
        load_model(path, trust=trust)
    assert str(path) in str(error.value)
    assert "trust" not in str(error.value)  # none of these is a matter of trust


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nowhere.pt")


SMALL_CLIP = PRESETS["clip4str-base"].with_(
    image_size=(32, 32), vision_width=64, vision_layers=1, vision_heads=1,
    embed_dim=64, text_width=64, text_layers=1, text_heads=1)  # heads = width // 64, as inferred from files


def test_plain_clip_weights_start_training_but_do_not_recognize(tmp_path):
    torch.manual_seed(0)
    source = CLIP4STR(SMALL_CLIP)
    clip_weights = source.clip_model.state_dict()  # OpenAI layout: visual.*, transformer.*, token_embedding...
    path = tmp_path / "ViT-S-16.pt"
    torch.save(clip_weights, path)

    with pytest.raises(CheckpointError, match="training") as error:
        load_model(path)
    assert str(path) in str(error.value)

    model = model_from_clip_weights(path)
    assert model.cfg == SMALL_CLIP
    towers = model.clip_model.state_dict()
    assert towers.keys() == clip_weights.keys()
    assert all(torch.equal(towers[key], value) for key, value in clip_weights.items())
    for name in ("visual_decoder", "cross_decoder"):  # freshly initialised, not taken from anywhere
        decoder = getattr(model, name)
        for norm in (m for m in decoder.modules() if isinstance(m, torch.nn.LayerNorm)):
            assert torch.equal(norm.weight, torch.ones_like(norm.weight))
            assert torch.equal(norm.bias, torch.zeros_like(norm.bias))
        assert torch.equal(decoder.head.bias, torch.zeros_like(decoder.head.bias))
        assert abs(decoder.head.weight.std().item() - 0.02) < 0.002  # trunc-normal, std 0.02
        assert not torch.equal(decoder.head.weight, getattr(source, name).head.weight)

    # A training config keeps its own non-tower settings; the tower dimensions always come from the file.
    model = model_from_clip_weights(path, cfg=PRESETS["clip4str-base"].with_(charset=CHARSET_36,
                                                                             max_label_length=12))
    assert (model.cfg.charset, model.cfg.max_label_length) == (CHARSET_36, 12)
    assert (model.cfg.vision_width, model.cfg.text_width, model.cfg.embed_dim) == (64, 64, 64)


# --- our format ----------------------------------------------------------------------------------------------------
TINY = PRESETS["clip4str-tiny"].with_(charset=CHARSET_36, vision_layers=2, text_layers=2, max_label_length=12)


def test_our_format_round_trip(tmp_path, word_crop):
    torch.manual_seed(0)
    model = CLIP4STR(TINY).eval()
    path = tmp_path / "ocrpipe.recognizer.pt"
    sha256 = save_model(model, path, meta={"epoch": 7, "note": "test"})

    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    stored = read_file(path)
    assert stored["meta"] == {"epoch": 7, "note": "test"}
    assert all(v.dtype == torch.float16 for v in stored["state_dict"].values() if v.is_floating_point())

    loaded = load_model(path)
    assert loaded.cfg == TINY  # the config, charset included, travels in the file
    assert loaded.tokenizer.charset == CHARSET_36
    assert loaded.visual_decoder.head.out_features == len(CHARSET_36) + 1
    original = model.state_dict()
    for key, value in loaded.state_dict().items():  # fp16 storage: within half-precision rounding
        torch.testing.assert_close(value, original[key], rtol=1e-3, atol=1e-6)

    # Same weights -> same outputs: compare with the original once its weights are rounded to fp16 as well,
    # so no near-tied argmax can flip between the two.
    model.load_state_dict({key: value.half().float() for key, value in original.items()})
    images = model_input(model, word_crop)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(images), model(images), atol=0, rtol=0)
        torch.testing.assert_close(loaded.decode_nar(images), model.decode_nar(images), atol=0, rtol=0)


def test_our_format_can_keep_fp32(tmp_path):
    torch.manual_seed(0)
    model = CLIP4STR(TINY)
    path = tmp_path / "ocrpipe.recognizer.pt"
    save_model(model, path, half=False)
    loaded = load_model(path).state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in model.state_dict().items())


def test_convolutional_stem_keeps_the_token_grid_and_travels_in_our_format(tmp_path, word_crop):
    torch.manual_seed(0)
    cfg = TINY.with_(stem_channels=(8, 16, 32))  # three stride-2 layers: 8x8 patches, as TINY's patchify conv
    model = CLIP4STR(cfg).eval()
    images = model_input(model, word_crop)
    assert model.encode_image(images).shape == CLIP4STR(TINY).encode_image(images).shape
    path = tmp_path / "stem.pt"
    save_model(model, path, half=False)
    loaded = load_model(path)
    assert loaded.cfg.stem_channels == (8, 16, 32)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(images), model(images), atol=0, rtol=0)
    with pytest.raises(ValueError, match="4-pixel patches"):
        CLIP4STR(TINY.with_(stem_channels=(16, 32)))


def test_ocrpipe_read_runs_on_an_official_b16_file(tmp_path, b16_state_dict, shared):
    path = tmp_path / "downloaded.pt"
    torch.save(released_pt(b16_state_dict), path)
    crop = read_labels(shared / "data" / "rec" / "iiit5k_train")[0].path
    result = subprocess.run([sys.executable, "-m", "ocrpipe", "read", "--rec-model", str(path), str(crop)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    path_column, text, confidence = result.stdout.rstrip("\n").split("\t")
    assert path_column == str(crop) and 0.0 <= float(confidence) <= 1.0


def test_a_tensor_of_the_wrong_shape_is_one_line_naming_the_file(tmp_path):
    """Found by `benchmarks/fuzz.py weights`: a damaged shape header in the shipped recognizer raised torch's
    multi-line RuntimeError."""
    path = tmp_path / "damaged.pt"
    save_model(CLIP4STR(SMALL_CLIP), path)
    payload = torch.load(path, weights_only=True)
    key = next(k for k in payload["state_dict"] if k.endswith("out_proj.bias"))
    payload["state_dict"][key] = payload["state_dict"][key][:-9]
    torch.save(payload, path)
    with pytest.raises(CheckpointError) as error:
        load_model(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message and key in message
