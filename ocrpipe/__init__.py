"""ocrpipe: end-to-end OCR.

Installed, the detectors, the recognizer and the command line are sub-packages of this one (`ocrpipe.detectors`,
`ocrpipe.recognizer`, `ocrpipe.cli`): setup.py maps them from the repository's top-level folders of those names. In a
source checkout those folders sit beside this package, so the checkout's root is searched for sub-packages too.
"""
from pathlib import Path

__version__ = "0.1.0"

_here = Path(__file__).resolve().parent
if not (_here / "cli").is_dir() and (_here.parent / "cli" / "main.py").is_file():
    __path__.append(str(_here.parent))
