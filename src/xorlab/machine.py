"""What a number depends on beyond its config: PyTorch's build and the CPU kernels it uses.

PyTorch picks its CPU kernels by vector unit (AVX-512, AVX2, or its portable default;
the environment variable ATEN_CPU_CAPABILITY overrides the choice), and their float
rounding differs. So a float32 run is reproducible digit for digit on the same machine
with the same torch; on another CPU its losses may part in the last printed digit and,
after many epochs, a test count by one or two. Everything that states a result
(`xorlab train --verbose`, the stored runs, the JSON lines, the report) states these
two facts too, with the host: `provenance()` is the one record of them.
"""

from __future__ import annotations

import socket

import torch


def torch_version() -> str:
    return torch.__version__


def cpu_capability() -> str:
    """PyTorch's name for the kernels it runs on this CPU, e.g. 'AVX512', 'AVX2', 'DEFAULT'."""
    return torch.backends.cpu.get_cpu_capability()


def describe() -> str:
    return f"torch {torch_version()}, CPU capability {cpu_capability()}"


def provenance() -> dict[str, str]:
    """Where this process trains: host, torch version, the CPU capability PyTorch's
    kernels dispatch to (e.g. 'AVX512', 'AVX2': their float rounding can differ).
    The same keys everywhere: stored runs, JSON lines, manifests, the report."""
    return {"host": socket.gethostname(), "torch": torch_version(), "cpu_capability": cpu_capability()}
