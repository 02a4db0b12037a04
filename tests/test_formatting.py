"""How numbers read: one module writes every percent, rate interval and JSON number."""

from __future__ import annotations

import json
import math

import numpy as np

from xorlab.formatting import interval_text, json_number, json_safe, percent, rate_text


def test_percents_and_rates_read_alike_everywhere():
    assert percent(0.714) == "71%" and percent(0.7145, 1) == "71.5%"
    assert rate_text(0.714, 0.61, 0.79) == "71% [61, 79]"
    assert interval_text(0.61, 0.7925) == "61.0-79.2%"


def test_non_finite_numbers_become_null_at_any_depth():
    value = {"loss": [0.5, math.nan, [math.inf, -math.inf]], 3: np.array([1.0, np.nan]),
             "n": np.float32(2.5), "ok": True}
    safe = json_safe(value)
    assert safe == {"loss": [0.5, None, [None, None]], "3": [1.0, None], "n": 2.5, "ok": True}
    json.dumps(safe, allow_nan=False)  # strict JSON: raises on any NaN left
    assert json_number(math.nan) is None and json_number(0.25) == 0.25
