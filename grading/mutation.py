"""Mutation testing of the tests: correct answers in other styles must earn every point, wrong ones must not.

    python -m grading.mutation tests/answers.py [--jobs N] [--assignment A]     (or: make mutants)

An answers file defines, for answer cells of the assignment (by grade_id):
    EQUIVALENT = {answer_id: [(name, cell source), ...]}              correct, written differently
    MUTANTS    = {answer_id: [(name, cell source, {test ids}), ...]}  wrong: must lose those tests' points
Answers are packed into as few submissions as possible, one answer per exercise in each (exercises score
independently), graded by `make grade`'s own batch in a throw-away copy of the course, and the outcome is
printed per test: equivalent answers that kept every point, mutants that lost theirs. Exit code 1 unless
every equivalent answer earned full marks and every mutant was caught.
"""
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from grading import assignments, batch
from grading.submissions import ASSIGNMENT, COURSE_FILES, ROOT, answered, cells_by_id, copy_course, read


@dataclass
class Case:
    student: str        # the submission it is packed in
    answer_id: str
    name: str
    kind: str           # "equivalent" or "mutant"
    tests: frozenset    # the tests it must earn (equivalent) or lose (mutant)


def tests_of(answer_id, points):
    """The test cells that grade an answer cell: exN_answer -> exN_test, and ex9's encoder_rmse -> ex9, ex10."""
    exercise = answer_id.removesuffix("_answer")
    tests = {f"{exercise}_test"} | ({"ex10_test"} if exercise == "ex9" else set())
    return frozenset(t for t in tests if t in points)


def load_answers(path):
    spec = importlib.util.spec_from_file_location("answers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EQUIVALENT, module.MUTANTS


@dataclass(frozen=True)
class Host:
    """A submission of another class that carries answers of this one: `busy` names the answer cells it writes
    itself, `loses` the tests it loses on its own, `carries` the kinds of answer it may take ("equivalent",
    "mutant"). It can carry an answer whose cell it leaves alone and whose tests it keeps: then what that answer
    earns or loses is the answer's doing."""
    student: str
    busy: frozenset = frozenset()
    loses: frozenset = frozenset()
    carries: frozenset = frozenset({"equivalent", "mutant"})

    def can_carry(self, kind, answer_id, tests):
        return kind in self.carries and answer_id not in self.busy and not tests & self.loses


def pack(equivalent, mutants, points, hosts=()):
    """{student: {answer_id: source}} and [Case]: answers packed into as few submissions as possible. Exercises
    score independently, so one submission carries equivalent answers and mutants alike, at most one answer per
    cell and no two answers that name the same test: there a mutant's tests lose their points and an equivalent's
    keep theirs.

    hosts: [Host] of another class; equivalents go to the first that can take them, mutants to the last (those
    that lose points on their own come last), so that hosts earning full marks keep them where they can.
    Whatever is left goes to submissions of their own, answers-01, answers-02, ...; the caller writes the hosts'
    submissions, with the answers packed for them.
    """
    submissions, cases, claimed, extras = {}, [], {}, []
    for kind, table in (("equivalent", equivalent), ("mutant", mutants)):
        carriers = list(hosts) if kind == "equivalent" else list(reversed(hosts))
        for answer_id, entries in table.items():
            for entry in entries:
                tests = frozenset(entry[2]) if kind == "mutant" else tests_of(answer_id, points)

                def free(student):
                    return answer_id not in submissions.get(student, {}) and not tests & claimed.get(student, set())

                student = next((h.student for h in carriers if h.can_carry(kind, answer_id, tests) and free(h.student)),
                               None) or next((s for s in extras if free(s)), None)
                if student is None:
                    student = f"answers-{len(extras) + 1:02d}"
                    extras.append(student)
                submissions.setdefault(student, {})[answer_id] = entry[1]
                claimed.setdefault(student, set()).update(tests)
                cases.append(Case(student, answer_id, entry[0], kind, tests))
    return submissions, cases


def notebook_of(root, assignment):
    """{grade_id: the name of the notebook holding it} for the assignment's nbgrader cells: answers and tests are
    named by grade_id alone, so an assignment of several notebooks needs its grade_ids unique across them."""
    where = {}
    for path in assignments.notebooks(assignment, root):
        for gid in cells_by_id(read(Path(root) / "source" / path)):
            if gid in where:
                raise ValueError(f"grade_id {gid!r} is in both {where[gid]}.ipynb and {Path(path).name} of {assignment}: "
                                 "mutation testing names cells by grade_id, which must then be unique in the assignment")
            where[gid] = Path(path).stem
    return where


def assignment_points(root, assignment):
    """{test id: points} of the assignment's autograder tests, all its notebooks together."""
    notebook_of(root, assignment)  # grade_ids unique across its notebooks
    return {gid: points for tests in batch.autograder_tests(root, assignment).values() for gid, points in tests.items()}


def write_class(root, submissions, assignment=ASSIGNMENT):
    """Each submission as its student hands it in: the release's files, each notebook answered, with the
    submission's answers {grade_id: source} in place of the reference solution's."""
    root = Path(root)
    where = notebook_of(root, assignment)
    for student, replace in submissions.items():
        unknown = sorted(set(replace) - set(where))
        if unknown:
            raise ValueError(f"answers name cells {assignment} does not have: {unknown}")
        folder = root / "submitted" / student / assignment
        shutil.copytree(root / "release" / assignment, folder)
        for path in assignments.notebooks(assignment, root):
            mine = {gid: source for gid, source in replace.items() if where[gid] == Path(path).stem}
            nbformat.write(answered(root, assignment, path, **mine), root / "submitted" / student / path)


def scores(db_url, students, points, assignment=ASSIGNMENT, root=ROOT):
    """{student: {test id: score}} from the gradebook; a submission that was not graded scores nothing."""
    result, where = {}, notebook_of(root, assignment)
    with Gradebook(db_url) as gb:
        for student in students:
            try:
                result[student] = {t: gb.find_grade(t, where[t], assignment, student).score for t in points}
            except Exception:  # not graded at all (MissingEntry): every test counts as lost
                result[student] = {t: 0.0 for t in points}
    return result


def judge_cases(cases, graded, points, hosts=()):
    """[(case, passed, why)]: an equivalent passes when it kept every point of its tests and of every other
    test in its submission; a mutant passes (is caught) when it lost every point of the tests it names.
    hosts: the [Host]s the cases were packed into; the tests a host loses on its own are not collateral."""
    own_losses = {h.student: h.loses for h in hosts}
    packed = {}
    for case in cases:
        packed.setdefault(case.student, []).append(case)
    outcome = []
    for case in cases:
        got = graded[case.student]
        if case.kind == "equivalent":
            lost = sorted(t for t in case.tests if got[t] < points[t])
            outcome.append((case, not lost, f"lost {', '.join(lost)}" if lost else ""))
        else:
            kept = sorted(t for t in case.tests if got[t] > 0)
            outcome.append((case, not kept, f"kept {', '.join(kept)}" if kept else ""))
    # a test no answer in a submission targets must keep its points there: otherwise exercises interfere
    for student, members in packed.items():
        targeted = set().union(*(c.tests for c in members if c.kind == "mutant"))
        expected_lost = targeted | own_losses.get(student, frozenset())
        collateral = sorted(t for t in points if t not in expected_lost and graded[student][t] < points[t])
        if collateral:
            outcome.append((Case(student, "-", "other exercises", "collateral", frozenset(collateral)), False,
                            f"lost {', '.join(collateral)}, which none of its answers targets"))
    return outcome


def table(outcome, points):
    """The per-test summary: equivalents full / all, mutants caught / all, then every case that failed."""
    lines = [f"{'test':<10} {'equivalent answers full':>24} {'mutants caught':>15}"]
    for test in points:
        eq = [ok for c, ok, _ in outcome if c.kind == "equivalent" and test in c.tests]
        mu = [ok for c, ok, _ in outcome if c.kind == "mutant" and test in c.tests]
        lines.append(f"{test:<10} {sum(eq):>18} / {len(eq):<3} {sum(mu):>9} / {len(mu):<3}")
    eq = [ok for c, ok, _ in outcome if c.kind == "equivalent"]
    mu = [ok for c, ok, _ in outcome if c.kind == "mutant"]
    lines.append(f"{'all':<10} {sum(eq):>18} / {len(eq):<3} {sum(mu):>9} / {len(mu):<3}")
    lines += [f"FAILED {c.kind} {c.answer_id} {c.name!r} ({c.student}): {why}" for c, ok, why in outcome if not ok]
    return "\n".join(lines) + "\n"


def run(answers_path, jobs=2, sandboxed=True, cell_timeout=120, assignment=ASSIGNMENT):
    """Grade the packed class in a throw-away copy of the course; returns (outcome, the table's text)."""
    os.environ["PATH"] = batch.environment()["PATH"]  # nbgrader runs `alembic` from PATH
    points = assignment_points(ROOT, assignment)
    submissions, cases = pack(*load_answers(answers_path), points)
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        root = copy_course(Path(tmp), COURSE_FILES)
        write_class(root, submissions, assignment)
        batch.grade_all(root, jobs, sandboxed, cell_timeout, student_timeout=900, progress=False,
                        assignment=assignment)
        graded = scores(f"sqlite:///{root / 'gradebook.db'}", submissions, points, assignment, root)
    outcome = judge_cases(cases, graded, points)
    return outcome, table(outcome, points)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", help="a Python file defining EQUIVALENT and MUTANTS")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--sandbox", choices=["on", "off"], default="on")
    parser.add_argument("--assignment", help="a folder of source/ (default: the course's first)")
    args = parser.parse_args(argv)
    try:
        args.assignment = assignments.check(args.assignment, ROOT, "--assignment") if args.assignment \
            else assignments.first(ROOT)
    except ValueError as err:
        parser.error(str(err))
    if not Path(args.answers).is_file():
        parser.error(f"answers must be a Python file defining EQUIVALENT and MUTANTS for {args.assignment}'s answer "
                     f"cells, got {args.answers!r}, which does not exist (make mutants ANSWERS=path)")
    outcome, text = run(args.answers, args.jobs, args.sandbox == "on", assignment=args.assignment)
    print(text, end="")
    sys.exit(0 if all(ok for _, ok, _ in outcome) else 1)


if __name__ == "__main__":
    main()
