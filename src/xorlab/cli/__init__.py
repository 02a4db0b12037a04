"""The `xorlab` command line: each command parses options, calls the library, renders.

Commands live in sibling modules, each with `add_parser(subparsers)` (which sets
`func` to the function that runs it). Errors in what the user typed become one line
on stderr and exit status 2; nothing here prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import __version__
from ..config import ConfigError
from ..executor import ClusterError
from . import experiment, quiz, serve, study, sweep, train

COMMANDS = [train, sweep, experiment, study, quiz, serve]

# The option that sets each config field, to name it in error messages.
FIELD_FLAGS = {
    "activation": "--activation",
    "init": "--init",
    "center": "--center",
    "lr": "--lr",
    "epochs": "--epochs",
    "inputs": "--inputs",
    "hidden": "--hidden",
    "seed": "--seed",
    "dtype": "--dtype",
}


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


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


def config_error_message(prog: str, err: ConfigError) -> str:
    flag = FIELD_FLAGS.get(err.field, err.field)
    return f"{prog}: error: argument {flag}: {err} (see '{prog} --help')"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except ConfigError as err:
        print(config_error_message(getattr(args, "prog", "xorlab"), err), file=sys.stderr)
        return 2
    except ClusterError as err:  # a cluster that failed mid-run (connecting is a UsageError)
        print(f"xorlab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xorlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `xorlab train | head`: the reader left; say nothing more.
        sys.stderr.close()
        return 1
