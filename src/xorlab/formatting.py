"""How numbers read in sentences, tables and JSON: percents, rates with their interval,
plurals, and non-finite numbers (a diverged run's NaN) as JSON's null.

The experiments' answers, the report, the command line and the playground all write
these; one module keeps them alike.
"""

from __future__ import annotations

import math


def percent(x: float, digits: int = 0) -> str:
    """0.714 -> '71%'."""
    return f"{100 * x:.{digits}f}%"


def rate_text(p: float, low: float, high: float) -> str:
    """'71% [61, 79]': a rate and its 95% interval, in percent."""
    return f"{percent(p)} [{100 * low:.0f}, {100 * high:.0f}]"


def interval_text(low: float, high: float, digits: int = 1) -> str:
    """'61.0-79.0%': an interval of rates, in percent (a table's column of its own)."""
    return f"{100 * low:.{digits}f}-{100 * high:.{digits}f}%"


def difference_text(d: float, low: float, high: float) -> str:
    """'+62 points [51, 71]': a difference of two rates in percentage points, with its
    95% interval."""
    return f"{100 * d:+.0f} points [{100 * low:.0f}, {100 * high:.0f}]"


def difference_verdict(low: float, high: float, a: str = "A", b: str = "B") -> str:
    """Whether a 95% interval of b's rate minus a's tells the two apart, in words."""
    interval = f"{100 * low:+.0f} to {100 * high:+.0f} points"
    if low > 0:
        return f"{b} succeeds more often than {a}: the 95% interval of the difference, {interval}, excludes 0"
    if high < 0:
        return f"{a} succeeds more often than {b}: the 95% interval of the difference, {interval}, excludes 0"
    return f"The seeds so far cannot tell {a} and {b} apart: the 95% interval of the difference, {interval}, includes 0"


def plural(n: int, word: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def json_number(v: float) -> float | None:
    """A float for strict JSON, which has no NaN or infinity: those become None (null)."""
    return v if math.isfinite(v) else None


def json_safe(value):
    """Nested dicts, lists and numpy values as plain JSON values, non-finite floats as None."""
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_safe(value.tolist())
    return value
