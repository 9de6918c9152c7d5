"""The `ocrpipe` command: a Click group whose subcommands load on demand (so `--help` answers at once).

Errors become exit codes in one place (`main`): every `OcrpipeError` knows its code, Ctrl-C is 130, SIGTERM 143
(both stop cleanly: no partial output file is left), Click's own usage errors are 2.

OpenMP's threads wait passively unless the user says otherwise: with the default spin-waiting, another busy process
on the machine made torch inference 3-8x slower (benchmarks/RESULTS.md). This must be set before torch loads, so it
is set here, before any command imports it.
"""
from __future__ import annotations

import importlib
import os
import signal
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import click

from ocrpipe import __version__
from ocrpipe.errors import ExitCode, OcrpipeError, Terminated

SUBCOMMANDS = {  # name -> (module, attribute, one-line help shown by `ocrpipe --help`)
    "run": ("ocrpipe.cli.run", "run", "Detect and read text in images; write JSON, hOCR and text."),
    "read": ("ocrpipe.cli.read", "read", "Read word crops (recognition only)."),
    "eval": ("ocrpipe.cli.evaluate", "evaluate", "Measure accuracy on labelled data sets."),
    "train": ("ocrpipe.cli.train", "train", "Train the recognizer or the detector."),
    "synth": ("ocrpipe.cli.synth", "synth", "Write synthetic training data."),
    "models": ("ocrpipe.cli.models", "models", "List, inspect and import model weights."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS:
            return None
        module, attribute, _ = SUBCOMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in SUBCOMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="ocrpipe")
def cli() -> None:
    """ocrpipe: end-to-end OCR. Finds words with a DB detector, reads them with CLIP4STR, and writes JSON, hOCR
    and plain text. Runs offline on the weights that ship with the package.

    \b
    First run:   ocrpipe run photo.jpg            (prints the text)
    Batch:       ocrpipe run scans/ -r -o out -f json,hocr,txt
    """


def _terminate(signum, frame) -> None:
    raise Terminated()


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = cli.main(standalone_mode=False, prog_name="ocrpipe")  # a command returns its ExitCode
    except click.ClickException as error:
        error.show()
        sys.exit(ExitCode.USAGE if isinstance(error, click.UsageError) else ExitCode.FATAL)
    except click.exceptions.Abort:
        click.echo("ocrpipe: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("ocrpipe: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except Terminated:
        click.echo("ocrpipe: terminated", err=True)
        sys.exit(ExitCode.TERMINATED)
    except OcrpipeError as error:
        click.echo(f"ocrpipe: error: {error}", err=True)
        sys.exit(error.exit_code)
    except BrokenPipeError:  # `ocrpipe run ... | head`
        sys.exit(ExitCode.OK)
    sys.exit(int(result) if isinstance(result, int) else ExitCode.OK)


if __name__ == "__main__":
    main()
