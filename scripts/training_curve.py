"""Print the validation curve of a recognizer training run (`log.jsonl`) as a Markdown table.

    python scripts/training_curve.py runs/rec/log.jsonl

Elapsed time is summed over the run's working periods (each resume restarts the trainer's clock).
"""
from __future__ import annotations

import json
import sys


def main(path: str) -> None:
    records = [json.loads(line) for line in open(path, encoding="utf-8")]
    elapsed_before, last_elapsed, total = 0.0, 0.0, {}
    rows = []
    for record in records:
        if "elapsed_s" in record:
            if record["elapsed_s"] < last_elapsed:  # a resumed run: its clock started again
                elapsed_before += last_elapsed
            last_elapsed = record["elapsed_s"]
            total[record["step"]] = elapsed_before + last_elapsed
        elif "validation" in record:
            rows.append((record["step"], total.get(record["step"], elapsed_before + last_elapsed),
                         record["validation"]))
    if not rows:
        print("no validation records")
        return
    sets = list(rows[-1][2])
    print("| step | hours (wall, shared 2-core CPU) | " + " | ".join(f"{s} acc36 / 1-NED" for s in sets) + " |")
    print("|---|---|" + "---|" * len(sets))
    for step, seconds, scores in rows:
        cells = [f"{scores[s]['accuracy_36']:.3f} / {scores[s]['1-ned']:.3f}" if s in scores else "-" for s in sets]
        print(f"| {step} | {seconds / 3600:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
