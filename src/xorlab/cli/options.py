"""Option parsing helpers shared by commands."""

from __future__ import annotations

import argparse
import math
import os


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0 (got {text!r})") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0 (got {text!r})")
    return value


def float_in(low: float, high: float | None = None, below: bool = False):
    """A finite number >= low, and <= high (< high where `below`)."""
    if high is None:
        rule = f"a finite number >= {low:g}"
    elif below:
        rule = f"a number with {low:g} <= value < {high:g}"
    else:
        rule = f"a number from {low:g} to {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {rule} (got {text!r})") from None
        too_high = high is not None and (value >= high if below else value > high)
        if not math.isfinite(value) or value < low or too_high:
            raise argparse.ArgumentTypeError(f"must be {rule} (got {text!r})")
        return value

    parse.__name__ = rule
    return parse


def int_at_least(low: int, high: int | None = None):
    rule = f"an integer >= {low}" if high is None else f"an integer from {low} to {high:,}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {rule} (got {text!r})") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {rule} (got {text!r})")
        return value

    parse.__name__ = rule
    return parse


def seed(text: str) -> int | None:
    if text.lower() == "none":
        return None
    return int_at_least(0)(text)


def out_path(text: str) -> str:
    """An --out value: an empty name is refused, not taken for the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a file or folder (got an empty name)")
    return text


def check_out_file(prog: str, path: str) -> None:
    """Refuse an --out FILE that cannot be written, before anything is trained (a file
    that did not exist is not left behind)."""
    if os.path.isdir(path):
        raise UsageError(f"{prog}: error: argument --out: {path!r} is a folder, not a file "
                         f"(see '{prog} --help')")
    existed = os.path.lexists(path)
    try:
        open(path, "a").close()
    except OSError as err:
        raise UsageError(f"{prog}: error: argument --out: cannot write {path!r}: {err.strerror} "
                         f"(see '{prog} --help')") from None
    if not existed:
        os.unlink(path)
