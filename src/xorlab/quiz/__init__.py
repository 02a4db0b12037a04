"""The tutorial's quiz: a question bank computed from xorlab, pure grading, a terminal loop."""

from .grading import InvalidAnswer, Score, is_right, parse, right_answer, select
from .questions import Choice, Numeric, Question, build_bank
from .terminal import InputReader, Outcome, run_quiz

__all__ = ["Choice", "InputReader", "InvalidAnswer", "Numeric", "Outcome", "Question", "Score",
           "build_bank", "is_right", "parse", "right_answer", "run_quiz", "select"]
