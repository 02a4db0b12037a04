"""Experiment 1 (activation units): sigmoid, tanh and relu, with linear as the control."""

from __future__ import annotations

from .. import diagnosis
from ..config import ACTIVATIONS, RunConfig
from ..formatting import plural
from .base import Experiment, Findings, Lab, Scale, grid
from .settings_grid import MODE_TEXT, Comparison, disjoint, failure_reason, findings, ranked, rate

CONTROL = "linear"  # no hidden non-linearity: shows what the hidden layer's bend buys


class ActivationExperiment(Experiment):
    name = "activation"
    title = "Experiment 1 (activation units)"
    question = "Which one works best? Which one performs worst? Why?"

    def configs(self, scale: Scale) -> list[RunConfig]:
        return grid(scale, activation=ACTIVATIONS)

    def run(self, lab: Lab, scale: Scale) -> Findings:
        comparison = Comparison(lab.run(self.configs(scale)), ("activation",))
        contenders = ranked([r for r in comparison.rows if r["activation"] != CONTROL])
        best, worst = contenders[0], contenders[-1]
        numbers = {"best": best["activation"], "worst": worst["activation"],
                   "best_vs_worst_significant": disjoint(best, worst),
                   "best_vs_runner_up_significant": disjoint(best, contenders[1]) if len(contenders) > 1 else None}
        return findings(comparison, answer(comparison, contenders), numbers, contenders, "Activation")


def answer(comparison: Comparison, contenders: list[dict]) -> str:
    """Best and worst with their rates, whether the gaps are significant, the worst's main
    failure mode and why, and the linear control."""
    best, worst = contenders[0], contenders[-1]
    budget = f"after {plural(comparison.epochs, 'epoch')} ({comparison.seeds} seeds each, 95% CI)"
    quoted = ", ".join(f"{r['activation']} {rate(r)}" for r in contenders)
    if disjoint(best, worst):
        first = (f"{best['activation']} works best and {worst['activation']} worst: {quoted} of runs reach "
                 f"100% test accuracy {budget}")
        if len(contenders) > 2 and not disjoint(best, contenders[1]):
            first += f"; {contenders[1]['activation']} is not significantly behind {best['activation']}"
    else:
        first = (f"No activation is significantly better than another {budget}: {quoted} of runs reach 100% "
                 f"test accuracy, and the intervals of the best ({best['activation']}) and the worst "
                 f"({worst['activation']}) overlap")
    sentences = [first + ".", failure_reason(comparison, worst)]
    control = [r for r in comparison.rows if r["activation"] == CONTROL]
    if control:
        c = control[0]
        sentences.append(f"The linear control reaches {rate(c)}: {MODE_TEXT[diagnosis.AFFINE][1]}.")
    return " ".join(sentences)


EXPERIMENT = ActivationExperiment()
