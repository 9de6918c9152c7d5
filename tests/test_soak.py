"""The soak benchmark's CI version: 200 inputs, a tenth of them bad or odd, in one `ocrpipe run` (benchmarks/soak.py
checks every input's outcome, the exit code and that no temporary file is left)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_two_hundred_inputs_with_bad_ones_among_them(shared, tmp_path):
    pool = shared / "data" / "e2e" / "ic15_toy" / "images"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--count", "200", "--bad-share",
                             "0.1", "--work", str(tmp_path), "--pool", str(pool), "--json", str(tmp_path / "soak.json"),
                             "--", "--det-side", "960"], capture_output=True, text=True, timeout=1800)
    figures = json.loads((tmp_path / "soak.json").read_text())
    assert result.returncode == 0, figures["problems"]
    assert figures["problem_count"] == 0 and figures["exit_code"] == 3
    assert figures["bad"] >= 5 and figures["error_lines"] == figures["bad"]
    assert figures["outputs"] == 2 * figures["good"]  # a JSON and a text file for every good input
