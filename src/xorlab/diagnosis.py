"""Why a run failed: pure functions of a `RunResult` (its final weights and curves).

The network is evaluated on the noise-free corners of the input cube (0/1, or -1/+1
when the run's inputs are centred), which is where the tutorial's data lives (each
point is a corner plus at most 0.1 of noise per input). From the hidden layer's
pre-activations there we can name what went wrong:

- *dead unit*: a ReLU unit whose pre-activation is <= 0 on every corner. It outputs 0
  and gets zero gradient on all of the data, so it never recovers, and one ReLU unit
  alone cannot represent XOR (relu of an affine map is convex and monotone along the
  line through the corners; the corner pairs {00, 11} and {01, 10} have the same sum).
- *saturated unit*: a sigmoid/tanh unit whose derivative is below 5% of its maximum on
  every corner and whose pre-activation has the same sign on all of them: its output
  is constant over the data and its gradient nearly vanishes (LeCun et al. 1998,
  "Efficient BackProp", section 4.4).
- *affine*: the linear control; with no hidden non-linearity the whole net is affine
  and no affine map separates XOR (Minsky & Papert 1969).
- *still learning*: the test loss was still falling at the end of the budget.
- *constant output*: the output barely changes across the corners: the net predicts
  about the mean target everywhere, the plateau where training starts (and where
  sigmoid nets sit for many epochs) before the hidden units split the corners.
- *stuck at k of C corners*: a settled run that gets only k corners right (for XOR,
  3 of 4 is 75% and 2 of 4 is 50% accuracy).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

from . import activations
from .config import RunConfig
from .model import XorNet
from .result import RunResult
from .stats import group

# A unit is saturated where its activation's derivative is below this share of its
# maximum (sigmoid' peaks at 0.25, tanh' at 1): |z| > 3.7 for sigmoid, |z| > 2.2 for tanh.
SATURATION = 0.05
# A failed run is "still learning" when its test loss fell by more than this share
# over the last STILL_WINDOW epochs.
STILL_IMPROVING = 0.02
STILL_WINDOW = 10

# The output is "constant" when its range over the corners is below this share of the
# targets' range (1 for 0/1 targets, 2 for -1/+1).
CONSTANT_OUTPUT = 0.2

SUCCESS = "success"
DIVERGED = "diverged"
DEAD_UNIT = "dead unit"
SATURATED_UNIT = "saturated unit"
AFFINE = "affine (no non-linearity)"
STILL_LEARNING = "still learning"
CONSTANT = "constant output"


@dataclass(frozen=True)
class Diagnosis:
    """What one run's final network does on the corners, and the mode that follows.

    dead, saturated: indices of the hidden units found dead (ReLU) or saturated.
    corners_right: corners whose rounded output equals the rounded target (of 2**N).
    """

    mode: str
    dead: tuple[int, ...]
    saturated: tuple[int, ...]
    corners_right: int
    corners: int
    still_learning: bool
    constant: bool


def corners(inputs: int = 2, center: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """All 2**N noise-free input corners (C, N) and their parity targets (C,), float64."""
    bits = np.array(list(itertools.product((0, 1), repeat=inputs)), dtype=np.float64)  # (C, N)
    y = bits.sum(axis=1) % 2  # (C,)
    if center:
        return 2 * (bits - 0.5), 2 * (y - 0.5)
    return bits, y


def rebuild(config: RunConfig, params: dict[str, np.ndarray]) -> XorNet:
    """The run's final network, in float64, from its stored parameters."""
    model = XorNet(config.inputs, config.hidden, config.activation, config.layers).double()
    state = {name: torch.as_tensor(np.asarray(value, dtype=np.float64)) for name, value in params.items()}
    model.load_state_dict(state)
    return model.eval()


@torch.no_grad()
def forward(config: RunConfig, params: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """The net on points x (P, N): hidden pre-activations `pre` (P, L*H), hidden outputs
    `hidden` (P, L*H) (every hidden layer's units side by side, the first layer's
    first) and the network's output `out` (P,)."""
    model = rebuild(config, params)
    h = torch.as_tensor(np.asarray(x, dtype=np.float64))  # (P, N)
    pres, hiddens = [], []
    for name in model.layer_names[:-1]:
        pres.append(getattr(model, name)(h))  # (P, H)
        h = model.activation(pres[-1])  # (P, H)
        hiddens.append(h)
    out = getattr(model, model.layer_names[-1])(h)[:, 0]  # (P,)
    return {"pre": torch.cat(pres, dim=1).numpy(), "hidden": torch.cat(hiddens, dim=1).numpy(), "out": out.numpy()}


def dead_units(activation: str, pre: np.ndarray) -> tuple[int, ...]:
    """ReLU units (columns of pre (C, H)) that are off on every corner."""
    if not activations.get(activation).dies:
        return ()
    return tuple(int(j) for j in np.flatnonzero((pre <= 0).all(axis=0)))


def activation_slope(activation: str, pre: np.ndarray) -> np.ndarray:
    """The activation's derivative at pre, divided by its maximum (1 at the steepest point)."""
    return activations.get(activation).slope(pre)


def saturated_units(activation: str, pre: np.ndarray) -> tuple[int, ...]:
    """Sigmoid/tanh units (columns of pre (C, H)) that are flat and on one side on every corner."""
    if not activations.get(activation).saturates:
        return ()
    flat = (activation_slope(activation, pre) < SATURATION).all(axis=0)  # (H,)
    one_side = (pre > 0).all(axis=0) | (pre < 0).all(axis=0)  # (H,)
    return tuple(int(j) for j in np.flatnonzero(flat & one_side))


def still_learning(test_loss: np.ndarray, window: int = STILL_WINDOW, tol: float = STILL_IMPROVING) -> bool:
    """Whether the test loss (epochs,) fell by more than tol (relative) over the last window epochs."""
    if len(test_loss) < 2 or not np.isfinite(test_loss).all():
        return False
    start = test_loss[-min(window, len(test_loss) - 1) - 1]
    return bool(test_loss[-1] < (1 - tol) * start)


def corners_right(out: np.ndarray, y: np.ndarray) -> int:
    """How many corners the tutorial's test would count correct: round(output) == round(target)."""
    return int((np.round(out) == np.round(y)).sum())


def stuck_label(right: int, total: int) -> str:
    return f"stuck at {right} of {total} corners"


def diagnose(result: RunResult) -> Diagnosis:
    """The run's failure mode (or "success"), from its final weights and test-loss curve."""
    c = result.config
    x, y = corners(c.inputs, c.center)
    if result.diverged:
        return Diagnosis(DIVERGED, (), (), 0, len(y), False, False)
    net = forward(c, result.params, x)
    dead = dead_units(c.activation, net["pre"])
    saturated = saturated_units(c.activation, net["pre"])
    right = corners_right(net["out"], y)
    learning = still_learning(result.test_loss)
    constant = constant_output(net["out"], y)
    diagnosis = Diagnosis("", dead, saturated, right, len(y), learning, constant)
    return dataclasses.replace(diagnosis, mode=_mode(result, diagnosis))


def constant_output(out: np.ndarray, y: np.ndarray) -> bool:
    """Whether the output (C,) spans less than CONSTANT_OUTPUT of the targets' range (C,)."""
    return bool(np.ptp(out) < CONSTANT_OUTPUT * np.ptp(y))


def _mode(result: RunResult, d: Diagnosis) -> str:
    # Causes before symptoms: a dead or saturated unit explains a plateau, not the reverse.
    if result.success:
        return SUCCESS
    if d.dead:
        return DEAD_UNIT
    if d.saturated:
        return SATURATED_UNIT
    if result.config.activation == "linear":
        return AFFINE
    if d.still_learning:
        return STILL_LEARNING
    if d.constant:
        return CONSTANT
    return stuck_label(d.corners_right, d.corners)


def mode_counts(results: Iterable[RunResult]) -> Counter:
    """How many runs fall in each mode (successes included, under "success")."""
    return Counter(diagnose(r).mode for r in results)


def failure_rows(results: Sequence[RunResult], by: Sequence[str]) -> list[dict]:
    """One row per cell and failure mode: runs in that mode and their share of the cell,
    most common first within a cell. Successful runs are not listed."""
    rows = []
    for key, cell in group(results, by).items():
        for mode, count in mode_counts(cell).most_common():
            if mode != SUCCESS:
                rows.append({**dict(zip(by, key)), "mode": mode, "runs": count, "share": count / len(cell)})
    return rows


def typical(results: Sequence[RunResult], success: bool) -> RunResult | None:
    """The run with the median final test loss among the successful (or failed) ones."""
    pool = [r for r in results if r.success == success and not r.diverged]
    if not pool:
        pool = [r for r in results if r.success == success]
    if not pool:
        return None
    ranked = sorted(pool, key=lambda r: (r.final_test_loss, r.config.seed))
    return ranked[(len(ranked) - 1) // 2]
