"""Choosing, reading and grading answers: pure functions, no input or output."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

from ..formatting import percent
from .questions import Choice, Numeric, Question


class InvalidAnswer(ValueError):
    """The text is not an answer to the question; the message says what is expected."""


@dataclass(frozen=True)
class Score:
    correct: int = 0
    asked: int = 0

    def add(self, right: bool) -> Score:
        return Score(self.correct + int(right), self.asked + 1)

    def text(self) -> str:
        share = f" ({percent(self.correct / self.asked)})" if self.asked else ""
        return f"{self.correct}/{self.asked}{share}"


def select(bank: Sequence[Question], count: int | None = None, seed: int | None = None) -> list[Question]:
    """`count` questions (all by default): the bank's order, or shuffled by `seed`."""
    chosen = list(bank)
    if seed is not None:
        random.Random(seed).shuffle(chosen)
    return chosen[:count] if count is not None else chosen


def expected(question: Question) -> str:
    """What a valid answer looks like, for prompts and re-asks."""
    if isinstance(question, Choice):
        return f"a number from 1 to {len(question.options)}"
    return "a number"


def parse(question: Question, text: str) -> float:
    """The answer typed as `text`: a choice's 0-based index, or a number. Raises InvalidAnswer."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        raise InvalidAnswer(f"Please type {expected(question)}") from None
    if not math.isfinite(value):
        raise InvalidAnswer(f"Please type {expected(question)}")
    if isinstance(question, Choice):
        if value != int(value) or not 1 <= value <= len(question.options):
            raise InvalidAnswer(f"Please type {expected(question)}")
        return int(value) - 1
    return value


def is_right(question: Question, answer: float) -> bool:
    """Grade a parsed answer."""
    if isinstance(question, Choice):
        return answer == question.correct
    return abs(answer - question.answer) <= question.tolerance


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def right_answer(question: Question) -> str:
    if isinstance(question, Choice):
        return f"{question.correct + 1}) {question.options[question.correct]}"
    assert isinstance(question, Numeric)
    return number_text(question.answer)
