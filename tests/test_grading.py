"""Graded releases (fast tier): ``python -m rlkit grading build`` writes an nbgrader course and
Otter master notebooks from one definition per exercise; the graded cells, run in-process, give
full marks to a right answer (also one that warns), 0 to a wrong one, a stub or an endless loop
(all or nothing), and weighted partial credit only when the teacher gave weights. The real
tools run in tests/test_grading_tools.py (the ``grading`` tier)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import nbformat
import pytest
import torch

from rlkit.__main__ import main
from rlkit.exercises import EXERCISES
from rlkit.grading import GradedCheck, GradedCheckFailed, graded_case, graded_check
from rlkit.grading.course import load_course
from rlkit.grading.spec import pack_case, unpack_case

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_t_{name}", ROOT / "solutions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "solutions"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "solutions"))
    return module


SOLUTIONS = _load("exercise_solutions").SOLUTIONS
GRADED = {check.name: check for check in _load("graded").GRADED}


@pytest.fixture(scope="module")
def course():
    return {a.name: a for a in load_course(ROOT / "solutions", ROOT / "notebooks" / "exercises")}


def _build(tmp_path, fmt, *extra):
    out = tmp_path / fmt
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(["grading", "build", "--format", fmt, str(out), *extra])
    assert status == 0
    return out, stdout.getvalue()


# -- the course: every exercise, the capstone, every graded function -------------------------
def test_every_exercise_function_is_graded_and_the_capstone_grades_its_eight(course):
    assert set(GRADED) == set(EXERCISES)
    notebooks = {Path(ex.notebook).stem for ex in EXERCISES.values()}
    assert set(course) == notebooks | {"capstone_ppo"}
    capstone = [q.name for q in course["capstone_ppo"].questions]
    assert len(capstone) == 8 and "autoregressive_logp" not in capstone


def test_the_nbgrader_course_has_config_solutions_points_and_hidden_tests(tmp_path, course):
    out, stdout = _build(tmp_path, "nbgrader")
    assert "c.Execute.timeout = 300" in (out / "nbgrader_config.py").read_text()
    assert "9 assignments" in stdout
    total = 0.0
    for name, assignment in course.items():
        nb = nbformat.read(out / "source" / name / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
        answers = [c for c, m in zip(nb.cells, meta) if m.get("solution")]
        tests = [c for c, m in zip(nb.cells, meta) if m.get("grade")]
        assert len(answers) == len(tests) == len(assignment.questions)
        for cell in answers:
            assert "    ### BEGIN SOLUTION\n" in cell.source and "### END SOLUTION" in cell.source
            assert "NotImplementedError" not in cell.source  # the solution, not the stub
        for cell in tests:
            m = cell.metadata["nbgrader"]
            assert m["locked"] and m["points"] > 0 and m["grade_id"].startswith("graded_")
            assert "### BEGIN HIDDEN TESTS" in cell.source and "graded_check(" in cell.source
            total += m["points"]
        ids = [m["grade_id"] for m in meta if m]
        assert len(ids) == len(set(ids))
    assert total == sum(c.points + c.capstone_points for c in GRADED.values())


def test_the_otter_masters_have_config_questions_and_one_hidden_test_per_case(tmp_path):
    out, _ = _build(tmp_path, "otter", "--only", "ex03_categorical")
    nb = nbformat.read(out / "ex03_categorical" / "ex03_categorical.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("# ASSIGNMENT CONFIG")
    assert "ok_format: false" in nb.cells[0].source
    raw = [c.source for c in nb.cells if c.cell_type == "raw"]
    questions = [s for s in raw if s.startswith("# BEGIN QUESTION")]
    assert [re.search(r"name: (\w+)", q).group(1) for q in questions] == [
        "categorical_logp",
        "categorical_entropy",
    ]
    assert all("all_or_nothing: true" in q for q in questions)
    for kind in ("SOLUTION", "TESTS", "QUESTION"):
        assert raw.count(f"# END {kind}") == 2
    tests = [c.source for c in nb.cells if "# BEGIN TEST CONFIG" in c.source]
    assert len(tests) == len(GRADED["categorical_logp"].cases) + len(
        GRADED["categorical_entropy"].cases
    )
    assert all("hidden: true" in t and "graded_case(" in t for t in tests)
    points = sum(float(re.search(r"points: ([\d.]+)", t).group(1)) for t in tests)
    assert points == pytest.approx(10.0)
    answers = [c.source for c in nb.cells if "# BEGIN SOLUTION NO PROMPT" in c.source]
    assert len(answers) == 2 and all("# BEGIN PROMPT" in a for a in answers)


def test_build_errors_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    build = ["grading", "build", "--format", "nbgrader", "out"]
    assert main([*build, "--solutions", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "solutions folder" in err and "--solutions" in err and len(err.splitlines()) == 1
    assert main([*build, "--solutions", str(ROOT / "solutions"), "--only", "ex99"]) == 2
    assert "no graded checks for ['ex99']" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- the graded cells, executed as the tools execute them ------------------------------------
def _cases(name):
    return [
        pack_case(case, *_answer(name, case), sampled=EXERCISES[name].compare is not None)
        for case in GRADED[name].cases
    ]


def _answer(name, case):
    from rlkit.exercises.checking import call_on_case, gradients

    result, inputs = call_on_case(EXERCISES[name], SOLUTIONS[name], case)
    grads = gradients(EXERCISES[name], inputs, result) if EXERCISES[name].grad_args else None
    return result, grads


def test_a_right_answer_gets_full_marks_and_prints_the_verdict(capsys):
    assert graded_check("gae", SOLUTIONS["gae"], _cases("gae"), points=10) is None
    assert "✓ gae: all 5 graded cases pass: 10/10 points." in capsys.readouterr().out


def test_a_right_answer_that_warns_writes_nothing_to_stderr(capfd):
    def ppo_clip_loss(logp, old_logp, advantages, clip_param):
        advantages = torch.tensor(advantages)  # torch's UserWarning: copy-construct a tensor
        warnings.warn("the student's own warning", UserWarning, stacklevel=1)
        print("debug print", file=sys.stderr)
        return SOLUTIONS["ppo_clip_loss"](logp, old_logp, advantages, clip_param)

    assert graded_check("ppo_clip_loss", ppo_clip_loss, _cases("ppo_clip_loss"), points=10) is None
    out, err = capfd.readouterr()
    assert err == "" and "10/10 points" in out


@pytest.mark.parametrize(
    "name, wrong, fragment",
    [
        ("ppo_clip_loss", lambda lp, old, adv, eps: -(torch.exp(lp - old) * adv).mean(), "value"),
        ("gae", lambda *a: list(SOLUTIONS["gae"](*a)), "should be a numpy array"),
        ("categorical_entropy", lambda x: SOLUTIONS["categorical_entropy"](x).double(), "dtype"),
    ],
)
def test_a_wrong_answer_scores_0_all_or_nothing_and_says_why(name, wrong, fragment):
    with pytest.raises(GradedCheckFailed) as info:
        graded_check(name, wrong, _cases(name), points=10)
    assert "0/10 points: this check is all or nothing" in str(info.value)
    assert fragment in str(info.value)


def test_partial_credit_follows_the_teachers_weights_only(capsys):
    def no_lambda(rewards, values, terminated, gamma, lam):
        return SOLUTIONS["gae"](rewards, values, terminated, gamma, 1.0)  # right only at lam = 1

    cases = _cases("gae")  # the 4th case has gamma = lam = 1
    earned = graded_check("gae", no_lambda, cases, points=10, weights=[1, 1, 1, 3, 1])
    assert earned == pytest.approx(10 * 3 / 7, abs=1e-4)
    assert "1 of 5 graded cases" in capsys.readouterr().out
    with pytest.raises(GradedCheckFailed):
        graded_check("gae", no_lambda, cases, points=10)


def test_an_endless_loop_is_stopped_and_scores_0_quickly():
    def gae(rewards, values, terminated, gamma, lam):
        while True:
            pass

    start = time.perf_counter()
    with pytest.raises(GradedCheckFailed, match="stopped after 0.3 s"):
        graded_check("gae", gae, _cases("gae"), points=10, seconds=0.3)
    assert time.perf_counter() - start < 5  # the later cases are not run


def test_an_untouched_stub_or_a_missing_function_scores_0():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(GradedCheckFailed, match="still the stub"):
        graded_check("one_hot", stub, _cases("one_hot"), points=5)
    with pytest.raises(GradedCheckFailed, match="not a function"):
        graded_check("one_hot", None, _cases("one_hot"), points=5)


def test_otter_cases_pass_and_fail_one_by_one():
    case = _cases("masked_logits")[0]
    graded_case("masked_logits", SOLUTIONS["masked_logits"], case)
    with pytest.raises(GradedCheckFailed, match="graded case"):
        graded_case("masked_logits", lambda logits, mask: logits * mask, case)


def test_every_graded_check_passes_its_solution_and_fails_a_detached_or_stub_one():
    for name, check in GRADED.items():
        with contextlib.redirect_stdout(io.StringIO()):
            graded_check(name, SOLUTIONS[name], _cases(name), points=check.points)
        with pytest.raises(GradedCheckFailed):
            graded_check(name, lambda *a: 0, _cases(name), points=check.points)


def test_cases_round_trip_through_text_large_arrays_compressed():
    text = _cases("autoregressive_sample")[0]
    assert len(text) < 2000  # 8,000 contexts, compressed
    case, answer = unpack_case(text)
    original = GRADED["autoregressive_sample"].cases[0].args
    assert torch.equal(case.args["context"], original["context"])
    assert case.args["action_model"].p_a2 == original["action_model"].p_a2
    assert answer["result"].shape == (8000, 2)
    with pytest.raises(ValueError, match="rebuild the course"):
        unpack_case('{"label": 1}')


def test_a_teacher_definition_with_bad_weights_is_refused():
    case = GRADED["gae"].cases[0]
    with pytest.raises(ValueError, match="one per case"):
        GradedCheck("gae", [case], weights=(1, 2))
    with pytest.raises(ValueError, match="points must be > 0"):
        GradedCheck("gae", [case], points=0)


# -- students cannot read the answers --------------------------------------------------------
def test_the_package_holds_no_graded_case_and_no_solution():
    files = [p for p in (ROOT / "rlkit").rglob("*") if p.suffix in {".py", ".json"}]
    text = "\n".join(p.read_text(errors="ignore") for p in files)
    numbers = re.findall(r"-?\d\.\d{8,}", "".join(_cases("gae") + _cases("running_mean_std")))
    assert len(numbers) > 20
    assert not [n for n in numbers if n in text]  # no graded input or answer
    assert "next_advantage = delta + gamma * lam" not in text  # the gae solution's line


def test_a_built_wheel_and_sdist_hold_no_solutions_and_no_graded_cases(tmp_path):
    # Built as pip builds them, from a copy that has solutions/ beside rlkit/ (as a checkout has).
    import shutil
    import tarfile
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy(ROOT / name, src / name)
    for name in ("rlkit", "solutions"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    script = "from setuptools import build_meta as b; b.build_wheel('dist'); b.build_sdist('dist')"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=src, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (src / "dist").glob("*.whl")
    (sdist,) = (src / "dist").glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as whl, tarfile.open(sdist) as tar:
        names = whl.namelist() + tar.getnames()
        contents = "".join(whl.read(n).decode("utf-8", "ignore") for n in whl.namelist())
    assert any(n.endswith("rlkit/grading/runtime.py") for n in names)  # the package is there
    assert any(n.endswith("rlkit/exercises/expected.json") for n in names)
    leaked = [n for n in names if "solutions" in n or n.endswith(("graded.py", "make_expected.py"))]
    assert leaked == []
    assert "next_advantage = delta + gamma * lam" not in contents
    assert "GradedCheck(\n" not in contents.replace('"', "")
