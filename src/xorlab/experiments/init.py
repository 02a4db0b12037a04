"""Experiment 2 (weight initialization): PyTorch's default init vs U(-1, 1), per activation."""

from __future__ import annotations

from ..config import RunConfig
from .base import Experiment, Findings, Lab, Scale, grid
from .settings_grid import Comparison, findings, pair_answer, pair_numbers, ranked

# The activations Experiments 2 and 3 compare: the ones the tutorial names (Experiment 1
# also runs `linear`, every name of config.ACTIVATIONS).
TUTORIAL_ACTIVATIONS = ("sigmoid", "tanh", "relu")


class InitExperiment(Experiment):
    name = "init"
    title = "Experiment 2 (weight initialization)"
    question = "Did you notice any improvement for any activation type?"

    def configs(self, scale: Scale) -> list[RunConfig]:
        # The default-init cells are Experiment 1's cells: same configs, same seeds.
        return grid(scale, activation=TUTORIAL_ACTIVATIONS, init=("default", "uniform"))

    def run(self, lab: Lab, scale: Scale) -> Findings:
        comparison = Comparison(lab.run(self.configs(scale)), ("activation", "init"))
        order = ranked(comparison.rows)
        answer = pair_answer(comparison, "init", "default", "uniform", "Initialising the weights from U(-1, 1)")
        numbers = {"uniform_vs_default": pair_numbers(comparison, "init", "default", "uniform")}
        return findings(comparison, answer, numbers, order, "Weight initialization")


EXPERIMENT = InitExperiment()
