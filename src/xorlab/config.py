"""The run configuration: one frozen dataclass that fully defines a training run.

Defaults are the tutorial's own settings (2-2-1 network, sigmoid, PyTorch's default
init, raw 0/1 inputs, noise 0.1, SGD with lr 0.01 and no weight decay, 100 epochs of
500 mini-batches of 10). The knobs beyond the tutorial (optimizer, momentum, batch
size, noise, weight decay, depth) are left out of a config's JSON and key while at
their defaults, so a tutorial run keeps the key and replay line it always had.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from .activations import NAMES

ACTIVATIONS = NAMES  # see activations.py
INITS = ("default", "uniform")
DTYPES = ("float32", "float64")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")  # torch.optim.SGD (plain, momentum, Nesterov), Adam
MOMENTUM_OPTIMIZERS = ("momentum", "nesterov")  # the ones that read `momentum`
MAX_BATCH_SIZE = 500
MAX_NOISE = 10.0
MAX_LAYERS = 3

# The tutorial's fixed data sizes: `batch_size = 10`, 500 train and 50 test batches,
# and three sample batches printed (and so drawn from the stream) before the data.
BATCH_SIZE = 10
TRAIN_BATCHES = 500
TEST_BATCHES = 50
SAMPLE_BATCHES = 3
LOG_EVERY = 100  # the tutorial prints the train loss when batch_idx % 100 == 0
TRAIN_EXAMPLES = TRAIN_BATCHES * BATCH_SIZE  # 5,000, cut into batches of a run's batch_size

# The `xorlab train` option that sets each field, in the order a replay line lists them:
# the CLI names them in error messages, `replay.train_command` writes replay lines with them.
FIELD_FLAGS = {
    "seed": "--seed",
    "activation": "--activation",
    "init": "--init",
    "lr": "--lr",
    "epochs": "--epochs",
    "inputs": "--inputs",
    "hidden": "--hidden",
    "dtype": "--dtype",
    "center": "--center",
    "optimizer": "--optimizer",
    "momentum": "--momentum",
    "batch_size": "--batch-size",
    "noise": "--noise",
    "weight_decay": "--weight-decay",
    "layers": "--layers",
}

# The knobs beyond the tutorial's recipe, with its values: a config leaves a knob out
# of its JSON (and so of its key, its replay line and its sweep line) while it is at
# this value, so stores and replay lines written before the knobs existed still match.
KNOB_DEFAULTS = {
    "optimizer": "sgd",
    "momentum": 0.9,
    "batch_size": BATCH_SIZE,
    "noise": 0.1,
    "weight_decay": 0.0,
    "layers": 1,
}
FLOAT_KNOBS = ("momentum", "noise", "weight_decay")

MAX_SEED = 2**63 - 1  # torch.manual_seed takes at most 64 bits; keep to signed range


class ConfigError(ValueError):
    """A configuration value is out of range; `field` names the offending setting."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run. Hashable, printable, JSON-serialisable."""

    inputs: int = 2
    hidden: int = 2
    activation: str = "sigmoid"
    init: str = "default"
    center: bool = False
    lr: float = 0.01
    epochs: int = 100
    seed: int | None = None
    dtype: str = "float32"
    optimizer: str = "sgd"
    momentum: float = 0.9  # read by the momentum and nesterov optimizers only
    batch_size: int = BATCH_SIZE  # training batches; test metrics stay 50 batches of 10
    noise: float = 0.1  # amplitude of the uniform noise on inputs and targets
    weight_decay: float = 0.0  # L2, as torch.optim applies it
    layers: int = 1  # hidden layers of `hidden` units each

    def __post_init__(self) -> None:
        validate(self)
        for name in FLOAT_KNOBS:  # 0 and 0.0 are one setting, with one key
            object.__setattr__(self, name, float(getattr(self, name)))

    # The test set is the tutorial's whatever the batch size.
    test_batches = TEST_BATCHES

    @property
    def train_batches(self) -> int:
        """S: the 5,000 training examples in batches of B, the last one smaller where
        B does not divide 5,000 (a DataLoader without drop_last)."""
        return math.ceil(TRAIN_EXAMPLES / self.batch_size)

    @property
    def test_total(self) -> int:
        return TEST_BATCHES * BATCH_SIZE

    def knobs(self) -> dict[str, Any]:
        """The knobs beyond the tutorial's recipe that differ from its values, in FIELD_FLAGS order."""
        return {k: getattr(self, k) for k in KNOB_DEFAULTS if getattr(self, k) != KNOB_DEFAULTS[k]}

    def to_dict(self) -> dict[str, Any]:
        """Every field, except knobs at the tutorial's values (see KNOB_DEFAULTS)."""
        d = dataclasses.asdict(self)
        for k, default in KNOB_DEFAULTS.items():
            if d[k] == default:
                del d[k]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(sorted(unknown)[0], f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def key(self) -> str:
        """A stable content hash (unlike hash(), the same across processes)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)


def logged_batches(c: RunConfig) -> tuple[int, ...]:
    """The training batches whose loss (before their step) is logged: every i in
    range(S) with i % 100 == 0, the tutorial's `batch_idx % 100 == 0`. Every engine
    logs these: RunResult.train_loss is (epochs, len(logged_batches(c))), (epochs, 5) at B = 10."""
    return tuple(range(0, c.train_batches, LOG_EVERY))


def available_memory_bytes() -> int:
    """Memory the OS says is available now (Linux); physical memory elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def validate(c: RunConfig) -> None:
    """Raise ConfigError naming the first invalid setting and what is allowed."""
    if c.activation not in ACTIVATIONS:
        raise ConfigError("activation", f"invalid choice {c.activation!r} (choose from {', '.join(ACTIVATIONS)})")
    if c.init not in INITS:
        raise ConfigError("init", f"invalid choice {c.init!r} (choose from {', '.join(INITS)})")
    if c.dtype not in DTYPES:
        raise ConfigError("dtype", f"invalid choice {c.dtype!r} (choose from {', '.join(DTYPES)})")
    if not isinstance(c.center, bool):
        raise ConfigError("center", f"must be true or false (got {c.center!r})")
    if isinstance(c.lr, bool) or not isinstance(c.lr, (int, float)) or not math.isfinite(c.lr) or c.lr <= 0:
        raise ConfigError("lr", f"must be a finite number > 0 (got {c.lr!r})")
    for name, low in (("epochs", 1), ("inputs", 1), ("hidden", 1)):
        value = getattr(c, name)
        if not _is_int(value) or value < low:
            raise ConfigError(name, f"must be an integer >= {low} (got {value!r})")
    if c.seed is not None and (not _is_int(c.seed) or not 0 <= c.seed <= MAX_SEED):
        raise ConfigError("seed", f"must be an integer from 0 to {MAX_SEED}, or none (got {c.seed!r})")
    validate_knobs(c)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def validate_knobs(c: RunConfig) -> None:
    """The knobs beyond the tutorial's recipe (see KNOB_DEFAULTS)."""
    if c.optimizer not in OPTIMIZERS:
        raise ConfigError("optimizer", f"invalid choice {c.optimizer!r} (choose from {', '.join(OPTIMIZERS)})")
    if not _is_number(c.momentum) or not 0 <= c.momentum < 1:
        raise ConfigError("momentum", f"must be a number with 0 <= momentum < 1 (got {c.momentum!r})")
    if c.momentum != KNOB_DEFAULTS["momentum"] and c.optimizer not in MOMENTUM_OPTIMIZERS:
        raise ConfigError("momentum", f"is used by the {' and '.join(MOMENTUM_OPTIMIZERS)} optimizers only "
                                      f"(got momentum {c.momentum!r} with optimizer {c.optimizer!r})")
    for name, low, high in (("batch_size", 1, MAX_BATCH_SIZE), ("layers", 1, MAX_LAYERS)):
        value = getattr(c, name)
        if not _is_int(value) or not low <= value <= high:
            raise ConfigError(name, f"must be an integer from {low} to {high} (got {value!r})")
    if not _is_number(c.noise) or not 0 <= c.noise <= MAX_NOISE:
        raise ConfigError("noise", f"must be a number from 0 to {MAX_NOISE:g} (got {c.noise!r})")
    if not _is_number(c.weight_decay) or c.weight_decay < 0:
        raise ConfigError("weight_decay", f"must be a finite number >= 0 (got {c.weight_decay!r})")

