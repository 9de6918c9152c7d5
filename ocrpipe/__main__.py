"""`python -m ocrpipe` is the `ocrpipe` command."""
from ocrpipe.cli.main import main

main()
