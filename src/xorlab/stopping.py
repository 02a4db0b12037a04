"""Stopping rules and plateau detection: pure functions on one run's curves.

A stopping rule reads a curve epoch by epoch, as it would during training, and returns
the number of epochs it lets the run train (1..T), or None when it never fires (the
run trains its whole budget). Curves are per epoch, shape (T,); a non-finite value
never counts as an improvement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# scikit-learn's MLPClassifier defaults (tol=1e-4, n_iter_no_change=10), see
# https://scikit-learn.org/stable/modules/generated/sklearn.neural_network.MLPClassifier.html
SKLEARN_TOL = 1e-4
SKLEARN_N_ITER_NO_CHANGE = 10

# A plateau: the loss improves by less than PLATEAU_REL_TOL (relative) over every
# PLATEAU_WINDOW epochs of the stretch. It is escaped when the loss later falls
# ESCAPE_DROP (relative) below its level at the plateau's end: the tutorial's
# "flattens out, and then improves a lot" (Experiment 4).
PLATEAU_WINDOW = 5
PLATEAU_REL_TOL = 0.01
ESCAPE_DROP = 0.25


def sklearn_stop(loss: np.ndarray, tol: float = SKLEARN_TOL,
                 n_iter_no_change: int = SKLEARN_N_ITER_NO_CHANGE) -> int | None:
    """scikit-learn's MLP convergence test (`_update_no_improvement_count` and the check
    in `_fit_stochastic`): an epoch counts as no improvement when its loss is above the
    best so far minus tol; training stops once more than n_iter_no_change epochs in a
    row count (sklearn's own test asserts the count is n_iter_no_change + 1 at the stop).
    """
    best, count = np.inf, 0
    for epoch, value in enumerate(loss, start=1):
        count = 0 if value <= best - tol else count + 1
        if value < best:
            best = value
        if count > n_iter_no_change:
            return epoch
    return None


def patience_stop(loss: np.ndarray, patience: int, min_delta: float = 0.0) -> int | None:
    """Early stopping on a validation loss, as in Keras' and Lightning's `EarlyStopping`:
    stop after `patience` epochs in a row without a new best (by more than min_delta)."""
    best, wait = np.inf, 0
    for epoch, value in enumerate(loss, start=1):
        if value < best - min_delta:
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch
    return None


def target_stop(accuracy: np.ndarray, target: float = 1.0) -> int | None:
    """Stop at the first epoch whose accuracy reaches the target."""
    hits = np.flatnonzero(np.asarray(accuracy) >= target)
    return int(hits[0]) + 1 if hits.size else None


def epoch_mean(train_loss: np.ndarray) -> np.ndarray:
    """Per-epoch train loss (T,) from the logged mini-batch losses (T, 5): the closest
    thing to sklearn's `loss_curve_` (the epoch's mean loss) that a run records."""
    return np.asarray(train_loss, dtype=float).mean(axis=1)


@dataclass(frozen=True)
class Plateau:
    """A flat stretch of a per-epoch loss curve, epochs as 0-based indices, inclusive."""

    start: int
    end: int
    level: float  # the loss at `end`
    drop: float  # relative fall below `level` afterwards: (level - later min) / level

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def escaped(self) -> bool:
        return self.drop >= ESCAPE_DROP


def flat_windows(loss: np.ndarray, window: int = PLATEAU_WINDOW, rel_tol: float = PLATEAU_REL_TOL) -> np.ndarray:
    """flat (T - window,): whether the loss improves by less than rel_tol over epochs s..s+window.
    A rising loss is flat (no improvement); a non-finite one is not (it is divergence)."""
    loss = np.asarray(loss, dtype=float)
    if loss.size <= window:
        return np.zeros(0, dtype=bool)
    before, after = loss[:-window], loss[window:]
    with np.errstate(invalid="ignore", divide="ignore"):
        gain = (before - after) / before
    return np.isfinite(before) & np.isfinite(after) & (gain < rel_tol)


def find_plateaus(loss: np.ndarray, window: int = PLATEAU_WINDOW, rel_tol: float = PLATEAU_REL_TOL) -> list[Plateau]:
    """Maximal stretches covered by consecutive flat windows, each with the drop after it."""
    loss = np.asarray(loss, dtype=float)
    flat = flat_windows(loss, window, rel_tol)
    plateaus = []
    s = 0
    while s < flat.size:
        if not flat[s]:
            s += 1
            continue
        first = s
        while s < flat.size and flat[s]:
            s += 1
        end = s - 1 + window
        plateaus.append(Plateau(first, end, float(loss[end]), _drop_after(loss, end)))
    return plateaus


def _drop_after(loss: np.ndarray, end: int) -> float:
    later = loss[end + 1:]
    later = later[np.isfinite(later)]
    level = loss[end]
    if later.size == 0 or level <= 0:
        return 0.0
    return max(0.0, float((level - later.min()) / level))
