"""Experiment 3 (input normalization): raw 0/1 inputs vs inputs centred to -1/+1,
per activation and init."""

from __future__ import annotations

from ..config import RunConfig
from .base import Experiment, Findings, Lab, Scale, grid
from .settings_grid import Comparison, findings, pair_answer, pair_numbers, ranked
from .init import TUTORIAL_ACTIVATIONS


class CenteringExperiment(Experiment):
    name = "centering"
    title = "Experiment 3 (input normalization)"
    question = "Do the same thing as above after centering the input around 0."

    def configs(self, scale: Scale) -> list[RunConfig]:
        # The raw cells are Experiment 2's cells: same configs, same seeds.
        return grid(scale, activation=TUTORIAL_ACTIVATIONS, init=("default", "uniform"), center=(False, True))

    def run(self, lab: Lab, scale: Scale) -> Findings:
        comparison = Comparison(lab.run(self.configs(scale)), ("activation", "init", "center"))
        order = ranked(comparison.rows)
        answer = pair_answer(comparison, "center", False, True, "Centring the inputs (and targets) around 0")
        numbers = {"centred_vs_raw": pair_numbers(comparison, "center", False, True)}
        return findings(comparison, answer, numbers, order, "Input centring")


EXPERIMENT = CenteringExperiment()
