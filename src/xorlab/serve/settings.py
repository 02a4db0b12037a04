"""What a playground job may ask for: the settings, their bounds, and the presets.

One place owns them: the API validates against `RANGES` and `CHOICES` (the page's
bounds, inside what `RunConfig` accepts) and then `RunConfig` itself (`config.validate`
owns every rule, e.g. momentum only for the optimizers that read it), the page reads
`meta()` to set its controls' ranges and presets, and the URL carries the settings
under the same names. A bad setting raises `config.ConfigError` naming the field.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..activations import REGISTRY
from ..config import ACTIVATIONS, INITS, KNOB_DEFAULTS, MAX_BATCH_SIZE, MAX_LAYERS, MOMENTUM_OPTIMIZERS, \
    OPTIMIZERS, TRAIN_BATCHES, TRAIN_EXAMPLES, ConfigError, RunConfig
from ..model import parameter_count

# Ranges of the page's controls: (low, high, integer?). The learning rate is on a log scale.
RANGES: dict[str, tuple[float, float, bool]] = {
    "lr": (1e-4, 10.0, False),
    "epochs": (1, 1000, True),
    "inputs": (2, 6, True),
    "hidden": (1, 16, True),
    "seeds": (1, 500, True),
    # Below 2**53, so a seed survives the page's JavaScript numbers digit for digit.
    "first_seed": (0, 2**31 - 1, True),
    "momentum": (0.0, 0.99, False),  # RunConfig takes 0 <= m < 1; 0.99 is the slider's end
    "batch_size": (1, MAX_BATCH_SIZE, True),
    "noise": (0.0, 1.0, False),  # past 1 the inputs' noise hides the corners altogether
    "weight_decay": (0.0, 0.1, False),  # 0.1 already pulls the tutorial's net flat in 100 epochs
    "layers": (1, MAX_LAYERS, True),
}
LOG_SCALE = ("lr",)
LABELS: dict[str, dict[str, str]] = {  # the page's words for each choice
    "activation": {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "linear": "linear (none)"},
    "init": {"default": "PyTorch's default", "uniform": "U(-1, 1)"},
    "optimizer": {"sgd": "SGD", "momentum": "SGD + momentum", "nesterov": "Nesterov momentum", "adam": "Adam"},
}
CHOICES: dict[str, tuple[str, ...]] = {"activation": ACTIVATIONS, "init": INITS, "optimizer": OPTIMIZERS}

# A job's size: seeds x epochs x network parameters (x steps, see Settings.work). The largest tutorial-sized job
# (500 seeds of the 9-parameter 2-2-1 net for 1000 epochs) is the limit, so every
# control can reach its end, but not all at once (6-16-1 has 129 parameters). A
# comparison counts both sides.
MAX_WORK = 500 * 1000 * parameter_count(2, 2)


@dataclass(frozen=True)
class Settings:
    """One side of a playground job: a run config for each of `seeds` seeds from `first_seed`."""

    activation: str = "sigmoid"
    init: str = "default"
    center: bool = False
    lr: float = 0.01
    epochs: int = 100
    inputs: int = 2
    hidden: int = 2
    seeds: int = 20
    first_seed: int = 0
    optimizer: str = KNOB_DEFAULTS["optimizer"]
    momentum: float = KNOB_DEFAULTS["momentum"]
    batch_size: int = KNOB_DEFAULTS["batch_size"]
    noise: float = KNOB_DEFAULTS["noise"]
    weight_decay: float = KNOB_DEFAULTS["weight_decay"]
    layers: int = KNOB_DEFAULTS["layers"]

    def base(self) -> RunConfig:
        """The run config every seed shares (raises ConfigError for a rule of RunConfig's)."""
        d = self.to_dict()
        del d["seeds"], d["first_seed"]
        return RunConfig(**d)

    def configs(self) -> list[RunConfig]:
        base = self.base()
        return [base.replace(seed=s) for s in range(self.first_seed, self.first_seed + self.seeds)]

    @property
    def work(self) -> int:
        """seeds x epochs x parameters, times the steps per epoch over the tutorial's 500
        where there are more (batch size 1 takes 5,000 steps an epoch, each a dispatch)."""
        steps = max(1, math.ceil(TRAIN_EXAMPLES / self.batch_size) // TRAIN_BATCHES)
        return self.seeds * self.epochs * parameter_count(self.inputs, self.hidden, self.layers) * steps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


NAMES = tuple(f.name for f in fields(Settings))
TUTORIAL = Settings()


def _finite_number(value: Any) -> bool:
    """A JSON number that int() and float() take: Python's JSON reads NaN, Infinity and
    1e400 (inf) as floats, and math.isfinite(10**400) overflows."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _number(name: str, value: Any) -> int | float:
    low, high, integer = RANGES[name]
    if integer:
        if not _finite_number(value) or value != int(value) or not low <= value <= high:
            raise ConfigError(name, f"{name} must be an integer from {low} to {high} (got {value!r})")
        return int(value)
    if not _finite_number(value) or not low <= value <= high:
        raise ConfigError(name, f"{name} must be a number from {low:g} to {high:g} (got {value!r})")
    return float(value)


def _choice(name: str, value: Any) -> str:
    if value not in CHOICES[name]:
        raise ConfigError(name, f"{name} must be one of {', '.join(CHOICES[name])} (got {value!r})")
    return value


def _center(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError("center", f"center must be true or false (got {value!r})")
    return value


def parse(data: Any, defaults: Settings = TUTORIAL) -> Settings:
    """Settings from a JSON object; missing keys take `defaults` (the tutorial's).
    Raises ConfigError naming the first bad field and what is allowed: the page's
    ranges first, then every rule of RunConfig's (`config.validate`)."""
    if not isinstance(data, dict):
        raise ConfigError("body", "the body must be a JSON object of settings")
    unknown = sorted(set(data) - set(NAMES))
    if unknown:
        raise ConfigError(unknown[0], f"unknown setting {unknown[0]!r} (settings: {', '.join(NAMES)})")
    d = {**defaults.to_dict(), **data}
    s = Settings(center=_center(d["center"]), **{name: _choice(name, d[name]) for name in CHOICES},
                 **{name: _number(name, d[name]) for name in RANGES})
    try:
        s.base()
    except ConfigError as err:  # RunConfig's words lack the field's name: "must be ..."
        raise ConfigError(err.field, f"{err.field} {err}") from None
    return s


def _side(name: str, err: ConfigError) -> ConfigError:
    """The error of one side of a comparison: "b.lr" and "b.lr must be ..."."""
    return ConfigError(f"{name}.{err.field}", f"{name}.{err}")


def parse_job(data: Any) -> tuple[Settings, Settings | None]:
    """A job's settings: one object of settings, or a comparison {"a": {...}, "b": {...}}
    trained on the same seeds (b takes a's `seeds` and `first_seed`; naming others is an
    error). Raises ConfigError naming the field, prefixed "b." for B's in a comparison;
    a job over MAX_WORK (both sides together) is an error on `seeds`."""
    if isinstance(data, dict) and ("a" in data or "b" in data):
        a, b = _comparison(data)
    else:
        a, b = parse(data), None
    work = a.work + (b.work if b is not None else 0)
    if work > MAX_WORK:
        raise ConfigError("seeds", f"seeds x epochs x parameters is {work:,}, over this server's "
                          f"limit of {MAX_WORK:,} per job: use fewer seeds or epochs")
    return a, b


def _comparison(data: dict) -> tuple[Settings, Settings]:
    extra = sorted(set(data) - {"a", "b"})
    if extra:
        raise ConfigError(extra[0], f"a comparison is {{\"a\": {{settings}}, \"b\": {{settings}}}}; "
                                    f"{extra[0]!r} is neither")
    for side in ("a", "b"):
        if not isinstance(data.get(side, {}), dict):
            raise ConfigError(side, f"{side} must be a JSON object of settings (got {data[side]!r:.40})")
    a = parse(data.get("a", {}))  # A's fields keep their names: they are the page's main controls
    try:
        b = parse(data.get("b", {}), defaults=Settings(seeds=a.seeds, first_seed=a.first_seed))
    except ConfigError as err:
        raise _side("b", err) from None
    for name in ("seeds", "first_seed"):
        if getattr(b, name) != getattr(a, name):
            raise ConfigError(f"b.{name}", f"b.{name} must equal a's ({getattr(a, name)}): both sides train "
                                          f"on the same seeds (got {getattr(b, name)})")
    return a, b


# The tutorial's run and its experiments, as the tutorial words them, then recipes
# beyond it that the study's rescue experiment (`xorlab experiment rescue`) and parity
# section found worth seeing. Each preset sets every control; a learner then changes
# one thing at a time, as the tutorial asks.
PARITY = Settings(activation="tanh", init="uniform", center=True, lr=0.1, epochs=300, inputs=4, hidden=4)
PRESETS: dict[str, dict[str, Any]] = {
    "tutorial": {"label": "The tutorial's run", "settings": TUTORIAL, "group": "tutorial",
                 "note": "sigmoid, PyTorch's default init, raw 0/1 inputs, lr 0.01, 100 epochs; 20 seeds"},
    "exp1": {"label": "Experiment 1 (activation units)", "settings": Settings(activation="tanh"), "group": "tutorial",
             "note": "Replace sigmoid with tanh and relu; run each several times. Which works best?"},
    "exp2": {"label": "Experiment 2 (weight initialization)", "settings": Settings(init="uniform"),
             "group": "tutorial", "note": "Weights from U(-1, 1); try sigmoid, tanh and relu. Any improvement?"},
    "exp3": {"label": "Experiment 3 (input normalization)", "settings": Settings(init="uniform", center=True),
             "group": "tutorial", "note": "Experiment 2 again with inputs centred around 0 (-1/+1)."},
    "exp4": {"label": "Experiment 4 (termination criteria)", "settings": Settings(), "group": "tutorial",
             "note": "Sigmoid: watch the loss flatten, drop, then flatten again. Stopped, or just slow?"},
    "exp5": {"label": "Experiment 5 (learning rate)", "group": "tutorial",
             "settings": Settings(activation="tanh", center=True, lr=0.1, seeds=1, first_seed=42),
             "note": "tanh, centred inputs, seed 42: try learning rates. Which learn, which diverge?"},
    "bonus": {"label": "Bonus (XOR of 3 inputs)", "settings": Settings(inputs=3, hidden=3), "group": "tutorial",
              "note": "Extend to 3, 4, 5 inputs: when must the hidden layer grow?"},
    "relu_adam": {"label": "relu with Adam", "group": "beyond",
                  "settings": Settings(activation="relu", optimizer="adam", lr=0.01),
                  "note": "relu fails on most seeds (dead units). Adam's steps do not shrink with the "
                          "gradient: compare it with plain SGD. Does it bring them back?"},
    "sigmoid_momentum": {"label": "sigmoid with momentum", "group": "beyond",
                         "settings": Settings(optimizer="momentum", momentum=0.9),
                         "note": "The tutorial's run with momentum 0.9 (worth ~10x the learning rate): "
                                 "nearly every seed leaves the plateau within 100 epochs"},
    "sigmoid_adam": {"label": "sigmoid with Adam", "group": "beyond",
                     "settings": Settings(optimizer="adam", lr=0.01),
                     "note": "The tutorial's run with Adam at lr 0.01: more seeds cross the plateau"},
    "batch_1": {"label": "sigmoid, batch size 1", "group": "beyond", "settings": Settings(batch_size=1),
                "note": "Ten times the steps per epoch: every seed succeeds, but at ten times the steps"},
    "parity4_deep": {"label": "4-bit parity, two layers", "group": "beyond",
                     "settings": dataclasses.replace(PARITY, layers=2),
                     "note": "The study's parity recipe (tanh, centred, U(-1, 1), lr 0.1, 300 epochs) on 4 "
                             "inputs: one layer of 4 fails on about half the seeds; two layers?"},
}


def choices() -> dict[str, list[dict[str, str]]]:
    return {name: [{"value": v, "label": LABELS[name].get(v, v)} for v in values] for name, values in CHOICES.items()}


def meta() -> dict[str, Any]:
    """What the page needs to build its controls: defaults, ranges (and which are on a
    log scale), choices with labels, which optimizers read momentum, each activation's
    formula, the job limit and the presets."""
    return {
        "defaults": TUTORIAL.to_dict(),
        "ranges": {**{name: [low, high] for name, (low, high, _) in RANGES.items()}, "log": list(LOG_SCALE)},
        "choices": choices(),
        "uses": {"momentum": list(MOMENTUM_OPTIMIZERS)},
        "activations": {name: a.name for name, a in REGISTRY.items()},
        "max_work": MAX_WORK,
        "presets": {k: {"label": p["label"], "note": p["note"], "group": p["group"],
                        "settings": p["settings"].to_dict()} for k, p in PRESETS.items()},
    }
