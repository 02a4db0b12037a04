"""`xorlab train`: one run, printing the tutorial's log lines."""

from __future__ import annotations

import argparse
import json
import sys

import torch

from .. import __version__, machine
from ..config import ACTIVATIONS, DTYPES, INITS, MAX_BATCH_SIZE, MAX_LAYERS, MAX_NOISE, OPTIMIZERS, RunConfig
from ..files import write_text_atomic
from ..formatting import json_safe
from ..tutorial_log import train_logged
from .options import check_out_file, float_in, int_at_least, out_path, positive_float, seed

DEFAULTS = RunConfig()
EXACTNESS = "the digits are the tutorial script's on this machine; another CPU may differ in the last ones"


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options that make a RunConfig (shared with other one-config commands)."""
    p.add_argument("--seed", type=seed, default=None, metavar="S",
                   help="seed for Python's random (the data) and torch (the weights), as the "
                   "tutorial's seed lines do; 'none' for an unseeded run (default: none)")
    p.add_argument("--activation", choices=ACTIVATIONS, default=DEFAULTS.activation,
                   help=f"hidden-layer activation; 'linear' means none (default: {DEFAULTS.activation})")
    p.add_argument("--init", choices=INITS, default=DEFAULTS.init,
                   help="weight init: PyTorch's nn.Linear default, or the tutorial's U(-1, 1) "
                   f"(default: {DEFAULTS.init})")
    p.add_argument("--center", action="store_true",
                   help="centre inputs and targets on 0, i.e. (-1, 1) instead of (0, 1) (default: off)")
    p.add_argument("--lr", type=positive_float, default=DEFAULTS.lr,
                   help=f"the optimizer's learning rate (default: {DEFAULTS.lr})")
    p.add_argument("--epochs", type=int_at_least(1), default=DEFAULTS.epochs,
                   help=f"passes over the 500 training batches (default: {DEFAULTS.epochs})")
    p.add_argument("--inputs", type=int_at_least(1), default=DEFAULTS.inputs, metavar="N",
                   help=f"number of inputs; the target is their parity (default: {DEFAULTS.inputs})")
    p.add_argument("--hidden", type=int_at_least(1), default=DEFAULTS.hidden, metavar="H",
                   help=f"hidden units (default: {DEFAULTS.hidden})")
    p.add_argument("--dtype", choices=DTYPES, default=DEFAULTS.dtype,
                   help=f"floating-point precision of the run (default: {DEFAULTS.dtype})")
    add_knob_options(p)


def add_knob_options(p: argparse.ArgumentParser, nargs: str | None = None) -> None:
    """The knobs beyond the tutorial's recipe; `nargs="+"` for a sweep's grid of values."""
    many = {"nargs": nargs} if nargs else {}

    def default(name):
        value = getattr(DEFAULTS, name)
        return [value] if nargs else value

    p.add_argument("--optimizer", choices=OPTIMIZERS, default=default("optimizer"), **many,
                   help="torch.optim's SGD, SGD with momentum, SGD with Nesterov momentum, or Adam "
                   f"(betas 0.9, 0.999, eps 1e-8) (default: {DEFAULTS.optimizer})")
    p.add_argument("--momentum", type=float_in(0, 1, below=True), default=default("momentum"), metavar="M",
                   **many, help=f"momentum of the momentum and nesterov optimizers (default: {DEFAULTS.momentum})")
    p.add_argument("--batch-size", type=int_at_least(1, MAX_BATCH_SIZE), default=default("batch_size"),
                   metavar="B", **many, help="training examples per step: the 5,000 are cut into batches of B, "
                   f"the last one smaller where B does not divide 5,000; the test set stays 50 batches of 10 "
                   f"(default: {DEFAULTS.batch_size})")
    p.add_argument("--noise", type=float_in(0, MAX_NOISE), default=default("noise"), **many,
                   help="amplitude of the uniform noise added to inputs and targets (the same draws, "
                   f"scaled); 0 is clean XOR (default: {DEFAULTS.noise})")
    p.add_argument("--weight-decay", type=float_in(0), default=default("weight_decay"), metavar="WD", **many,
                   help=f"L2 weight decay, as torch.optim applies it (default: {DEFAULTS.weight_decay:g})")
    p.add_argument("--layers", type=int_at_least(1, MAX_LAYERS), default=default("layers"), **many,
                   help=f"hidden layers, each of H units (default: {DEFAULTS.layers})")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    return RunConfig(inputs=args.inputs, hidden=args.hidden, activation=args.activation,
                     init=args.init, center=args.center, lr=args.lr, epochs=args.epochs,
                     seed=args.seed, dtype=args.dtype, optimizer=args.optimizer, momentum=args.momentum,
                     batch_size=args.batch_size, noise=args.noise, weight_decay=args.weight_decay,
                     layers=args.layers)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train one network and print the tutorial's log lines",
        description="Train one network exactly as the tutorial does (SGD, MSE, 500 batches of 10 "
        "per epoch) and print its 'Train Epoch' and 'Test set' lines. With a seed, the numbers "
        "are those of the tutorial's script seeded the same way. The optimizer, batch size, "
        "noise, weight decay and depth options change the script as a user would write the change.",
        epilog="examples:\n  xorlab train --seed 42\n"
        "  xorlab train --seed 42 --activation tanh --center --lr 0.1\n"
        "  xorlab train --seed 42 --optimizer adam --batch-size 50 --layers 2\n"
        "  xorlab train --seed 7 --inputs 3 --hidden 4 --epochs 300 --out run.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(p)
    p.add_argument("--verbose", action="store_true",
                   help="also print the three sample batches and the initial parameters, as the "
                   "tutorial's script does (default: off)")
    p.add_argument("--out", metavar="FILE", type=out_path, default=None,
                   help="also write the run's summary and curves as JSON to FILE (default: none)")
    p.set_defaults(func=run, prog="xorlab train")


def run(args: argparse.Namespace) -> int:
    # The loop's tensors hold 10 examples: a second thread only adds synchronisation
    # (measured: 22 s instead of 29 s for the tutorial's run), and the numbers are the same.
    torch.set_num_threads(1)
    config = config_from_args(args)
    if args.out is not None:
        check_out_file(args.prog, args.out)
    if args.verbose:
        # on stderr: stdout stays, byte for byte, what the tutorial's script prints
        print(f"xorlab {__version__}, {machine.describe()}: {EXACTNESS}", file=sys.stderr)

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    result = train_logged(config, write, verbose=args.verbose)
    if args.out is not None:
        write_text_atomic(args.out, json.dumps(run_record(result), indent=1, allow_nan=False) + "\n")
    return 0


def run_record(result) -> dict:
    """What `--out` writes: the summary, every logged train loss and the final parameters."""
    return {"config": result.config.to_dict(), **result.summary(),
            "train_loss": json_safe(result.train_loss.tolist()),
            "params": {k: json_safe(v.tolist()) for k, v in result.params.items()}}
