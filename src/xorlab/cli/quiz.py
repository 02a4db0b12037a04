"""`xorlab quiz`: the tutorial's quiz, in the terminal or from an answers file."""

from __future__ import annotations

import argparse
import sys

from ..quiz import build_bank, run_quiz, select
from ..quiz.questions import QUESTIONS
from .options import UsageError, int_at_least, seed

EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "quiz",
        help="take the tutorial's quiz on its code and ideas",
        description="Questions on the tutorial's code and ideas (data shapes, the parameter count, "
        "backward and step, the accuracy rule, centring, plateaus, ...), each answer followed by "
        "an explanation, then the score. Every number asked is computed from xorlab's own code. "
        "Type the number of your answer; 'q', Ctrl-D or Ctrl-C stops with the score so far.",
        epilog="examples:\n  xorlab quiz\n  xorlab quiz --questions 5 --seed 3\n"
        "  xorlab quiz --seed 3 --answers answers.txt\n  printf '1\\n3\\n' | xorlab quiz --questions 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--questions", type=int_at_least(1), default=None, metavar="N",
                   help=f"ask N questions (default: all {len(QUESTIONS)})")
    p.add_argument("--seed", type=seed, default=None, metavar="S",
                   help="shuffle the questions with this seed; the same seed gives the same quiz "
                   "(default: none, the tutorial's order)")
    p.add_argument("--answers", metavar="FILE", default=None,
                   help="read answers from FILE, one per line, instead of the keyboard (default: "
                   "standard input)")
    p.set_defaults(func=run, prog="xorlab quiz")


def run(args: argparse.Namespace) -> int:
    if args.questions is not None and args.questions > len(QUESTIONS):
        raise UsageError(f"{args.prog}: error: argument --questions: at most {len(QUESTIONS)} "
                         f"questions (got {args.questions}) (see '{args.prog} --help')")
    if args.answers is None:
        if sys.stdin is None:  # started with stdin closed (`<&-`)
            raise UsageError(f"{args.prog}: error: standard input is closed: answer from a file with "
                             f"--answers FILE (see '{args.prog} --help')")
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")  # piped bytes that are not text: a bad answer, re-asked
        return ask_from(args, sys.stdin, "standard input", echo=not sys.stdin.isatty())
    try:
        answers = open(args.answers, encoding="utf-8", errors="replace")  # a bad byte is a bad answer
    except OSError as err:
        raise UsageError(f"{args.prog}: error: argument --answers: cannot read {args.answers!r}: "
                         f"{err.strerror} (see '{args.prog} --help')") from None
    with answers:
        return ask_from(args, answers, repr(args.answers), echo=True)


def ask_from(args: argparse.Namespace, stdin, name: str, echo: bool) -> int:
    """The quiz, with a source that cannot be read (a directory, /proc/self/mem)
    reported in one line."""
    try:
        return ask(args, stdin, echo)
    except OSError as err:
        raise UsageError(f"{args.prog}: error: cannot read answers from {name}: {err.strerror or err}") from None


def ask(args: argparse.Namespace, stdin, echo: bool) -> int:
    questions = select(build_bank(), args.questions, args.seed)
    print(f"The XOR tutorial quiz: {len(questions)} questions. Type the number of your answer; q stops.\n")
    outcome = run_quiz(questions, stdin, sys.stdout, echo=echo)
    return EXIT_INTERRUPTED if outcome.ended == "interrupted" else 0
