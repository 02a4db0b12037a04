"""The `xorlab` command line: each command parses options, calls the library, renders.

Commands live in sibling modules, each with `add_parser(subparsers)` (which sets
`func` to the function that runs it). Errors in what the user typed become one line
on stderr and exit status 2; nothing here prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Sequence

from .. import __version__
from ..config import FIELD_FLAGS, ConfigError
from ..cluster import ClusterError
from ..store import StoreError
from . import cost, experiment, quiz, serve, study, sweep, train
from .options import UsageError

COMMANDS = [train, sweep, experiment, study, cost, quiz, serve]

class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (`xorlab train: error: ...`) with a help hint."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=32)


def build_parser() -> Parser:
    parser = Parser(
        prog="xorlab",
        formatter_class=HelpFormatter,
        description="Train the XOR tutorial's neural network, reproduce it exactly, "
        "and answer its experiments with evidence.",
        epilog="example:\n  xorlab train --seed 42 --activation tanh --center\n\n"
        "Run 'xorlab COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"xorlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def config_error_message(args: argparse.Namespace | None, err: ConfigError) -> str:
    prog = getattr(args, "prog", "xorlab")
    flag = {**FIELD_FLAGS, **getattr(args, "field_flags", {})}.get(err.field, err.field)
    return f"{prog}: error: argument {flag}: {err} (see '{prog} --help')"


TOP_OPTIONS = ("-h", "--help", "--version")
NEGATIVE_NUMBER = re.compile(r"-\d[\d.:eE+-]*")


def check_top_options(argv: list[str]) -> None:
    """Name an unknown option before the command (argparse would only say that the
    command is missing)."""
    for arg in argv:
        if not arg.startswith("-"):
            return
        abbreviation = arg.startswith("--") and len(arg) > 2 and any(o.startswith(arg) for o in TOP_OPTIONS)
        if arg not in TOP_OPTIONS and not abbreviation:
            raise UsageError(f"xorlab: error: unrecognized option {arg!r}: options go after the "
                             "command, e.g. 'xorlab train --seed 42' (see 'xorlab --help')")


def join_negative_values(argv: list[str]) -> list[str]:
    """`--seeds -1:3` as `--seeds=-1:3`, so that the option's own check explains what
    it takes, instead of argparse taking -1:3 for an option and saying 'expected one argument'."""
    joined: list[str] = []
    for arg in argv:
        prev = joined[-1] if joined else ""
        if NEGATIVE_NUMBER.fullmatch(arg) and prev.startswith("--") and "=" not in prev:
            joined[-1] = f"{prev}={arg}"
        else:
            joined.append(arg)
    return joined


class StreamError(Exception):
    """Standard output cannot be written (full, or an I/O error)."""

    def __init__(self, err: OSError):
        super().__init__(err.strerror or str(err))


class GuardedOutput:
    """sys.stdout, with a failed write raised as StreamError: it cannot be confused with
    an error on a file, and it ends the command with one line on stderr."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as err:
            raise StreamError(err) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as err:
            raise StreamError(err) from None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def silence_stdout(stream) -> None:
    """Send what is left in a failed stdout's buffer to /dev/null, so the interpreter's
    final flush does not print a second error."""
    if stream is not sys.__stdout__ or stream is None:
        return  # not the process's stdout (a test's capture): nothing to protect
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        if sys.stderr is not None:
            print("xorlab: error: standard output is closed; redirect it to a file or to "
                  "/dev/null instead", file=sys.stderr)
        return 2
    from ..engines.jax_engine import configure_process

    configure_process()  # xorlab owns this process: both cores, the compilation cache
    stdout, sys.stdout = sys.stdout, GuardedOutput(sys.stdout)
    args = None
    try:
        check_top_options(argv)
        args = build_parser().parse_args(join_negative_values(argv))
        return int(args.func(args) or 0)
    except (UsageError, ConfigError, ClusterError, StoreError, StreamError, KeyboardInterrupt, OSError) as err:
        return report_error(err, args, stdout)
    finally:
        sys.stdout = stdout


def report_error(err: BaseException, args: argparse.Namespace | None, stdout) -> int:
    """The one line on stderr, and the exit status, for what ended a command."""
    prog = getattr(args, "prog", "xorlab")
    if isinstance(err, UsageError):
        message, code = str(err), 2
    elif isinstance(err, ConfigError):
        message, code = config_error_message(args, err), 2
    elif isinstance(err, ClusterError):  # a cluster that failed mid-run (connecting is a UsageError)
        message, code = f"xorlab: error: {err}", 2
    elif isinstance(err, StoreError):
        message, code = f"{prog}: error: {err}", 1
    elif isinstance(err, StreamError):
        silence_stdout(stdout)
        message, code = f"{prog}: error: cannot write to standard output ({err})", 1
    elif isinstance(err, KeyboardInterrupt):
        message, code = "xorlab: interrupted", 130
    elif isinstance(err, BrokenPipeError):
        # `xorlab train | head`: the reader left; say nothing more.
        sys.stderr.close()
        return 1
    else:  # an OSError: a file that cannot be written, the disk is full, ...
        what = f"cannot write {err.filename}" if err.filename else "input/output error"
        message, code = f"{prog}: error: {what}: {err.strerror or err}", 1
    print(message, file=sys.stderr)
    return code
