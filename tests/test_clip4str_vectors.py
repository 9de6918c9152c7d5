"""Our CLIP4STR reproduces the official implementation's outputs (../shared/reference/clip4str_vectors)."""
import pytest
import torch
from PIL import Image

from ocrpipe.recognizer.clip4str.checkpoint import load_model
from ocrpipe.recognizer.clip4str.psm import permutation_masks, psm_loss, sample_permutations
from ocrpipe.recognizer.preprocess import crop_to_tensor

TOL = dict(atol=1e-4, rtol=1e-4)


@pytest.fixture(scope="module")
def vectors(shared):
    return shared / "reference" / "clip4str_vectors"


@pytest.fixture(scope="module")
def inputs(vectors):
    return torch.load(vectors / "inputs.pt", weights_only=True)


def _model(vectors, overrides=None):
    model = load_model(vectors / "state_dict.pt")
    if overrides:
        model.load_state_dict(overrides, strict=False)
    return model.eval()


def test_preprocessing_matches_reference(shared, inputs):
    crops = shared / "data" / "rec" / "mmocr_toy"
    for name, expected in zip(inputs["files"], inputs["images"]):
        tensor = crop_to_tensor(Image.open(crops / name), (224, 224), (0.5,) * 3, (0.5,) * 3)
        torch.testing.assert_close(tensor, expected, **TOL)


@pytest.mark.parametrize("scenario", ["outputs.pt", "outputs_early_exit.pt"])
def test_inference_matches_reference(vectors, inputs, scenario):
    expected_all = torch.load(vectors / scenario, weights_only=True)
    expected = expected_all["inference"]
    model = _model(vectors, expected_all.get("state_dict_overrides"))
    with torch.inference_mode():
        trace = model.decode(inputs["images"])
    if "image_features" in expected:
        torch.testing.assert_close(trace.image_features, expected["image_features"], **TOL)
        torch.testing.assert_close(trace.cross_memory_ar, expected["cross_memory_ar"], **TOL)
    assert trace.visual_ar_logits.shape[1] == expected["num_ar_steps"]
    torch.testing.assert_close(trace.visual_ar_logits, expected["visual_ar_logits"], **TOL)
    assert torch.equal(trace.visual_ar_context, expected["visual_ar_context"])
    assert trace.captions_ar == expected["captions_ar"]
    assert torch.equal(trace.text_ids_ar, expected["text_ids_ar"].long())
    torch.testing.assert_close(trace.cross_ar_logits, expected["cross_ar_logits"], **TOL)
    assert torch.equal(trace.cross_ar_context, expected["cross_ar_context"])

    refined = trace.refinements[0]
    assert torch.equal(refined["visual_context"], expected["visual_refine_context"])
    assert torch.equal(refined["visual_padding"], expected["visual_refine_padding_mask"])
    torch.testing.assert_close(refined["visual_logits"], expected["visual_refined_logits"], **TOL)
    assert refined["captions"] == expected["captions_refine"]
    assert torch.equal(refined["text_ids"], expected["text_ids_refine"].long())
    if "cross_memory_refine" in expected:
        torch.testing.assert_close(refined["cross_memory"], expected["cross_memory_refine"], **TOL)
    assert torch.equal(refined["cross_context"], expected["cross_refine_context"])
    assert torch.equal(refined["cross_padding"], expected["cross_refine_padding_mask"])
    from ocrpipe.recognizer.clip4str.model import cloze_mask
    assert torch.equal(cloze_mask(26, refined["visual_context"].shape[1]), expected["refine_query_mask"])

    torch.testing.assert_close(trace.logits, expected["logits"], **TOL)
    texts, char_probs = model.tokenizer.decode(trace.logits.softmax(-1))
    assert texts == expected["preds"]
    for ours, theirs in zip(char_probs, expected["char_probs"]):
        torch.testing.assert_close(ours, theirs, **TOL)
    word_conf = torch.stack([p.prod() for p in char_probs])
    torch.testing.assert_close(word_conf, expected["word_conf"], **TOL)
    assert [model.caption_adapter(t) for t in texts] == expected["preds_charset_test"]


@pytest.mark.parametrize("scenario", ["outputs.pt", "outputs_early_exit.pt"])
def test_training_step_matches_reference(vectors, inputs, scenario):
    expected_all = torch.load(vectors / scenario, weights_only=True)
    expected = expected_all["train_loss"]
    model = _model(vectors, expected_all.get("state_dict_overrides"))
    torch.manual_seed(0)  # as the reference did right before its training step
    with torch.no_grad():
        loss = psm_loss(model, inputs["images"], inputs["labels"])
    assert torch.equal(loss.perms, expected["perms"])
    torch.testing.assert_close(loss.visual, expected["visual_loss"], **TOL)
    torch.testing.assert_close(loss.cross, expected["cross_loss"], **TOL)
    torch.testing.assert_close(loss.total, expected["total_loss"], **TOL)
    assert loss.num_targets == expected["n_per_perm"].tolist()
    if "targets" in expected:
        assert torch.equal(model.tokenizer.encode(inputs["labels"]), expected["targets"])
        for perm, content, query in zip(expected["perms"], expected["content_masks"], expected["query_masks"]):
            ours_content, ours_query = permutation_masks(perm)
            assert torch.equal(ours_content, content) and torch.equal(ours_query, query)
        torch.testing.assert_close(torch.stack(loss.visual_logits), expected["visual_logits_per_perm"], **TOL)
        torch.testing.assert_close(torch.stack(loss.cross_logits), expected["cross_logits_per_perm"], **TOL)
        assert loss.captions == expected["captions_per_perm"]


def test_permutation_sampler_is_the_references(vectors):
    expected = torch.load(vectors / "outputs.pt", weights_only=True)["train_loss"]["perms"]
    torch.manual_seed(0)
    assert torch.equal(sample_permutations(7), expected)
