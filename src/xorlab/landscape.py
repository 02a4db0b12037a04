"""The loss surface: a network's loss at given parameters, and along paths between them.

Pure functions of (parameters, data). Parameters are the dicts a `RunResult` carries
(`dense1.weight` (H, N), `dense1.bias` (H,), `dense2.weight` (1, H), `dense2.bias` (1,)),
as numpy arrays; everything is evaluated in float64 with the tutorial's network
(`XorNet`) through `torch.func.functional_call`, so no module state is touched.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from .model import XorNet

Params = Mapping[str, np.ndarray]


def _network(params: Params, activation: str) -> XorNet:
    hidden, inputs = np.shape(params["dense1.weight"])
    return XorNet(inputs, hidden, activation).double()


def outputs(params: Params, x: np.ndarray, activation: str) -> np.ndarray:
    """The network's output at `params` for points x (P, N) -> (P,)."""
    net = _network(params, activation)
    tensors = {k: torch.as_tensor(np.asarray(v), dtype=torch.float64) for k, v in params.items()}
    with torch.no_grad():
        out = functional_call(net, tensors, (torch.as_tensor(x, dtype=torch.float64).reshape(-1, x.shape[-1]),))
    return out.reshape(-1).numpy()


def loss(params: Params, x: np.ndarray, y: np.ndarray, activation: str) -> float:
    """Mean squared error (the tutorial's `F.mse_loss`) over all points.

    x (..., N), y (...): any batch layout; with equal-sized batches this equals the
    mean of the per-batch losses the trainer reports.
    """
    out = torch.as_tensor(outputs(params, x, activation))
    return float(F.mse_loss(out, torch.as_tensor(np.asarray(y, dtype=np.float64).reshape(-1))))


def permute_hidden(params: Params, order: np.ndarray) -> dict[str, np.ndarray]:
    """The same function with its hidden units reordered: rows of dense1, columns of dense2.

    Hidden unit j of the result is unit order[j] of the input; the network's output is
    unchanged for every input, so the loss is too.
    """
    order = np.asarray(order)
    return {
        "dense1.weight": np.asarray(params["dense1.weight"])[order],
        "dense1.bias": np.asarray(params["dense1.bias"])[order],
        "dense2.weight": np.asarray(params["dense2.weight"])[:, order],
        "dense2.bias": np.asarray(params["dense2.bias"]).copy(),
    }


def cyclic_order(hidden: int) -> np.ndarray:
    """A permutation that moves every hidden unit (for H >= 2): unit j takes unit j+1's place."""
    return np.roll(np.arange(hidden), -1)


def interpolate(a: Params, b: Params, t: float) -> dict[str, np.ndarray]:
    """The point (1 - t) a + t b on the straight line from a (t = 0) to b (t = 1)."""
    return {k: (1.0 - t) * np.asarray(a[k], dtype=np.float64) + t * np.asarray(b[k], dtype=np.float64) for k in a}


def path_losses(a: Params, b: Params, x: np.ndarray, y: np.ndarray, activation: str,
                steps: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Loss along the straight line from a to b: t (S,) evenly from 0 to 1, loss (S,)."""
    t = np.linspace(0.0, 1.0, steps)
    return t, np.array([loss(interpolate(a, b, ti), x, y, activation) for ti in t])
