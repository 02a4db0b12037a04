"""The one activation registry: every activation xorlab knows, and all it needs of one.

Each entry gives the hidden layer's function for the reference model (torch), its
backward as autograd writes it (for the batched engine's hand-written gradients), its
slope in numpy (for the diagnosis of saturated units), the fused engine's kernel code,
whether it can saturate or die, and its colour in figures. `config`, `model`, the
engines, `diagnosis` and `plots` all read from here, so adding an activation is one
entry here plus its branch in `engines/kernels.py` (`KERNEL_ACTIVATIONS` there must
list the same codes: a mismatch fails at import of the engine, not in a sweep).
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
    # backward(g, z, a): the gradient w.r.t. the pre-activation z, from the upstream
    # gradient g and the output a, in autograd's own formula (see batched.sgd_step).
    backward: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
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


# autograd's formulas: sigmoid_backward = g * (1 - a) * a, tanh_backward = g * (1 - a * a),
# threshold_backward(g, a, 0) = g where a > 0.
REGISTRY: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", torch.sigmoid, lambda g, z, a: g * (1 - a) * a, _sigmoid_slope,
                   jax_fn=_jax_sigmoid, saturates=True, dies=False, color="#0072B2"),
        Activation("tanh", torch.tanh, lambda g, z, a: g * (1 - a * a), lambda z: 1 - np.tanh(z) ** 2,
                   jax_fn=_jax_tanh, saturates=True, dies=False, color="#D55E00"),
        Activation("relu", F.relu, lambda g, z, a: torch.where(a > 0, g, torch.zeros_like(g)),
                   lambda z: np.ones_like(z), jax_fn=_jax_relu, saturates=False, dies=True, color="#009E73"),
        # No hidden non-linearity: the whole net is affine, and cannot fit XOR.
        Activation("linear", lambda z: z, lambda g, z, a: g, lambda z: np.ones_like(z),
                   jax_fn=lambda z: z, saturates=False, dies=False, color="#999999"),
    )
}

NAMES = tuple(REGISTRY)


def get(name: str) -> Activation:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r} (choose from {', '.join(NAMES)})") from None
