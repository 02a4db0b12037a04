"""Option parsing helpers shared by commands."""

from __future__ import annotations

import argparse
import math


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0 (got {text!r})") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0 (got {text!r})")
    return value


def int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low} (got {text!r})") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low} (got {text!r})")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def seed(text: str) -> int | None:
    if text.lower() == "none":
        return None
    return int_at_least(0)(text)
