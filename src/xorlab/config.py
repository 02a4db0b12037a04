"""The run configuration: one frozen dataclass that fully defines a training run.

Defaults are the tutorial's own settings (2-2-1 network, sigmoid, PyTorch's default
init, raw 0/1 inputs, SGD with lr 0.01, 100 epochs of 500 mini-batches of 10).
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

# The tutorial's fixed data sizes: `batch_size = 10`, 500 train and 50 test batches,
# and three sample batches printed (and so drawn from the stream) before the data.
BATCH_SIZE = 10
TRAIN_BATCHES = 500
TEST_BATCHES = 50
SAMPLE_BATCHES = 3
LOG_EVERY = 100  # the tutorial prints the train loss when batch_idx % 100 == 0

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
}

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

    def __post_init__(self) -> None:
        validate(self)

    # Derived sizes, fixed by the tutorial.
    batch_size = BATCH_SIZE
    train_batches = TRAIN_BATCHES
    test_batches = TEST_BATCHES

    @property
    def test_total(self) -> int:
        return TEST_BATCHES * BATCH_SIZE

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

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


def check_fits_in_memory(c: RunConfig, runs: int = 1) -> None:
    """Refuse sizes that cannot fit, before allocating anything: the planner's memory
    model (engines/plan.py) for `runs` runs trained one at a time."""
    from .engines.plan import check_fits

    check_fits(c, runs, lanes=1)
