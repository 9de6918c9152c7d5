"""Permutation sampling and attention masks, checked against hand-worked cases."""
import torch

from ocrpipe.recognizer.clip4str.psm import permutation_masks, sample_permutations

NEG = float("-inf")


def test_single_character_uses_only_the_canonical_order():
    assert sample_permutations(1).tolist() == [[0, 1, 2]]


def test_two_characters_canonical_then_eos_first():
    assert sample_permutations(2).tolist() == [[0, 1, 2, 3], [0, 3, 2, 1]]


def test_mirrored_pairs_and_fixed_ends():
    for n in (3, 4, 5, 9):
        perms = sample_permutations(n, generator=torch.Generator().manual_seed(n))
        assert len(perms) == 6
        assert perms[:, 0].eq(0).all()
        assert perms[[0, 2, 3, 4, 5], -1].eq(n + 1).all()  # EOS last, but for the EOS-first reverse
        assert perms[0].tolist() == list(range(n + 2))
        assert perms[1].tolist() == [0] + list(range(n + 1, 0, -1))  # EOS right after BOS
        for fwd, rev in ((perms[2], perms[3]), (perms[4], perms[5])):
            assert rev[1:-1].tolist() == fwd[1:-1].flip(0).tolist()
        for perm in perms:
            assert sorted(perm.tolist()) == list(range(n + 2))


def test_small_pools_do_not_repeat_an_order():
    perms = sample_permutations(3, generator=torch.Generator().manual_seed(0))
    bases = [tuple(p[1:-1].tolist()) for p in perms[::2]]
    assert len(set(bases)) == 3  # 3!/2 = 3 base orders, all used


def test_canonical_masks_are_causal():
    content, query = permutation_masks(torch.tensor([0, 1, 2, 3]))
    causal = torch.tensor([[0, NEG, NEG], [0, 0, NEG], [0, 0, 0]])
    assert torch.equal(content, causal)
    assert torch.equal(query, causal)  # query r (target r+1) sees context 0..r


def test_reverse_masks_by_hand():
    # order: BOS, EOS, char 2, char 1
    content, query = permutation_masks(torch.tensor([0, 3, 2, 1]))
    assert torch.equal(content, torch.tensor([[0, NEG, NEG],
                                              [0, 0, 0],
                                              [0, NEG, 0]]))
    assert torch.equal(query, torch.tensor([[0, NEG, 0],      # char 1 sees BOS and char 2, not itself
                                            [0, NEG, NEG],    # char 2 sees BOS only
                                            [0, NEG, NEG]]))  # EOS sees BOS only


def test_arbitrary_order_by_hand():
    # n = 3, order BOS, c2, c3, c1, EOS
    content, query = permutation_masks(torch.tensor([0, 2, 3, 1, 4]))
    assert torch.equal(content, torch.tensor([[0, NEG, NEG, NEG],
                                              [0, 0, 0, 0],
                                              [0, NEG, 0, NEG],
                                              [0, NEG, 0, 0]]))
    assert torch.equal(query, torch.tensor([[0, NEG, 0, 0],      # c1 comes after c2, c3
                                            [0, NEG, NEG, NEG],  # c2 first: BOS only
                                            [0, NEG, 0, NEG],    # c3 after c2
                                            [0, 0, 0, 0]]))      # EOS sees everything


def test_ctc_aux_targets_frames_and_impossible_labels():
    from ocrpipe.recognizer.clip4str.charset import CHARSET_36, Tokenizer
    from ocrpipe.recognizer.clip4str.ctc_aux import BLANK, CtcHead, ctc_loss, ctc_targets

    tokenizer = Tokenizer(CHARSET_36)
    targets, lengths = ctc_targets(tokenizer, ["ab1", "z"], torch.device("cpu"))
    assert targets.tolist() == [CHARSET_36.index(c) + 1 for c in "ab1z"] and lengths.tolist() == [3, 1]
    assert BLANK == tokenizer.eos_id  # never inside a label

    torch.manual_seed(0)
    head = CtcHead(width=8, num_classes=tokenizer.num_classes, grid=(2, 4))
    features = torch.randn(2, 1 + 2 * 4, 8, requires_grad=True)
    log_probs = head(features)
    assert log_probs.shape == (4, 2, tokenizer.num_classes)  # one frame per token column
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(4, 2))
    loss = ctc_loss(head, features, tokenizer, ["ab", "c"])
    loss.backward()
    assert loss.item() > 0 and features.grad[:, 1:].abs().sum() > 0 and features.grad[:, 0].abs().sum() == 0
    # 5 characters cannot fit 4 frames: that label adds nothing instead of an infinite loss
    assert torch.isfinite(ctc_loss(head, features, tokenizer, ["abcde", "c"]))


def test_case_partners_pair_letters_only():
    from ocrpipe.recognizer.clip4str.charset import CHARSET_94, Tokenizer

    tokenizer = Tokenizer(CHARSET_94)
    partners = tokenizer.case_partners()
    assert partners.shape == (tokenizer.num_classes,)
    for char, other in (("a", "A"), ("Z", "z")):
        assert partners[CHARSET_94.index(char) + 1] == CHARSET_94.index(other) + 1
    for char in "7$.":
        assert partners[CHARSET_94.index(char) + 1] == CHARSET_94.index(char) + 1
    assert partners[tokenizer.eos_id] == tokenizer.eos_id


def test_fold_case_gives_letters_both_cases_only_on_flagged_rows():
    from ocrpipe.recognizer.clip4str.charset import CHARSET_94, Tokenizer
    from ocrpipe.recognizer.clip4str.psm import fold_case

    tokenizer = Tokenizer(CHARSET_94)
    log_probs = torch.randn(2, 3, tokenizer.num_classes, generator=torch.Generator().manual_seed(0)).log_softmax(-1)
    folded = fold_case(log_probs, torch.tensor([True, False]), tokenizer.case_partners())
    a, upper_a, seven = (CHARSET_94.index(c) + 1 for c in "aA7")
    torch.testing.assert_close(folded[0, :, a].exp(), log_probs[0, :, a].exp() + log_probs[0, :, upper_a].exp())
    torch.testing.assert_close(folded[0, :, upper_a], folded[0, :, a])
    assert torch.equal(folded[0, :, seven], log_probs[0, :, seven])  # no case, no change
    assert torch.equal(folded[1], log_probs[1])  # unflagged row untouched


def test_caseless_ctc_scores_an_upper_cased_label_like_the_print():
    from ocrpipe.recognizer.clip4str.charset import CHARSET_94, Tokenizer
    from ocrpipe.recognizer.clip4str.ctc_aux import CtcHead, ctc_loss

    tokenizer = Tokenizer(CHARSET_94)
    torch.manual_seed(0)
    head = CtcHead(width=8, num_classes=tokenizer.num_classes, grid=(2, 4))
    features = torch.randn(2, 1 + 2 * 4, 8)
    caseless = torch.tensor([True, True])
    upper = ctc_loss(head, features, tokenizer, ["AB", "C1"], caseless)
    torch.testing.assert_close(upper, ctc_loss(head, features, tokenizer, ["ab", "c1"], caseless))
    # case-free scoring can only add probability
    assert upper < ctc_loss(head, features, tokenizer, ["AB", "C1"])


def test_caseless_psm_loss_is_lower_and_reaches_the_gradient():
    from ocrpipe.recognizer.clip4str.config import PRESETS
    from ocrpipe.recognizer.clip4str.model import CLIP4STR
    from ocrpipe.recognizer.clip4str.psm import psm_loss

    torch.manual_seed(0)
    model = CLIP4STR(PRESETS["clip4str-tiny"]).train()
    images = torch.randn(2, 3, *model.cfg.image_size)
    perms = sample_permutations(4, 2)
    labels = ["ABCD", "EF12"]
    torch.manual_seed(1)
    cased = psm_loss(model, images, labels, perms=perms)
    torch.manual_seed(1)
    caseless = psm_loss(model, images, labels, perms=perms, caseless=torch.tensor([True, False]))
    assert caseless.total < cased.total  # the first word's letters now also count the lower-case class
    caseless.total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.visual_decoder.parameters())
