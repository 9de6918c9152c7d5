"""CLIP4STR behaviour: charset round trips, batch-independent decoding, and learning a few real crops."""
import random

import numpy as np
import pytest
import torch

from ocrpipe.metrics.rec import score_recognition
from ocrpipe.recognizer.clip4str.charset import CHARSET_36, CHARSET_94, CharsetAdapter, Tokenizer
from ocrpipe.recognizer.clip4str.config import PRESETS
from ocrpipe.recognizer.clip4str.model import CLIP4STR
from ocrpipe.recognizer.clip4str.psm import psm_loss
from ocrpipe.recognizer.data import load_rgb, read_labels
from ocrpipe.recognizer.predictor import Recognizer
from ocrpipe.recognizer.preprocess import crop_to_tensor


def test_tokenizer_round_trip_over_the_whole_charset():
    tokenizer = Tokenizer()
    rng = random.Random(0)
    labels = ["".join(rng.choice(CHARSET_94) for _ in range(rng.randint(1, 25))) for _ in range(50)] + [CHARSET_94[:25]]
    ids = tokenizer.encode(labels)
    assert ids[:, 0].eq(tokenizer.bos_id).all()
    one_hot = torch.nn.functional.one_hot(ids[:, 1:].clamp(max=tokenizer.num_classes - 1), tokenizer.num_classes)
    texts, confidences = tokenizer.decode(one_hot.float())
    assert texts == labels
    assert [len(c) for c in confidences] == [len(t) + 1 for t in labels]  # EOS probability included


def test_charset_adapters():
    assert CharsetAdapter(CHARSET_36)("Hello, World-42!") == "helloworld42"
    assert CharsetAdapter(CHARSET_94)("Grüße 1 2") == "Gre12"
    assert CharsetAdapter("ABC")("abcd") == "ABC"
    custom = Tokenizer("xyz")
    assert (custom.eos_id, custom.bos_id, custom.pad_id, custom.num_classes) == (0, 4, 5, 4)


def small_config():
    # patchify embedding: the tiny preset's conv stem has BatchNorm, whose running statistics lag behind a 150-step
    # overfit (the stem itself is covered by test_clip4str_checkpoint.py and the training CLI test)
    return PRESETS["clip4str-tiny"].with_(stem_channels=(), vision_width=64, vision_layers=2, vision_heads=2, embed_dim=64,
                                          text_width=64, text_layers=1, text_heads=1, text_freeze_layers=0,
                                          decoder_heads=4, dropout=0.0)


def toy_crops(shared):
    samples = read_labels(shared / "data" / "rec" / "mmocr_toy")
    return [np.asarray(load_rgb(s.path)) for s in samples], [s.text for s in samples]


def test_a_few_real_crops_are_learned_to_100_percent(shared):
    torch.manual_seed(0)
    crops, labels = toy_crops(shared)
    model = CLIP4STR(small_config()).train()
    cfg = model.cfg
    images = torch.stack([crop_to_tensor(c, cfg.image_size, cfg.mean, cfg.std) for c in crops])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    losses = []
    for _ in range(150):
        loss = psm_loss(model, images, labels, num_perms=2)
        optimizer.zero_grad()
        loss.total.backward()
        optimizer.step()
        losses.append(loss.total.item())
    assert losses[-1] < 0.1 * losses[0]
    predictions = [r.text for r in Recognizer(model).read(crops)]
    assert score_recognition(predictions, labels).accuracy_cased == 1.0, predictions


def test_batched_decoding_equals_one_crop_at_a_time(shared):
    crops, _ = toy_crops(shared)
    recognizer = Recognizer(CLIP4STR(small_config()))
    torch.manual_seed(1)
    recognizer.model.visual_decoder.head.bias.data[0] += 3.0  # random heads emit EOS early: exercise early exit
    together = recognizer.read(crops, batch_size=len(crops))
    alone = [recognizer.read([crop], batch_size=1)[0] for crop in crops]
    assert [r.text for r in together] == [r.text for r in alone]
    np.testing.assert_allclose([r.confidence for r in together], [r.confidence for r in alone], rtol=1e-4,
                               atol=1e-6)


def test_widening_the_input_stretches_only_the_image_position_embedding():
    from ocrpipe.recognizer.clip4str.model import with_image_width

    model = CLIP4STR(small_config()).eval()
    key = "clip_model.visual.positional_embedding"
    rows, columns = 4, 16  # the tiny preset's 32 x 128 input in 8 x 8 patches
    with torch.no_grad():  # rows differ, columns within a row are equal: stretching must keep that exactly
        grid = torch.arange(rows, dtype=torch.float32)[:, None, None].expand(rows, columns, 64)
        model.clip_model.visual.positional_embedding[1:] = grid.reshape(-1, 64)
    wider = with_image_width(model, 256).eval()
    assert wider.cfg.image_size == (32, 256) and model.cfg.image_size == (32, 128)
    stretched = wider.state_dict()[key]
    assert stretched.shape == (1 + rows * 32, 64)
    assert torch.equal(stretched[0], model.state_dict()[key][0])  # the class token's row
    assert torch.allclose(stretched[1:].reshape(rows, 32, 64), grid[:, :1].expand(rows, 32, 64))
    for name, value in model.state_dict().items():
        if name != key:
            assert torch.equal(value, wider.state_dict()[name]), name
    with torch.inference_mode():
        assert wider(torch.zeros(2, 3, 32, 256)).shape[0] == 2
    with pytest.raises(ValueError, match="multiple"):
        with_image_width(model, 250)
