"""How numbers read in sentences and tables: percents, rates with their interval, plurals.

The experiments' answers and the report both write these; one module keeps them alike.
"""

from __future__ import annotations


def percent(x: float, digits: int = 0) -> str:
    """0.714 -> '71%'."""
    return f"{100 * x:.{digits}f}%"


def rate_text(p: float, low: float, high: float) -> str:
    """'71% [61, 79]': a rate and its 95% interval, in percent."""
    return f"{percent(p)} [{100 * low:.0f}, {100 * high:.0f}]"


def plural(n: int, word: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {word}" + ("" if n == 1 else "s")
