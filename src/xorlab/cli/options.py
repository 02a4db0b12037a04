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
