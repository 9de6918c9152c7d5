"""ocrpipe: end-to-end OCR (DB detector + CLIP4STR recognizer) as a command-line tool."""
from setuptools import find_packages, setup

# The repository keeps detectors/, recognizer/ and cli/ beside ocrpipe/; they install inside it, so nothing but
# `ocrpipe` lands at the top of site-packages.
SUBPACKAGES = ("detectors", "recognizer", "cli")
MAPPED = [name for name in find_packages() if name.split(".")[0] in SUBPACKAGES]  # e.g. detectors.db

setup(
    name="ocrpipe",
    version="0.1.0",
    description="End-to-end OCR: DB text detection, CLIP4STR recognition, layout, JSON/hOCR/text output",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["ocrpipe", "ocrpipe.*"]) + [f"ocrpipe.{name}" for name in MAPPED],
    package_dir={f"ocrpipe.{sub}": sub for sub in SUBPACKAGES},
    package_data={"ocrpipe": ["weights/*.pt", "weights/*.md", "weights/*.txt", "weights/NOTICE", "weights/SHA256SUMS",
                              "schema/*.json"]},
    install_requires=[
        # torch and torchvision must match (open_clip imports torchvision); see README.
        "torch>=2.4",
        "torchvision",
        "open_clip_torch>=3.3,<4",  # we use its VisionTransformer internals (_embeds)
        "opencv-python-headless>=4.8",
        "numpy",
        "pillow>=10",
        "shapely>=2.0",
        "pyclipper>=1.3",
        "click>=8.1",
        "rich>=13",
        "tqdm",
        "pypdfium2>=4.30",  # PDF in (page rendering) and searchable PDF out
    ],
    extras_require={
        # onnx reads PP-OCR's detector graph (`ocrpipe models import-ppocr`); the tests compare the import with
        # onnxruntime. The graph itself comes in the rapidocr_onnxruntime wheel, installed with --no-deps (README):
        # its own requirements would add the non-headless opencv-python next to ours.
        "test": ["pytest>=7", "jsonschema>=4", "hocr-spec==0.2.0", "hocr-tools==1.1.1", "onnx>=1.15", "onnxruntime",
                 # pikepdf: encrypted PDFs; ocrmypdf and ray: the OCRmyPDF plugin's and the Ray engine's tests
                 "pikepdf", "ocrmypdf>=17", "ray[data]>=2.40"],
        "train": ["onnx>=1.15"],
        "ocrmypdf": ["ocrmypdf>=17"],  # ocrpipe as OCRmyPDF's OCR engine (ocrpipe/ocrmypdf_plugin.py)
        "ray": ["ray[data]>=2.40"],  # ocrpipe run --engine ray (ocrpipe/ray_engine.py)
    },
    entry_points={"console_scripts": ["ocrpipe=ocrpipe.cli.main:main"]},
)
