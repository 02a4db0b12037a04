"""What a playground job may ask for: the settings, their bounds, and the presets.

One place owns them: the API validates against `BOUNDS`, the page reads `meta()` to
set its controls' ranges and presets, and the URL carries the settings under the
same names.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..config import ACTIVATIONS, INITS, RunConfig

# Ranges of the page's controls (the issue's): learning rate on a log scale.
LR_RANGE = (1e-4, 10.0)
INT_RANGES = {
    "epochs": (1, 1000),
    "inputs": (2, 6),
    "hidden": (1, 16),
    "seeds": (1, 500),
    # Below 2**53, so a seed survives the page's JavaScript numbers digit for digit.
    "first_seed": (0, 2**31 - 1),
}

def parameter_count(inputs: int, hidden: int) -> int:
    """dense1 (H, N) + (H,), dense2 (1, H) + (1,); counted, not built (building a
    module would draw from torch's global random stream)."""
    return inputs * hidden + 2 * hidden + 1


# A job's size: seeds x epochs x network parameters. The largest tutorial-sized job
# (500 seeds of the 9-parameter 2-2-1 net for 1000 epochs) is the limit, so every
# control can reach its end, but not all at once (6-16-1 has 129 parameters).
MAX_WORK = 500 * 1000 * parameter_count(2, 2)


class SettingsError(ValueError):
    """A setting is missing, unknown or out of range; `field` names it (for HTTP 422)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Settings:
    """One playground job: a run config for each of `seeds` seeds from `first_seed`."""

    activation: str = "sigmoid"
    init: str = "default"
    center: bool = False
    lr: float = 0.01
    epochs: int = 100
    inputs: int = 2
    hidden: int = 2
    seeds: int = 20
    first_seed: int = 0

    def configs(self) -> list[RunConfig]:
        base = RunConfig(inputs=self.inputs, hidden=self.hidden, activation=self.activation,
                         init=self.init, center=self.center, lr=self.lr, epochs=self.epochs)
        return [base.replace(seed=s) for s in range(self.first_seed, self.first_seed + self.seeds)]

    @property
    def work(self) -> int:
        return self.seeds * self.epochs * parameter_count(self.inputs, self.hidden)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


NAMES = tuple(f.name for f in fields(Settings))


def _finite_number(value: Any) -> bool:
    """A JSON number that int() and float() take: Python's JSON reads NaN, Infinity and
    1e400 (inf) as floats, and math.isfinite(10**400) overflows."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _int(name: str, value: Any) -> int:
    low, high = INT_RANGES[name]
    if not _finite_number(value) or value != int(value) or not low <= value <= high:
        raise SettingsError(name, f"{name} must be an integer from {low} to {high} (got {value!r})")
    return int(value)


def _lr(value: Any) -> float:
    low, high = LR_RANGE
    if not _finite_number(value) or not low <= value <= high:
        raise SettingsError("lr", f"lr must be a number from {low:g} to {high:g} (got {value!r})")
    return float(value)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(name, f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def parse(data: Any) -> Settings:
    """Settings from a JSON object; missing keys take the tutorial's defaults.
    Raises SettingsError naming the first bad field and what is allowed."""
    if not isinstance(data, dict):
        raise SettingsError("body", "the body must be a JSON object of settings")
    unknown = sorted(set(data) - set(NAMES))
    if unknown:
        raise SettingsError(unknown[0], f"unknown setting {unknown[0]!r} (settings: {', '.join(NAMES)})")
    d = {**Settings().to_dict(), **data}
    center = d["center"]
    if not isinstance(center, bool):
        raise SettingsError("center", f"center must be true or false (got {center!r})")
    s = Settings(activation=_choice("activation", d["activation"], ACTIVATIONS),
                 init=_choice("init", d["init"], INITS), center=center, lr=_lr(d["lr"]),
                 **{name: _int(name, d[name]) for name in INT_RANGES})
    if s.work > MAX_WORK:
        raise SettingsError("seeds", f"seeds x epochs x parameters is {s.work:,}, over this server's "
                            f"limit of {MAX_WORK:,} per job: use fewer seeds or epochs")
    return s


# The tutorial's run and its experiments, as the tutorial words them. Each preset sets
# every control; a learner then changes one thing at a time, as the tutorial asks.
TUTORIAL = Settings()
PRESETS: dict[str, dict[str, Any]] = {
    "tutorial": {"label": "The tutorial's run", "settings": TUTORIAL,
                 "note": "sigmoid, PyTorch's default init, raw 0/1 inputs, lr 0.01, 100 epochs; 20 seeds"},
    "exp1": {"label": "Experiment 1 (activation units)", "settings": Settings(activation="tanh"),
             "note": "Replace sigmoid with tanh and relu; run each several times. Which works best?"},
    "exp2": {"label": "Experiment 2 (weight initialization)", "settings": Settings(init="uniform"),
             "note": "Weights from U(-1, 1); try sigmoid, tanh and relu. Any improvement?"},
    "exp3": {"label": "Experiment 3 (input normalization)", "settings": Settings(init="uniform", center=True),
             "note": "Experiment 2 again with inputs centred around 0 (-1/+1)."},
    "exp4": {"label": "Experiment 4 (termination criteria)", "settings": Settings(),
             "note": "Sigmoid: watch the loss flatten, drop, then flatten again. Stopped, or just slow?"},
    "exp5": {"label": "Experiment 5 (learning rate)",
             "settings": Settings(activation="tanh", center=True, lr=0.1, seeds=1, first_seed=42),
             "note": "tanh, centred inputs, seed 42: try learning rates. Which learn, which diverge?"},
    "bonus": {"label": "Bonus (XOR of 3 inputs)", "settings": Settings(inputs=3, hidden=3),
              "note": "Extend to 3, 4, 5 inputs: when must the hidden layer grow?"},
}


def meta() -> dict[str, Any]:
    """What the page needs to build its controls: defaults, ranges, choices, presets."""
    return {
        "defaults": TUTORIAL.to_dict(),
        "ranges": {"lr": list(LR_RANGE), **{k: list(v) for k, v in INT_RANGES.items()}},
        "choices": {"activation": list(ACTIVATIONS), "init": list(INITS)},
        "max_work": MAX_WORK,
        "presets": {k: {"label": p["label"], "note": p["note"], "settings": p["settings"].to_dict()}
                    for k, p in PRESETS.items()},
    }
