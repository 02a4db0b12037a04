"""The quiz's question bank, on the tutorial's code and ideas.

Every number a question asks or shows (shapes, sizes, counts, rounding results) is
computed here from xorlab itself: the data from `make_data`, the network from
`build_model`, the step counts from `RunConfig`. Change the code and the quiz follows.
The bank is in the tutorial's order: data, model, training, testing, experiments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import torch

from ..config import RunConfig
from ..data import make_data
from ..model import ACTIVATION_FNS, build_model, initial_parameters, parameter_count
from ..result import LOGGED_BATCHES

FACTS_SEED = 0  # any seed will do: only shapes and noise-free corners are read from the data


@dataclass(frozen=True)
class Choice:
    """A multiple-choice question; `correct` indexes `options`."""

    topic: str
    prompt: str
    options: tuple[str, ...]
    correct: int
    explanation: str


@dataclass(frozen=True)
class Numeric:
    """A question answered with a number, right when within `tolerance` of `answer`."""

    topic: str
    prompt: str
    answer: float
    explanation: str
    tolerance: float = 0.0


Question = Union[Choice, Numeric]


@dataclass(frozen=True)
class Facts:
    """What the questions need to know about the code, measured from it."""

    config: RunConfig
    batch_x_shape: tuple[int, ...]  # one make_batch() input array: (B, N)
    batch_y_shape: tuple[int, ...]  # its labels: (B,)
    corners: int  # distinct noise-free input points in the data
    parameters: int
    dense2_shape: tuple[int, ...]
    unsqueezed_shape: tuple[int, ...]  # the network's output before torch.squeeze
    steps: int  # SGD steps in the run's epochs
    last_logged_count: int  # the largest count a 'Train Epoch' line prints


def measure(config: RunConfig) -> Facts:
    data = make_data([FACTS_SEED], config.inputs, config.center)
    batch_x = data.sample_x[0, 0]  # (B, N): the tutorial's first printed make_batch()
    bits = np.floor(data.train_x[0].reshape(-1, config.inputs))  # (S * B, N); noise < 0.1 keeps each corner
    model = build_model(config.replace(seed=FACTS_SEED))
    with torch.no_grad():
        hidden = ACTIVATION_FNS[config.activation](model.dense1(torch.as_tensor(batch_x, dtype=model.dense1.weight.dtype)))
        unsqueezed = model.dense2(hidden)
    return Facts(
        config=config,
        batch_x_shape=tuple(batch_x.shape),
        batch_y_shape=tuple(data.sample_y[0, 0].shape),
        corners=len(np.unique(bits, axis=0)),
        parameters=parameter_count(config.inputs, config.hidden),
        dense2_shape=tuple(initial_parameters(config)["dense2.weight"].shape),
        unsqueezed_shape=tuple(unsqueezed.shape),
        steps=config.epochs * config.train_batches,
        last_logged_count=LOGGED_BATCHES[-1] * config.batch_size,
    )


def shape_text(shape: tuple[int, ...]) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else str(tuple(shape))


def choice(topic: str, prompt: str, right: str, wrong: list[str], explanation: str, at: int = 0) -> Choice:
    """A Choice with the right option at position `at`; wrong options equal to another are dropped
    (sizes can make two computed options coincide, e.g. a (2, 2) shape read either way)."""
    others = list(dict.fromkeys(w for w in wrong if w != right))
    at = min(at, len(others))
    return Choice(topic, prompt, tuple(others[:at] + [right] + others[at:]), at, explanation)


def counted_correct(output: float, target: float) -> bool:
    """The tutorial's accuracy rule for one point: np.around(output) == np.around(target)."""
    return bool(np.around(output) == np.around(target))


# --- the questions, each a function of the measured facts ---------------------------


def q_batch_return(f: Facts) -> Question:
    return choice(
        "data", "What does make_batch() return?",
        "a tuple (inputs, labels) of two numpy arrays",
        ["a list of (x, y) pairs, one per example", "one array with the label as its last column",
         "a torch tensor of the inputs only"],
        f"It builds {f.config.batch_size} examples with make_data, then returns "
        f"np.array(data) of shape {shape_text(f.batch_x_shape)} and np.array(labels) of shape "
        f"{shape_text(f.batch_y_shape)}.", at=1)


def q_batch_x_shape(f: Facts) -> Question:
    b, n = f.batch_x_shape
    return choice(
        "data", "What is the shape of the inputs array that make_batch() returns?",
        shape_text(f.batch_x_shape), [shape_text((n, b)), shape_text((b,)), shape_text((b * n,))],
        f"One row per example (batch_size = {b}), one column per input ({n}): "
        "examples first, as nn.Linear expects.", at=2)


def q_batch_y_shape(f: Facts) -> Question:
    (b,) = f.batch_y_shape
    return choice(
        "data", "What is the shape of the labels array that make_batch() returns?",
        shape_text(f.batch_y_shape), [shape_text((b, 1)), shape_text(f.batch_x_shape), "()"],
        f"One number per example: a flat vector of {b} targets, which is why the network's "
        "output is squeezed to the same shape.", at=0)


def q_batch_dtype(f: Facts) -> Question:
    return choice(
        "data", "What dtype do make_batch()'s arrays have?",
        f.config.dtype, ["float64", "int64", "bool"],
        "make_batch asks for dtype='float32', the dtype of nn.Linear's weights: torch.from_numpy "
        "keeps the numpy dtype, and Python floats would give float64, which the float32 layers reject.",
        at=3)


def q_noise(f: Facts) -> Question:
    return choice(
        "data", "Why does make_data add 0.1 * random.random() to every input and label?",
        "so the train and test points differ and the network is scored on points it has not seen",
        ["to make the task harder than XOR so the network trains longer",
         "to avoid dividing by zero in the loss",
         "to centre the data around 0"],
        f"Without noise there are only {f.corners} possible inputs, so every test point would be a "
        "training point too; the noise makes each point new (the tutorial's notes on make_data).",
        at=0)


def q_corners(f: Facts) -> Question:
    return Numeric(
        "data", "Ignoring the noise, how many different input points can make_data produce?",
        f.corners,
        f"Each of the {f.config.inputs} inputs is randint(0, 1), so there are 2 ** "
        f"{f.config.inputs} = {f.corners} corners; the noise scatters points around them.")


def q_seed(f: Facts) -> Question:
    return choice(
        "data", "What do random.seed(42) and torch.manual_seed(42) fix?",
        "the data points (Python's random) and the initial weights (torch)",
        ["only the data points", "only the initial weights", "the order of the training batches"],
        "make_data draws from Python's random and nn.Linear draws its weights from torch's "
        "generator; seeding both makes a run repeat exactly (needed for Experiment 5).", at=1)


def q_parameters(f: Facts) -> Question:
    n, h = f.config.inputs, f.config.hidden
    return Numeric(
        "model", f"How many trainable numbers (weights and biases) does the {n}-{h}-1 network have?",
        f.parameters,
        f"dense1 has {n} x {h} weights and {h} biases, dense2 has {h} weights and 1 bias: "
        f"{n * h} + {h} + {h} + 1 = {f.parameters}.")


def q_bonus_parameters(f: Facts) -> Question:
    n, h = 3, 4  # the bonus experiment's 3-input XOR, with a wider hidden layer
    count = parameter_count(n, h)
    return Numeric(
        "model", f"For the bonus experiment, a {n}-{h}-1 network: how many parameters?",
        count, f"{n} x {h} + {h} weights and biases in dense1, {h} + 1 in dense2: {count}.")


def q_dense2_shape(f: Facts) -> Question:
    shape = f.dense2_shape
    return choice(
        "model", "What is the shape of dense2.weight, as the tutorial prints it?",
        shape_text(shape), [shape_text(shape[::-1]), shape_text((shape[1],)), shape_text((1,))],
        "nn.Linear(in, out) stores its weight as (out, in): one row per output unit.", at=1)


def q_squeeze(f: Facts) -> Question:
    before, after = f.unsqueezed_shape, f.batch_y_shape
    return choice(
        "model", "Why does forward() end with torch.squeeze?",
        f"to turn the {shape_text(before)} output into {shape_text(after)}, the labels' shape",
        ["to squash the outputs into (0, 1)", "to drop the batch dimension",
         "to remove the gradient from the output"],
        f"dense2 gives one column per example, {shape_text(before)}. Against {shape_text(after)} "
        f"labels, mse_loss would broadcast to {shape_text((before[0], after[0]))} and average every "
        "output against every label.", at=0)


def q_linear(f: Facts) -> Question:
    return choice(
        "ideas", "Why can a model with no hidden non-linearity (e.g. activation 'linear') not fit XOR?",
        "no straight line separates {(0,0), (1,1)} from {(0,1), (1,0)}, and stacked linear layers are still linear",
        ["it has too few parameters", "the learning rate is too small for it",
         "mean squared error cannot be minimised for it"],
        "dense2(dense1(x)) is one affine map, so its 0.5 level set is a line; any line gets at most "
        "3 of XOR's 4 corners right. The hidden non-linearity bends the boundary.", at=0)


def q_steps(f: Facts) -> Question:
    c = f.config
    return Numeric(
        "training", f"How many SGD steps (optimizer.step() calls) does training take in {c.epochs} epochs?",
        f.steps, f"One step per mini-batch: {c.train_batches} batches x {c.epochs} epochs = {f.steps}.")


def q_logged(f: Facts) -> Question:
    return Numeric(
        "training", "train() prints 'Train Epoch: E N  Loss: ...' when batch_idx % 100 == 0, with "
        "N = batch_idx * len(data). What is the largest N printed in an epoch?",
        f.last_logged_count,
        f"The last logged batch is {LOGGED_BATCHES[-1]} and len(data) is the batch size "
        f"{f.config.batch_size}: N counts examples, not batches.")


def q_backward(f: Facts) -> Question:
    return choice(
        "training", "What does loss.backward() do?",
        "computes d(loss)/d(parameter) for every parameter and adds it to its .grad",
        ["updates the weights", "recomputes the loss from the last layer back",
         "undoes the last optimizer step"],
        "Autograd walks the graph recorded in the forward pass, applying the chain rule; the "
        "weights do not change until optimizer.step().", at=2)


def q_step(f: Facts) -> Question:
    lr = f.config.lr
    return choice(
        "training", "What does optimizer.step() do (plain SGD)?",
        f"moves every parameter against its gradient: p = p - {lr} * p.grad",
        ["computes the gradients", "sets all gradients to zero", f"moves every parameter by {lr} along its gradient"],
        f"SGD's step is p -= lr * grad, with lr = {lr} here; it reads the .grad that backward() left.",
        at=1)


def accumulated_grad(weight: float = 1.0, slope: float = 3.0, calls: int = 2) -> float:
    """w.grad after `calls` backward() passes of slope * w with no zero_grad in between."""
    w = torch.tensor(weight, requires_grad=True)
    for _ in range(calls):
        (slope * w).backward()
    return float(w.grad)


def q_zero_grad(f: Facts) -> Question:
    grad = accumulated_grad()
    return Numeric(
        "training", "w = torch.tensor(1.0, requires_grad=True); then (3 * w).backward() runs twice "
        "with no zero_grad() in between. What is w.grad?",
        grad,
        f"backward() adds to .grad: 3 + 3 = {grad:g}. Without optimizer.zero_grad(), each step would "
        "use the sum of all past gradients instead of this batch's.")


def q_volatile(f: Facts) -> Question:
    return choice(
        "testing", "test() wraps its inputs in Variable(..., volatile=True). What did that do, and "
        "what replaces it today?",
        "it stopped autograd recording the graph during testing; today: with torch.no_grad()",
        ["it let the tensor change in place; today: tensor.clone()",
         "it moved the tensor to the GPU; today: tensor.cuda()",
         "it made the model non-trainable; today: model.eval()"],
        "Variable and volatile were removed in PyTorch 0.4; torch.no_grad() saves the memory and "
        "time of building a graph nobody differentiates. model.eval() is a different thing: "
        "it switches layers such as dropout to test behaviour.", at=3)


def q_test_points(f: Facts) -> Question:
    c = f.config
    return Numeric(
        "testing", "How many test points does test() score each epoch (the N in 'Accuracy: k/N')?",
        c.test_total, f"{c.test_batches} test batches of {c.batch_size}: {c.test_total}.")


def q_around(f: Facts) -> Question:
    outputs = [0.7, 1.3, 1.6, 0.55]  # candidate outputs for a point whose label is 1
    target = 1.05
    wrong = [o for o in outputs if not counted_correct(o, target)]
    return choice(
        "testing", "A point's label is 1 (1.05 with noise). Which network output does the rule "
        "np.around(output) == np.around(target) count as WRONG?",
        f"{wrong[0]}", [f"{o}" for o in outputs if o not in wrong],
        f"np.around({wrong[0]}) is {np.around(wrong[0]):g}, not 1: an output that overshoots past 1.5 "
        "is counted wrong although it is on the right side. The rule checks the nearest integer, "
        "not the side of 0.5.", at=2)


def q_around_tie(f: Facts) -> Question:
    value = float(np.around(0.5))
    return Numeric(
        "testing", "What does np.around(0.5) return?", value,
        f"numpy rounds halves to the nearest even number, so 0.5 -> {value:g} and 1.5 -> "
        f"{np.around(1.5):g}: an output of exactly 0.5 counts as class 0.")


def q_center(f: Facts) -> Question:
    outputs = [-0.4, -0.7, -1.6, 0.3]  # candidate outputs for a centred label of -1
    target = -0.95
    right = [o for o in outputs if counted_correct(o, target)]
    return choice(
        "experiments", "With centring (Experiment 3), labels are -1 or +1 plus noise. For a label of "
        "-1 (-0.95 with noise), which output is counted correct?",
        f"{right[0]}", [f"{o}" for o in outputs if o not in right],
        "Centring maps 0/1 to -1/+1 for inputs and labels, so inputs are symmetric about 0 where "
        "tanh and sigmoid are steepest. The accuracy rule still rounds: an output must be within "
        "0.5 of -1, so -0.4 (rounds to 0) is wrong though it has the right sign.", at=1)


def q_plateau(f: Facts) -> Question:
    return choice(
        "experiments", "With sigmoid the loss flattens for many epochs (Experiment 4). Why is that "
        "not a sign to stop training?",
        "the loss often drops sharply again after a flat stretch, so a plateau may just need more time",
        ["a flat loss means the network has reached 100% accuracy",
         "a flat loss means the learning rate is too large",
         "the loss cannot decrease once it has stopped changing"],
        "Near a saddle or a flat region of sigmoid units the gradients are tiny, then the "
        "weights escape and the loss falls: it is hard to tell 'stopped learning' from 'needs "
        "more time', more so when training takes days.", at=3)


QUESTIONS: list[Callable[[Facts], Question]] = [
    q_batch_return, q_batch_x_shape, q_batch_y_shape, q_batch_dtype, q_noise, q_corners, q_seed,
    q_parameters, q_dense2_shape, q_squeeze, q_linear, q_bonus_parameters,
    q_steps, q_logged, q_backward, q_step, q_zero_grad,
    q_volatile, q_test_points, q_around, q_around_tie,
    q_center, q_plateau,
]


def build_bank(config: RunConfig | None = None) -> list[Question]:
    """Every question, in the tutorial's order, measured from `config` (the tutorial's by default)."""
    facts = measure(config or RunConfig())
    return [make(facts) for make in QUESTIONS]
