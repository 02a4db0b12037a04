"""The quiz in a terminal: ask, read a line, re-ask if invalid, explain, keep score.

The loop takes its input and output streams, so a test (or a notebook) can drive it.
Stopping early is normal, not an error: end of input (Ctrl-D, or the end of an answers
file), Ctrl-C, or typing 'q' all end the quiz with the score so far.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Sequence, TextIO

from .grading import InvalidAnswer, Score, is_right, parse, right_answer
from .questions import Choice, Question

QUIT_WORDS = ("q", "quit", "exit")
WIDTH = 78


@dataclass(frozen=True)
class Outcome:
    score: Score
    total: int  # questions in this quiz
    ended: str  # "finished", "eof", "quit" or "interrupted"


class Ended(Exception):
    """Stops the quiz early; `how` is "eof" or "quit"."""

    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


def wrap(text: str, indent: str = "", hanging: str | None = None) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent if hanging is None else hanging)


def question_text(question: Question, number: int, total: int) -> str:
    lines = [f"Question {number} of {total} [{question.topic}]", wrap(question.prompt)]
    if isinstance(question, Choice):
        lines += [wrap(f"{i}) {option}", "  ", "     ") for i, option in enumerate(question.options, 1)]
    return "\n".join(lines) + "\n"


def prompt_text(question: Question) -> str:
    if isinstance(question, Choice):
        return f"Your answer (1-{len(question.options)}): "
    return "Your answer (a number): "


def feedback_text(question: Question, right: bool) -> str:
    verdict = "Correct." if right else f"Not quite: the answer is {right_answer(question)}."
    return f"{wrap(verdict)}\n{wrap(question.explanation, '  ')}\n\n"


def end_text(outcome: Outcome) -> str:
    if outcome.ended == "finished":
        return f"Score: {outcome.score.text()}\n"
    return (f"\nStopped after {outcome.score.asked} of {outcome.total} questions. "
            f"Score so far: {outcome.score.text()}\n")


def read_answer(question: Question, stdin: TextIO, stdout: TextIO, echo: bool) -> float:
    """Prompt until the line read is a valid answer; raise Ended on EOF or a quit word."""
    while True:
        stdout.write(prompt_text(question))
        stdout.flush()
        line = stdin.readline()
        if not line:
            raise Ended("eof")
        if echo:
            stdout.write(line if line.endswith("\n") else line + "\n")
        if line.strip().lower() in QUIT_WORDS:
            raise Ended("quit")
        try:
            return parse(question, line)
        except InvalidAnswer as err:
            stdout.write(f"{err}, or q to stop.\n")


def run_quiz(questions: Sequence[Question], stdin: TextIO, stdout: TextIO, echo: bool = False) -> Outcome:
    """Ask every question in order; return the score and how the quiz ended.

    echo: write each answer read back out, for input that the terminal does not echo
    (a pipe or an answers file), so the transcript reads like a session.
    """
    score, ended = Score(), "finished"
    try:
        for number, question in enumerate(questions, 1):
            stdout.write(question_text(question, number, len(questions)))
            right = is_right(question, read_answer(question, stdin, stdout, echo))
            score = score.add(right)
            stdout.write(feedback_text(question, right))
    except Ended as stop:
        ended = stop.how
    except KeyboardInterrupt:
        ended = "interrupted"
    outcome = Outcome(score, len(questions), ended)
    stdout.write(end_text(outcome))
    stdout.flush()
    return outcome


class InputReader:
    """A stream whose readline() calls input(): the quiz in a notebook, where stdin is not a stream."""

    def readline(self) -> str:
        try:
            return input() + "\n"
        except EOFError:
            return ""
