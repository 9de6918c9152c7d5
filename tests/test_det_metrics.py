import json

import pytest

from ocrpipe.metrics.det import (Annotation, Counts, Instance, bag_of_words_counts, det_counts, e2e_counts,
                                 evaluate_detection, evaluate_end_to_end, load_annotations, normalize_word)
from ocrpipe.types import Region, Word


def box(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def annotation(*instances):
    return Annotation(image=None, width=200, height=200,
                      instances=[Instance(polygon=p, text=t, ignore=t == "###") for p, t in instances])


GT = annotation((box(0, 0, 100, 20), "Hello"), (box(0, 40, 100, 60), "world"), (box(120, 0, 180, 60), "###"))


def test_perfect_detection():
    c = det_counts([box(0, 0, 100, 20), box(0, 40, 100, 60)], GT)
    assert (c.matched, c.predicted, c.expected) == (2, 2, 2)
    assert c.precision == c.recall == c.f1 == 1.0


def test_iou_threshold_is_one_half():
    exactly_half = box(0, 0, 100, 40)  # IoU with the first box = 2000 / 4000
    assert det_counts([box(0, 0, 100, 39)], GT).matched == 1  # IoU 20/39 > 0.5
    assert det_counts([box(0, 0, 100, 41)], GT).matched == 0  # IoU 20/41 < 0.5
    assert det_counts([exactly_half], GT).matched == 1


def test_matching_is_one_to_one():
    c = det_counts([box(0, 0, 100, 20), box(0, 1, 100, 21), box(0, 2, 100, 22)], GT)
    assert (c.matched, c.predicted, c.expected) == (1, 3, 2)
    assert c.precision == pytest.approx(1 / 3) and c.recall == pytest.approx(1 / 2)
    assert c.f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))


def test_greedy_takes_the_best_pair_first():
    gt = annotation((box(0, 0, 100, 20), "a"), (box(0, 12, 100, 32), "b"))
    # The first prediction fits gt "a" best; the second then still gets "b".
    c = det_counts([box(0, 1, 100, 21), box(0, 10, 100, 30)], gt)
    assert c.matched == 2


def test_predictions_inside_dont_care_regions_are_dropped():
    inside = box(125, 5, 175, 55)
    mostly_outside = box(150, 0, 250, 60)  # 30 of its 100 px width overlap the don't-care box
    c = det_counts([box(0, 0, 100, 20), inside, mostly_outside], GT)
    assert (c.matched, c.predicted, c.expected) == (1, 2, 2)


def test_normalize_word():
    assert normalize_word(" (Hello!) ") == "hello"
    assert normalize_word("U.S.A.") == "u.s.a"
    assert normalize_word("$5.00") == "$5.00"
    assert normalize_word("«Straße»") == "strasse"
    assert normalize_word("...") == ""


def test_end_to_end_needs_equal_text():
    c = e2e_counts([(box(0, 0, 100, 20), "HELLO,"), (box(0, 40, 100, 60), "word")], GT)
    assert (c.matched, c.predicted, c.expected) == (1, 2, 2)
    # Text picks the partner when two ground truths overlap the prediction equally well.
    gt = annotation((box(0, 0, 100, 20), "left"), (box(0, 0, 100, 20), "right"))
    assert e2e_counts([(box(0, 0, 100, 20), "right")], gt).matched == 1


def test_end_to_end_ignores_punctuation_only_text():
    gt = annotation((box(0, 0, 100, 20), "Hello"), (box(0, 40, 20, 60), "-"))
    c = e2e_counts([(box(0, 0, 100, 20), "hello"), (box(0, 40, 20, 60), "-"), (box(0, 40, 20, 60), "~"),
                    (box(150, 150, 170, 170), "~")], gt)
    # "-" is not counted; "~" is a symbol, not punctuation: dropped inside the don't-care "-", a miss elsewhere.
    assert (c.matched, c.predicted, c.expected) == (1, 2, 1)


def test_bag_of_words_is_a_multiset_over_split_lines():
    gt = annotation((box(0, 0, 100, 20), "TOTAL 5.00"), (box(0, 40, 100, 60), "total"), (box(0, 70, 9, 80), "###"))
    c = bag_of_words_counts(["Total", "total", "total", "5.00", "extra"], gt)
    assert (c.matched, c.predicted, c.expected) == (3, 5, 3)


def test_counts_add_up_micro_averaged():
    total = Counts(1, 2, 4) + Counts(3, 3, 4)
    assert (total.matched, total.predicted, total.expected) == (4, 5, 8)
    assert Counts().f1 == 0.0
    assert total.as_dict()["precision"] == 0.8


def test_load_annotations_and_ground_truth_scores_perfectly(shared):
    anns = load_annotations(shared / "data" / "e2e" / "ic15_toy")
    assert len(anns) == 10
    ann = anns["img_1"]
    assert ann.image.exists() and (ann.width, ann.height) == (1280, 720)
    assert any(i.ignore for i in ann.instances) and all(len(i.polygon) == 4 for i in ann.instances)
    words = {stem: [Word(text=i.text, confidence=1.0, polygon=i.polygon) for i in a.instances if not i.ignore]
             for stem, a in anns.items()}
    scores = evaluate_end_to_end(words, anns)
    assert {name: c.f1 for name, c in scores.items()} == {"det": 1.0, "e2e": 1.0, "bag_of_words": 1.0}
    regions = {stem: [Region(polygon=w.polygon, score=1.0) for w in ws[::2]] for stem, ws in words.items()}
    det = evaluate_detection(regions, anns)
    assert det.precision == 1.0 and 0.4 < det.recall < 0.6


def test_load_annotations_accepts_the_ann_folder_and_rejects_empty_ones(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "x.json").write_text(json.dumps(
        {"image": "images/x.png", "width": 10, "height": 10,
         "instances": [{"polygon": [0, 0, 5, 0, 5, 5, 0, 5], "text": "a", "ignore": False}]}))
    assert load_annotations(tmp_path / "ann")["x"].image == (tmp_path / "images" / "x.png").resolve()
    with pytest.raises(FileNotFoundError):
        load_annotations(tmp_path / "images")


def test_an_annotation_without_its_image_size_reads_it_from_the_image(tmp_path):
    import json

    import cv2
    import numpy as np

    from ocrpipe.metrics.det import load_annotation

    (tmp_path / "images").mkdir()
    (tmp_path / "ann").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((30, 50, 3), np.uint8))
    (tmp_path / "ann" / "a.json").write_text(json.dumps(
        {"image": "images/a.png", "width": None, "height": None,
         "instances": [{"polygon": [1, 1, 9, 1, 9, 9, 1, 9], "text": "x"}]}))
    ann = load_annotation(tmp_path / "ann" / "a.json")
    assert (ann.width, ann.height) == (50, 30)
