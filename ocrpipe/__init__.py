"""ocrpipe: end-to-end OCR."""
__version__ = "0.1.0"
