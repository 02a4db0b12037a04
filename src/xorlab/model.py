"""The tutorial's network, generalised: Linear(N, H) -> activation -> Linear(H, 1) -> squeeze."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import RunConfig

ACTIVATION_FNS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "linear": lambda z: z,  # no hidden non-linearity: the whole net is affine
}

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class XorNet(nn.Module):
    """Layer names follow the tutorial (`dense1`, `dense2`) so printed parameters match."""

    def __init__(self, inputs: int = 2, hidden: int = 2, activation: str = "sigmoid"):
        super().__init__()
        self.dense1 = nn.Linear(inputs, hidden)
        self.dense2 = nn.Linear(hidden, 1)
        self.activation = ACTIVATION_FNS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N) -> (B,)
        return torch.squeeze(self.dense2(self.activation(self.dense1(x))))


def uniform_init_(model: XorNet) -> None:
    """The tutorial's Experiment 2 lines: U(-1, 1) drawn after the default init, in this order."""
    with torch.no_grad():
        for p in (model.dense1.weight, model.dense1.bias, model.dense2.weight, model.dense2.bias):
            p.uniform_(-1.0, 1.0)


def build_model(config: RunConfig) -> XorNet:
    """The run's initial network.

    With a seed, torch's global generator is seeded right before the layers are built,
    as the tutorial's `torch.manual_seed(42)` line does, so the initial weights are the
    script's. Weights are drawn in float32 (the tutorial's stream) and then cast, so a
    float64 run starts from the same point as its float32 twin.
    """
    if config.seed is not None:
        torch.manual_seed(config.seed)
    model = XorNet(config.inputs, config.hidden, config.activation)
    if config.init == "uniform":
        uniform_init_(model)
    return model.to(TORCH_DTYPES[config.dtype])


def initial_parameters(config: RunConfig) -> dict[str, torch.Tensor]:
    """The initial weights of `build_model(config)`, without touching torch's global RNG."""
    with torch.random.fork_rng(devices=[]):
        model = build_model(config)
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def parameter_count(inputs: int = 2, hidden: int = 2) -> int:
    return sum(p.numel() for p in XorNet(inputs, hidden).parameters())
