"""The tutorial's experiments, each a small module on the shared mechanism in `base`."""

from __future__ import annotations

import importlib

from .base import Experiment, Findings, Lab, Scale, run_experiment

# name -> module; each module defines EXPERIMENT, an Experiment instance.
# Order is the tutorial's.
MODULES = {
    "activation": "activation",
    "init": "init",
    "centering": "centering",
    "termination": "termination",
    "lr": "lr",
    "parity": "parity",
    "baselines": "baselines",
    "conclusion": "conclusion",
    "rescue": "rescue",  # beyond the tutorial
}


def get(name: str) -> Experiment:
    if name not in MODULES:
        raise KeyError(name)
    return importlib.import_module(f".{MODULES[name]}", __name__).EXPERIMENT


def names() -> list[str]:
    return list(MODULES)


__all__ = ["Experiment", "Findings", "Lab", "Scale", "get", "names", "run_experiment"]
