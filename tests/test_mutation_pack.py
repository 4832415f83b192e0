"""Packing the mutation tests' answers into submissions (grading.mutation.pack): every answer graded once, in a
submission where nothing else can earn or lose its tests' points, in as few submissions as the cells allow."""
from collections import Counter

import pytest

from grading import mutation
from grading.submissions import ROOT, autograded_points

ANSWERS = {"vi_stars": "answers.py", "vi_beyond": "answers_beyond.py", "vi_two_stars": "answers_vi_two_stars.py"}


def check_packing(submissions, cases, equivalent, mutants, hosts=()):
    """The rules a packing keeps, whatever the answers: each answer once, in its own cell of one submission; no
    two answers of a submission name the same test; a host's own cells and lost tests left alone."""
    given = sorted((a, e[0]) for table in (equivalent, mutants) for a, entries in table.items() for e in entries)
    assert sorted((c.answer_id, c.name) for c in cases) == given
    by_student = {}
    for case in cases:
        by_student.setdefault(case.student, []).append(case)
    assert set(by_student) == set(submissions)
    for student, members in by_student.items():
        assert sorted(submissions[student]) == sorted(c.answer_id for c in members)  # one answer a cell
        named = Counter(t for c in members for t in c.tests)
        assert max(named.values()) == 1, (student, named)
    for host in hosts:
        for case in by_student.get(host.student, []):
            assert case.answer_id not in host.busy and not case.tests & host.loses and case.kind in host.carries


@pytest.mark.parametrize("assignment", ANSWERS)
def test_each_assignments_answers_fill_as_few_submissions_as_its_busiest_cell_needs(assignment):
    equivalent, mutants = mutation.load_answers(ROOT / "tests" / ANSWERS[assignment])
    submissions, cases = mutation.pack(equivalent, mutants, autograded_points(assignment=assignment))
    check_packing(submissions, cases, equivalent, mutants)
    busiest = Counter(c.answer_id for c in cases).most_common(1)[0][1]
    assert len(submissions) == busiest
    assert {c.kind for c in cases} == {"equivalent", "mutant"}
    assert any(len({c.kind for c in cases if c.student == s}) == 2 for s in submissions)  # the two kinds share


def test_hosts_carry_what_they_can_and_the_rest_gets_submissions_of_its_own():
    points = {"ex1_test": 2, "ex2_test": 2, "ex9_test": 2, "ex10_test": 1}
    equivalent = {"ex1_answer": [("e1", "a = 1")], "ex9_answer": [("e3", "fit()")]}
    mutants = {"ex1_answer": [("m1", "a = 2", {"ex1_test"}), ("m2", "a = 3", {"ex1_test"})],
               "ex2_answer": [("m3", "b = 0", {"ex2_test"})],
               "ex9_answer": [("m4", "pass", {"ex9_test", "ex10_test"})]}
    hosts = [mutation.Host("full", carries=frozenset({"equivalent"})),
             mutation.Host("careless", busy=frozenset({"ex2_answer"}), loses=frozenset({"ex10_test"}))]
    submissions, cases = mutation.pack(equivalent, mutants, points, hosts)
    check_packing(submissions, cases, equivalent, mutants, hosts)
    where = {c.name: c.student for c in cases}
    # equivalents go to the first host; mutants to the last, which writes ex2 itself and loses ex10 on its own;
    # what no host can take shares one submission of its own
    assert where == {"e1": "full", "e3": "full", "m1": "careless", "m2": "answers-01", "m3": "answers-01",
                     "m4": "answers-01"}


def test_an_equivalent_and_a_mutant_of_one_submission_are_judged_apart():
    points = {"ex1_test": 2, "ex2_test": 2}
    cases = [mutation.Case("s", "ex1_answer", "right", "equivalent", frozenset({"ex1_test"})),
             mutation.Case("s", "ex2_answer", "wrong", "mutant", frozenset({"ex2_test"}))]
    judged = mutation.judge_cases(cases, {"s": {"ex1_test": 2, "ex2_test": 0}}, points)
    assert [ok for _, ok, _ in judged] == [True, True]
    judged = mutation.judge_cases(cases, {"s": {"ex1_test": 1, "ex2_test": 2}}, points)
    # the equivalent lost points: so did a test that no mutant of its submission targets
    assert [(c.name, ok) for c, ok, _ in judged] == [("right", False), ("wrong", False), ("other exercises", False)]
