"""The quiz: a bank computed from the code, pure grading, and a terminal that behaves."""

from __future__ import annotations

import io
import subprocess
import sys

import pexpect
import pytest

from xorlab import data as data_module
from xorlab.config import RunConfig
from xorlab.model import parameter_count
from xorlab.quiz import Choice, InputReader, Numeric, build_bank, is_right, parse, run_quiz, select
from xorlab.quiz import questions as bank_module
from xorlab.quiz.grading import InvalidAnswer, number_text
from xorlab.quiz.questions import QUESTIONS

from conftest import ROOT


@pytest.fixture(scope="module")
def bank():
    return build_bank()


def asked(bank, maker):
    """The question that `maker` (one of QUESTIONS) made."""
    return bank[QUESTIONS.index(maker)]


def right_line(question) -> str:
    return str(question.correct + 1) if isinstance(question, Choice) else number_text(question.answer)


def wrong_line(question) -> str:
    if isinstance(question, Choice):
        return str((question.correct + 1) % len(question.options) + 1)
    return number_text(question.answer + 1000)


# --- the bank ------------------------------------------------------------------------


def test_bank_has_at_least_15_questions_of_both_kinds(bank):
    assert len(bank) >= 15
    assert any(isinstance(q, Choice) for q in bank)
    assert any(isinstance(q, Numeric) for q in bank)


def test_every_question_is_well_formed(bank):
    prompts = [q.prompt for q in bank]
    assert len(set(prompts)) == len(prompts)
    for q in bank:
        assert q.prompt and q.explanation and q.topic
        if isinstance(q, Choice):
            assert len(q.options) >= 3, q.prompt
            assert len(set(q.options)) == len(q.options), q.prompt
            assert 0 <= q.correct < len(q.options)


def test_right_answers_are_not_always_in_the_same_place(bank):
    assert len({q.correct for q in bank if isinstance(q, Choice)}) >= 3


def test_numbers_match_the_tutorial_network(bank):
    assert asked(bank, bank_module.q_parameters).answer == parameter_count(2, 2)
    assert asked(bank, bank_module.q_steps).answer == 100 * 500
    assert asked(bank, bank_module.q_corners).answer == 4
    q = asked(bank, bank_module.q_batch_x_shape)
    assert q.options[q.correct] == "(10, 2)"


def test_numbers_follow_the_config(bank):
    wide = build_bank(RunConfig(inputs=3, hidden=5, epochs=7))
    assert asked(wide, bank_module.q_parameters).answer == parameter_count(3, 5)
    assert asked(wide, bank_module.q_parameters).answer != asked(bank, bank_module.q_parameters).answer
    assert asked(wide, bank_module.q_steps).answer == 7 * 500
    assert asked(wide, bank_module.q_corners).answer == 2**3
    shape = asked(wide, bank_module.q_dense2_shape)
    assert shape.options[shape.correct] == "(1, 5)"


def test_numbers_follow_the_code_not_literals(monkeypatch):
    monkeypatch.setattr(bank_module, "parameter_count", lambda inputs, hidden: 1234)
    monkeypatch.setattr(RunConfig, "train_batches", 250)
    monkeypatch.setattr(data_module, "BATCH_SIZE", 5)  # make_data's batches shrink
    changed = build_bank()
    assert asked(changed, bank_module.q_parameters).answer == 1234
    assert asked(changed, bank_module.q_steps).answer == 100 * 250
    for maker, shape in ((bank_module.q_batch_x_shape, "(5, 2)"), (bank_module.q_batch_y_shape, "(5,)")):
        q = asked(changed, maker)
        assert q.options[q.correct] == shape


def test_rounding_questions_agree_with_numpy(bank):
    import numpy as np

    q = asked(bank, bank_module.q_around)
    assert np.around(float(q.options[q.correct])) != 1.0
    assert all(np.around(float(o)) == 1.0 for i, o in enumerate(q.options) if i != q.correct)
    assert asked(bank, bank_module.q_around_tie).answer == np.around(0.5)


# --- grading -------------------------------------------------------------------------


def test_choice_answers_are_numbers_in_range(bank):
    q = next(q for q in bank if isinstance(q, Choice))
    assert parse(q, " 2\n") == 1
    for text in ("0", str(len(q.options) + 1), "1.5", "b", "", "nan"):
        with pytest.raises(InvalidAnswer, match=f"1 to {len(q.options)}"):
            parse(q, text)


def test_numeric_answers_accept_any_number_format(bank):
    q = asked(bank, bank_module.q_parameters)
    assert is_right(q, parse(q, f"{q.answer:.1f}"))
    assert not is_right(q, parse(q, str(q.answer + 1)))
    with pytest.raises(InvalidAnswer):
        parse(q, "nine")


@pytest.mark.parametrize("maker", QUESTIONS, ids=lambda m: m.__name__)
def test_each_right_answer_scores_and_a_wrong_one_does_not(bank, maker):
    q = asked(bank, maker)
    assert is_right(q, parse(q, right_line(q)))
    assert not is_right(q, parse(q, wrong_line(q)))


def test_order_is_the_tutorials_or_reproducibly_shuffled(bank):
    assert select(bank) == bank
    assert select(bank, 5) == bank[:5]
    assert select(bank, seed=3) == select(bank, seed=3)
    assert select(bank, seed=3) != select(bank, seed=4)
    assert sorted(q.prompt for q in select(bank, seed=3)) == sorted(q.prompt for q in bank)


# --- the loop, with streams ------------------------------------------------------------


def test_all_right_scores_full_marks_and_explains(bank):
    quiz = bank[:4]
    out = io.StringIO()
    outcome = run_quiz(quiz, io.StringIO("".join(right_line(q) + "\n" for q in quiz)), out)
    assert (outcome.ended, outcome.score.correct, outcome.score.asked) == ("finished", 4, 4)
    assert out.getvalue().count("Correct.") == 4
    assert "Score: 4/4 (100%)" in out.getvalue()
    assert quiz[0].explanation.split()[0] in out.getvalue()


def test_invalid_input_is_asked_again(bank):
    q = next(q for q in bank if isinstance(q, Choice))
    out = io.StringIO()
    outcome = run_quiz([q], io.StringIO(f"banana\n99\n{right_line(q)}\n"), out)
    assert outcome.score.correct == 1
    assert out.getvalue().count(f"Please type a number from 1 to {len(q.options)}") == 2
    assert out.getvalue().count("Your answer") == 3


def test_end_of_input_stops_with_the_score_so_far(bank):
    out = io.StringIO()
    outcome = run_quiz(bank[:5], io.StringIO(f"{right_line(bank[0])}\n{wrong_line(bank[1])}\n"), out)
    assert (outcome.ended, outcome.score.correct, outcome.score.asked) == ("eof", 1, 2)
    assert "Stopped after 2 of 5 questions. Score so far: 1/2 (50%)" in out.getvalue()


def test_notebook_reader_takes_answers_from_input(bank, monkeypatch):
    typed = iter([right_line(bank[0])])

    def fake_input():
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    outcome = run_quiz(bank[:2], InputReader(), io.StringIO())
    assert (outcome.ended, outcome.score.correct, outcome.score.asked) == ("eof", 1, 1)


def test_q_stops_the_quiz(bank):
    outcome = run_quiz(bank[:3], io.StringIO("q\n"), io.StringIO())
    assert (outcome.ended, outcome.score.asked) == ("quit", 0)


# --- the command -----------------------------------------------------------------------


def test_answers_file_is_graded(tmp_path, run_cli, bank):
    quiz = select(bank, 6, seed=11)
    answers = tmp_path / "answers.txt"
    answers.write_text("".join((right_line(q) if i % 2 else wrong_line(q)) + "\n" for i, q in enumerate(quiz)))
    result = run_cli("quiz", "--questions", 6, "--seed", 11, "--answers", answers)
    assert result.code == 0, result.err
    assert "Score: 3/6 (50%)" in result.out
    assert "Question 6 of 6" in result.out


def test_undecodable_answers_are_asked_again_not_a_crash(tmp_path, run_cli, bank):
    answers = tmp_path / "answers.bin"
    answers.write_bytes(b"\xff\xfe\n" + right_line(bank[0]).encode() + b"\n")
    result = run_cli("quiz", "--questions", 1, "--answers", answers)
    assert result.code == 0
    assert "Please type" in result.out and "Score: 1/1 (100%)" in result.out


@pytest.mark.parametrize("args, flag", [
    (["--answers", "/nonexistent/answers.txt"], "--answers"),
    (["--questions", "1000"], "--questions"),
    (["--questions", "0"], "--questions"),
    (["--seed", "x"], "--seed"),
])
def test_bad_options_are_one_line_exit_2(args, flag, run_cli):
    result = run_cli("quiz", *args)
    assert result.code == 2
    assert flag in result.err and len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_piped_answers_are_echoed_and_graded(bank):
    quiz = bank[:2]
    piped = "".join(right_line(q) + "\n" for q in quiz)
    proc = subprocess.run([sys.executable, "-m", "xorlab", "quiz", "--questions", "2"], input=piped,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"Your answer (1-{len(quiz[0].options)}): {right_line(quiz[0])}\n" in proc.stdout
    assert "Score: 2/2 (100%)" in proc.stdout


# --- the command in a pseudo-terminal, as a person uses it -----------------------------


def spawn_quiz(*args: str) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "xorlab", "quiz", *args], cwd=str(ROOT),
                         encoding="utf-8", timeout=60, dimensions=(40, 100))


def answer(child: pexpect.spawn, text: str) -> None:
    child.expect_exact("Your answer (")
    child.expect_exact("): ")
    child.sendline(text)


def test_terminal_session_with_a_typo_then_answers(bank):
    quiz = bank[:3]
    child = spawn_quiz("--questions", "3")
    child.expect_exact("1) ")
    answer(child, "seven")
    child.expect_exact("Please type a number from 1 to")
    answer(child, right_line(quiz[0]))
    child.expect_exact("Correct.")
    answer(child, wrong_line(quiz[1]))
    child.expect_exact(f"Not quite: the answer is {quiz[1].correct + 1})")
    answer(child, right_line(quiz[2]))
    child.expect_exact("Score: 2/3 (67%)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_mid_quiz_prints_the_score_and_exits_130(bank):
    child = spawn_quiz("--questions", "4")
    answer(child, right_line(bank[0]))
    child.expect_exact("Correct.")
    child.expect_exact("Your answer (")
    child.sendintr()
    child.expect_exact("Stopped after 1 of 4 questions. Score so far: 1/1 (100%)")
    child.expect(pexpect.EOF)
    assert "Traceback" not in child.before
    child.close()
    assert child.exitstatus == 130


def test_ctrl_d_mid_quiz_prints_the_score_and_exits_0(bank):
    child = spawn_quiz("--questions", "4")
    answer(child, wrong_line(bank[0]))
    child.expect_exact("Not quite")
    child.expect_exact("Your answer (")
    child.sendeof()
    child.expect_exact("Stopped after 1 of 4 questions. Score so far: 0/1 (0%)")
    child.expect(pexpect.EOF)
    assert "Traceback" not in child.before
    child.close()
    assert child.exitstatus == 0
