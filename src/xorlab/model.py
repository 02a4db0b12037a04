"""The tutorial's network, generalised: Linear(N, H) -> activation, then (for deeper
nets) Linear(H, H) -> activation per further hidden layer, then Linear(H, 1) -> squeeze."""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from . import twister
from .activations import REGISTRY
from .config import RunConfig

ACTIVATION_FNS = {name: a.torch_fn for name, a in REGISTRY.items()}

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def layer_shapes(inputs: int, hidden: int, layers: int = 1) -> list[tuple[str, int, int]]:
    """(name, fan_in, fan_out) of each Linear layer, in the order they are built: the
    hidden layers `dense1` .. `dense{layers}`, then the output `dense{layers + 1}`."""
    ins = [inputs] + [hidden] * layers
    outs = [hidden] * layers + [1]
    return [(f"dense{i + 1}", a, b) for i, (a, b) in enumerate(zip(ins, outs))]


class XorNet(nn.Module):
    """Layer names follow the tutorial (`dense1`, `dense2`) so printed parameters match;
    with more hidden layers the output layer is `dense{layers + 1}`."""

    def __init__(self, inputs: int = 2, hidden: int = 2, activation: str = "sigmoid", layers: int = 1):
        super().__init__()
        # Built in order, so each layer draws its initial weights as a user's script would.
        for name, fan_in, fan_out in layer_shapes(inputs, hidden, layers):
            setattr(self, name, nn.Linear(fan_in, fan_out))
        # Names, not a second attribute per layer: an nn.Module attribute is registered
        # again under its alias, and state_dict would then ask for `output.weight` too.
        self.layer_names = tuple(name for name, _, _ in layer_shapes(inputs, hidden, layers))
        self.activation = ACTIVATION_FNS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N) -> (B,)
        for name in self.layer_names[:-1]:
            x = self.activation(getattr(self, name)(x))  # (B, H)
        return torch.squeeze(getattr(self, self.layer_names[-1])(x))


def uniform_init_(model: XorNet) -> None:
    """The tutorial's Experiment 2 lines: U(-1, 1) drawn after the default init, over
    every parameter in order (dense1.weight, dense1.bias, dense2.weight, ...)."""
    with torch.no_grad():
        for p in model.parameters():
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
    model = XorNet(config.inputs, config.hidden, config.activation, config.layers)
    if config.init == "uniform":
        uniform_init_(model)
    return model.to(TORCH_DTYPES[config.dtype])


def initial_parameters(config: RunConfig) -> dict[str, torch.Tensor]:
    """The initial weights of `build_model(config)`, without touching torch's global RNG."""
    with torch.random.fork_rng(devices=[]):
        model = build_model(config)
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def seeded_parameters(config: RunConfig) -> dict[str, torch.Tensor]:
    """`initial_parameters` for a seeded config, drawn from a private generator.

    Replays what `torch.manual_seed(seed)` then `build_model` draws, in the same order
    and with the same bounds as `nn.Linear.reset_parameters` (Kaiming-uniform with
    a = sqrt(5), i.e. U(+-1/sqrt(fan_in)), for the weight; U(+-1/sqrt(fan_in)) for the
    bias), then the tutorial's U(-1, 1) lines. ~30x faster than building the module;
    a test proves it equal to `initial_parameters`.
    """
    g = torch.Generator().manual_seed(config.seed)
    params = {}
    for layer, fan_in, fan_out in layer_shapes(config.inputs, config.hidden, config.layers):
        weight = torch.empty(fan_out, fan_in)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=g)
        bound = 1 / math.sqrt(fan_in)
        params[f"{layer}.weight"] = weight
        params[f"{layer}.bias"] = torch.empty(fan_out).uniform_(-bound, bound, generator=g)
    if config.init == "uniform":
        for p in params.values():
            p.uniform_(-1.0, 1.0, generator=g)
    return {k: v.to(TORCH_DTYPES[config.dtype]) for k, v in params.items()}


def default_bounds(inputs: int, hidden: int, layers: int = 1) -> np.ndarray:
    """Each parameter's U(-bound, bound) in `nn.Linear.reset_parameters`, in
    named_parameters order (weights row-major), as the float32 that `uniform_` takes:
    (P,). kaiming_uniform_(a=sqrt(5)) computes its bound in Python floats as below."""
    bounds = []
    for _, fan_in, fan_out in layer_shapes(inputs, hidden, layers):
        gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))  # calculate_gain("leaky_relu", sqrt(5))
        bounds += [math.sqrt(3.0) * (gain / math.sqrt(fan_in))] * (fan_in * fan_out)
        bounds += [1 / math.sqrt(fan_in)] * fan_out
    return np.array(bounds, dtype=np.float32)


def drawn_parameters(configs: Sequence[RunConfig]) -> np.ndarray:
    """`seeded_parameters` of many seeded configs of one network shape, as float32 rows
    (R, P) in named_parameters order (weights row-major), bit for bit, without a torch
    call per run (~0.002 against ~0.05 ms per run): torch's generator and `uniform_`
    replayed in `twister`. Where they do not reproduce torch here (`_fused` found
    neither rounding), each run is drawn by `seeded_parameters`. A test proves it equal."""
    c = configs[0]
    fused = _fused()
    if fused is None:
        return np.stack([_flat(seeded_parameters(r.replace(dtype="float32"))) for r in configs])
    bound = default_bounds(c.inputs, c.hidden, c.layers)  # (P,)
    count = len(bound)
    words = np.empty((len(configs), 2 * count), dtype=np.uint32)  # default init, then U(-1, 1)
    twister.torch_words(np.array([r.seed for r in configs], dtype=np.int64), words)
    out = np.empty((len(configs), count), dtype=np.float32)
    twister.torch_uniform(words[:, :count], -bound, bound, fused, out)
    uniform = [i for i, r in enumerate(configs) if r.init == "uniform"]
    if uniform:  # the tutorial's Experiment 2 lines: U(-1, 1) over every parameter, drawn after
        ones = np.ones(count, dtype=np.float32)
        redrawn = np.empty((len(uniform), count), dtype=np.float32)
        twister.torch_uniform(np.ascontiguousarray(words[uniform, count:]), -ones, ones, fused, redrawn)
        out[uniform] = redrawn
    return out


def _flat(params: dict[str, torch.Tensor]) -> np.ndarray:
    return np.concatenate([p.numpy().ravel() for p in params.values()])


@functools.cache
def _fused() -> bool | None:
    """Whether torch's float32 `uniform_` rounds its multiply-add once (an FMA: its AVX2
    and AVX-512 kernels) or twice (DEFAULT) in this process, found by drawing 64 seeds'
    weights with torch itself and comparing; None if neither matches."""
    probe = [RunConfig(seed=s, inputs=3, hidden=5) for s in range(64)]
    want = np.stack([_flat(seeded_parameters(c)) for c in probe]).view(np.uint32)
    bound = default_bounds(3, 5)
    words = np.empty((len(probe), len(bound)), dtype=np.uint32)
    twister.torch_words(np.arange(len(probe), dtype=np.int64), words)
    for fused in (True, False):
        got = np.empty(want.shape, dtype=np.float32)
        twister.torch_uniform(words, -bound, bound, fused, got)
        if np.array_equal(got.view(np.uint32), want):
            return fused
    return None


def parameter_count(inputs: int = 2, hidden: int = 2, layers: int = 1) -> int:
    return sum((fan_in + 1) * fan_out for _, fan_in, fan_out in layer_shapes(inputs, hidden, layers))
