"""Exit codes and the errors that map to them.

Every error ocrpipe raises on purpose is an `OcrpipeError`; each subclass carries the one exit code it stands for,
so the CLI turns any of them into a status in one place (`error.exit_code`).
"""
from __future__ import annotations

from enum import IntEnum
from os import PathLike


class ExitCode(IntEnum):
    OK = 0
    FATAL = 1  # bad model, nothing could run
    USAGE = 2  # bad options or arguments
    SOME_INPUTS_FAILED = 3  # finished, but some inputs could not be read
    OUTPUT_FAILED = 4  # stopped: outputs cannot be written (disk full, read-only file system, no permission)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + 15), e.g. a batch scheduler stopping the job


class OcrpipeError(Exception):
    """Base of all ocrpipe errors. The message is one line, ready to print after `ocrpipe: error: `."""

    exit_code: ExitCode = ExitCode.FATAL


class UsageError(OcrpipeError):
    """The command line or its arguments make no sense (e.g. an unreadable --files-from list)."""

    exit_code = ExitCode.USAGE


class ModelError(OcrpipeError):
    """Weights are missing, unreadable or do not fit the model: nothing can run. The message is made one line
    (libraries' own errors, quoted in it, can span several) and at most 300 characters."""

    exit_code = ExitCode.FATAL

    def __init__(self, message: str) -> None:
        message = " ".join(str(message).split())
        super().__init__(message if len(message) <= 300 else message[:299] + "…")


class InputError(OcrpipeError):
    """One input file cannot be used. The run goes on with the other files.

    `str(error)` reads `a/b.png: not an image (cannot decode)`.
    """

    exit_code = ExitCode.SOME_INPUTS_FAILED

    def __init__(self, path: str | PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(reason.split())  # always a single line
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self):  # pickled as its two parts (results come back from other processes, e.g. Ray workers)
        return type(self), (self.path, self.reason)


class Terminated(BaseException):
    """SIGTERM arrived. Like KeyboardInterrupt it is not an `Exception`, so it unwinds everything (atomic writes
    remove their temporary files on the way) and only the CLI's `main` turns it into an exit code."""
