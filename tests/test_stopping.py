"""Stopping rules and plateau detection on hand-made curves whose answers are known."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from xorlab.stopping import (
    PLATEAU_WINDOW, epoch_mean, find_plateaus, flat_windows, patience_stop, sklearn_stop, target_stop,
)


@pytest.mark.parametrize("n", [2, 5, 10])
def test_sklearn_stop_on_a_flat_curve_stops_after_n_plus_one_epochs_without_improvement(n):
    # Epoch 1 sets the best; epochs 2 .. n + 2 are the n + 1 that do not beat it.
    assert sklearn_stop(np.full(100, 0.25), n_iter_no_change=n) == n + 2


def test_sklearn_stop_never_fires_while_each_epoch_improves_by_more_than_tol():
    assert sklearn_stop(1.0 - 2e-4 * np.arange(100)) is None


def test_sklearn_stop_counts_improvements_smaller_than_tol_as_none():
    assert sklearn_stop(1.0 - 5e-5 * np.arange(100)) == 12


def test_sklearn_stop_counts_from_the_last_real_improvement():
    loss = np.concatenate([1.0 - 0.1 * np.arange(5), np.full(30, 0.6)])  # best at epoch 5
    assert sklearn_stop(loss) == 5 + 11


def test_sklearn_stop_treats_a_non_finite_loss_as_no_improvement():
    loss = np.concatenate([[1.0], np.full(20, np.nan)])
    assert sklearn_stop(loss) == 12


def _sklearn_reference_stop(loss: np.ndarray, tol: float, n: int) -> int | None:
    """Drive scikit-learn's own counter with a given loss curve, epoch by epoch."""
    clf = MLPClassifier(tol=tol, n_iter_no_change=n)
    clf.loss_curve_, clf.best_loss_, clf._no_improvement_count = [], np.inf, 0
    extra = (None,) * (len(inspect.signature(clf._update_no_improvement_count).parameters) - 1)
    for epoch, value in enumerate(loss, start=1):
        clf.loss_curve_.append(float(value))
        clf._update_no_improvement_count(False, *extra)
        if clf._no_improvement_count > clf.n_iter_no_change:
            return epoch
    return None


@pytest.mark.parametrize("seed", range(5))
def test_sklearn_stop_agrees_with_scikit_learns_own_counter(seed):
    rng = np.random.default_rng(seed)
    # A noisy, slowly falling curve: improvements around tol, so the counter resets often.
    loss = 0.3 - np.cumsum(rng.uniform(-1e-4, 3e-4, size=200))
    for tol, n in ((1e-4, 10), (5e-5, 3)):
        assert sklearn_stop(loss, tol, n) == _sklearn_reference_stop(loss, tol, n)


@pytest.mark.parametrize("patience", [1, 5, 20])
def test_patience_stop_fires_patience_epochs_after_the_best(patience):
    loss = np.concatenate([[0.5, 0.4, 0.3], np.full(50, 0.35)])  # best at epoch 3
    assert patience_stop(loss, patience) == 3 + patience


def test_patience_stop_restarts_its_wait_on_each_new_best():
    loss = np.array([0.5, 0.6, 0.6, 0.4, 0.6, 0.6, 0.3, 0.6, 0.6, 0.6])
    assert patience_stop(loss, 3) == 10
    assert patience_stop(loss[:9], 3) is None


def test_patience_stop_needs_more_than_min_delta():
    loss = 1.0 - 1e-3 * np.arange(20)
    assert patience_stop(loss, 5) is None
    assert patience_stop(loss, 5, min_delta=1e-2) == 6


def test_target_stop_is_the_first_epoch_at_the_target():
    assert target_stop(np.array([0.5, 0.75, 1.0, 0.99, 1.0])) == 3
    assert target_stop(np.array([0.5, 0.75, 0.99])) is None


def test_epoch_mean_averages_the_logged_batches_of_each_epoch():
    train = np.arange(15, dtype=float).reshape(3, 5)  # (T, 5)
    assert epoch_mean(train).tolist() == [2.0, 7.0, 12.0]


def _plateau_drop_plateau() -> np.ndarray:
    """Flat at 0.25 for epochs 0-19, falls 30% per epoch for 10 epochs, then flat to 39."""
    loss = np.empty(40)
    loss[:20] = 0.25
    loss[20:30] = 0.25 * 0.7 ** np.arange(1, 11)
    loss[30:] = loss[29]
    return loss


def test_find_plateaus_finds_the_flat_then_drop_and_the_final_flat():
    plateaus = find_plateaus(_plateau_drop_plateau())
    assert [(p.start, p.end) for p in plateaus] == [(0, 19), (29, 39)]
    first, last = plateaus
    assert first.escaped and first.level == 0.25
    assert first.drop == pytest.approx(1 - 0.7**10)
    assert not last.escaped and last.drop == 0.0
    assert first.length == 20


def test_a_steady_fall_has_no_plateau():
    assert find_plateaus(0.95 ** np.arange(60)) == []


def test_a_small_late_drop_does_not_escape_a_plateau():
    loss = np.concatenate([np.full(20, 0.25), np.full(10, 0.22)])  # 12% lower: not "a lot"
    (plateau, *rest) = find_plateaus(loss)
    assert not plateau.escaped and plateau.drop == pytest.approx(0.12)


def test_rising_loss_is_flat_but_non_finite_loss_is_not():
    rising = np.linspace(0.1, 0.2, 12)
    assert flat_windows(rising).all()
    broken = rising.copy()
    broken[6:] = np.nan
    assert not flat_windows(broken)[1:].any()


def test_curves_no_longer_than_the_window_have_no_plateaus():
    assert find_plateaus(np.full(PLATEAU_WINDOW, 0.25)) == []
    assert flat_windows(np.full(2, 0.25)).shape == (0,)
