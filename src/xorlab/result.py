"""What a training run returns, the same for every engine."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import LOG_EVERY, TRAIN_BATCHES, RunConfig
from .formatting import json_number

# The logged batches at the tutorial's batch size (config.logged_batches(c) for any run).
LOGGED_BATCHES = tuple(range(0, TRAIN_BATCHES, LOG_EVERY))  # 0, 100, 200, 300, 400


@dataclass
class RunResult:
    """One run's history and outcome.

    train_loss (epochs, L): the mini-batch loss at batches 0, 100, 200, ... of each
    epoch, before that batch's step (what the tutorial prints); L =
    len(config.logged_batches(c)), 5 at the tutorial's batch size of 10.
    test_loss (epochs,): mean of the 50 test-batch losses after each epoch.
    test_correct (epochs,): test points whose rounded output equals the rounded target.
    params: final parameters by name (`dense1.weight` (H, N), `dense1.bias` (H,),
    `dense2.weight` (1, H), `dense2.bias` (1,); with more hidden layers `dense2` and
    `dense3` are (H, H), (H,) and the output layer is `dense{layers + 1}`).
    """

    config: RunConfig
    train_loss: np.ndarray
    test_loss: np.ndarray
    test_correct: np.ndarray
    params: dict[str, np.ndarray]
    engine: str = "classic"
    extras: dict = field(default_factory=dict)

    @property
    def test_total(self) -> int:
        return self.config.test_total

    @property
    def accuracy(self) -> np.ndarray:
        return self.test_correct / self.test_total

    @property
    def final_test_loss(self) -> float:
        return float(self.test_loss[-1])

    @property
    def final_correct(self) -> int:
        return int(self.test_correct[-1])

    @property
    def final_accuracy(self) -> float:
        return self.final_correct / self.test_total

    @property
    def success(self) -> bool:
        """The tutorial's goal: 100% test accuracy after the epoch budget."""
        return self.final_correct == self.test_total

    @property
    def diverged(self) -> bool:
        """A non-finite loss at any logged point, or non-finite final parameters."""
        finite = np.isfinite(self.train_loss).all() and np.isfinite(self.test_loss).all()
        return not (finite and all(np.isfinite(p).all() for p in self.params.values()))

    def summary(self) -> dict:
        """The flat record a sweep writes (JSON-safe: non-finite floats become None)."""
        c = self.config
        return {
            "seed": c.seed,
            "activation": c.activation,
            "init": c.init,
            "center": c.center,
            "lr": c.lr,
            "inputs": c.inputs,
            "hidden": c.hidden,
            "epochs": c.epochs,
            "dtype": c.dtype,
            **c.knobs(),  # only the knobs set away from the tutorial's values
            "engine": self.engine,
            "final_test_loss": json_number(self.final_test_loss),
            "final_correct": self.final_correct,
            "test_total": self.test_total,
            "final_accuracy": self.final_accuracy,
            "diverged": self.diverged,
            "test_loss": [json_number(v) for v in self.test_loss.tolist()],
            "accuracy": self.accuracy.tolist(),
        }


@dataclass(frozen=True)
class EpochSnapshot:
    """Where some runs stand after an epoch: what a live view draws while they train.

    indices: positions, in the configs given to `engines.run_many`, of the runs in this
    snapshot (an engine reports the runs it trains together; every run appears once
    per epoch). Arrays are per run, in `indices` order, copies the caller may keep.
    """

    epoch: int  # epochs finished, 1-based
    indices: tuple[int, ...]
    test_loss: np.ndarray  # (R,) float64: mean test-batch loss after this epoch
    test_correct: np.ndarray  # (R,) int64
    params: tuple[dict[str, np.ndarray], ...]  # each run's parameters, named as RunResult.params
