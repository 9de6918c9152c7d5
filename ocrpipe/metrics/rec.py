"""Recognition metrics under the STR benchmark protocol (and case-sensitive), plus 1 - normalised edit distance."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ocrpipe.recognizer.clip4str.charset import CHARSET_36, CHARSET_94, CharsetAdapter, normalize_label


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass
class RecScores:
    count: int
    accuracy_36: float  # case-insensitive alphanumerics, the benchmark protocol
    accuracy_cased: float  # case-sensitive, punctuation kept (94-char)
    one_minus_ned: float  # on the 36-char protocol strings, ICDAR 2019 definition

    def as_dict(self) -> dict:
        return {"count": self.count, "accuracy_36": round(self.accuracy_36, 4),
                "accuracy_cased": round(self.accuracy_cased, 4), "1-ned": round(self.one_minus_ned, 4)}


def score_recognition(predictions: Sequence[str], labels: Sequence[str]) -> RecScores:
    """Protocol: whitespace removed, NFKD->ASCII, then the charset adapter; a sample whose label becomes empty
    (or is longer than 25 characters) is not counted, as in the reference's test filter."""
    to_36, to_94 = CharsetAdapter(CHARSET_36), CharsetAdapter(CHARSET_94)
    total = correct_36 = correct_cased = 0
    ned_sum = 0.0
    for prediction, label in zip(predictions, labels):
        label = normalize_label(label)
        if len(label) > 25 or not to_36(label):
            continue
        gt, pred = to_36(label), to_36(normalize_label(prediction))
        total += 1
        correct_36 += pred == gt
        correct_cased += to_94(normalize_label(prediction)) == to_94(label)
        ned_sum += edit_distance(pred, gt) / max(len(pred), len(gt), 1)
    if total == 0:
        return RecScores(0, 0.0, 0.0, 0.0)
    return RecScores(total, correct_36 / total, correct_cased / total, 1 - ned_sum / total)
