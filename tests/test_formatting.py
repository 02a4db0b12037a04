"""How numbers read: one module writes every percent, rate interval and JSON number."""

from __future__ import annotations

import json
import math

import numpy as np

from xorlab.formatting import difference_text, difference_verdict, interval_text, json_number, json_safe, percent, rate_text


def test_percents_and_rates_read_alike_everywhere():
    assert percent(0.714) == "71%" and percent(0.7145, 1) == "71.5%"
    assert rate_text(0.714, 0.61, 0.79) == "71% [61, 79]"
    assert interval_text(0.61, 0.7925) == "61.0-79.2%"
    assert difference_text(0.62, 0.51, 0.71) == "+62 points [51, 71]"
    assert difference_text(-0.05, -0.2, 0.1) == "-5 points [-20, 10]"


def test_a_difference_is_told_apart_only_when_its_interval_excludes_0():
    assert difference_verdict(0.12, 0.40) == (
        "B succeeds more often than A: the 95% interval of the difference, +12 to +40 points, excludes 0")
    assert difference_verdict(-0.4, -0.05).startswith("A succeeds more often than B:")
    assert difference_verdict(-0.08, 0.15) == ("The seeds so far cannot tell A and B apart: the 95% interval "
                                               "of the difference, -8 to +15 points, includes 0")


def test_non_finite_numbers_become_null_at_any_depth():
    value = {"loss": [0.5, math.nan, [math.inf, -math.inf]], 3: np.array([1.0, np.nan]),
             "n": np.float32(2.5), "ok": True}
    safe = json_safe(value)
    assert safe == {"loss": [0.5, None, [None, None]], "3": [1.0, None], "n": 2.5, "ok": True}
    json.dumps(safe, allow_nan=False)  # strict JSON: raises on any NaN left
    assert json_number(math.nan) is None and json_number(0.25) == 0.25
