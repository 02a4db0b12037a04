"""The one activation registry: every activation xorlab knows, and all it needs of one.

Each entry gives the hidden layer's function for the reference model (torch) and for
the jax engine's traced program (its gradient comes from jax.grad), its slope in numpy
(for the diagnosis of saturated units), whether it can saturate or die, and its colour
in figures. `config`, `model`, the engines, `diagnosis` and `plots` all read from
here, so adding an activation is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Activation:
    name: str
    torch_fn: Callable[[torch.Tensor], torch.Tensor]
    slope: Callable[[np.ndarray], np.ndarray]  # derivative at z over its maximum, numpy
    jax_fn: Callable  # the same function on JAX arrays, for the jax engine's traced program
    saturates: bool  # flat tails where gradients vanish (sigmoid, tanh)
    dies: bool  # off (exactly 0, no gradient) on a half-space (relu)
    color: str  # Okabe & Ito's colour-blind-safe palette


# The jax engine's functions; jax is imported only when a program is traced.
def _jax_sigmoid(z):
    import jax

    return jax.nn.sigmoid(z)


def _jax_tanh(z):
    import jax.numpy as jnp

    return jnp.tanh(z)


def _jax_relu(z):
    import jax

    return jax.nn.relu(z)  # its gradient at 0 is 0, as torch's threshold_backward


def _sigmoid_slope(z: np.ndarray) -> np.ndarray:
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s) / 0.25


REGISTRY: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", torch.sigmoid, _sigmoid_slope,
                   jax_fn=_jax_sigmoid, saturates=True, dies=False, color="#0072B2"),
        Activation("tanh", torch.tanh, lambda z: 1 - np.tanh(z) ** 2,
                   jax_fn=_jax_tanh, saturates=True, dies=False, color="#D55E00"),
        Activation("relu", F.relu, lambda z: np.ones_like(z), jax_fn=_jax_relu, saturates=False, dies=True, color="#009E73"),
        # No hidden non-linearity: the whole net is affine, and cannot fit XOR.
        Activation("linear", lambda z: z, lambda z: np.ones_like(z),
                   jax_fn=lambda z: z, saturates=False, dies=False, color="#999999"),
    )
}

NAMES = tuple(REGISTRY)


def get(name: str) -> Activation:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r} (choose from {', '.join(NAMES)})") from None
