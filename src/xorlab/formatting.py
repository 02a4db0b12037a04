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
