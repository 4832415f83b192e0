"""grading.delegation: code that reaches past the engine's public API, reaches an exercise's declared reference, or
hides off to the right, is named; grading.references: the declared references, checked."""
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from grading import delegation, mutation, references
from grading.batch import student_cells
from grading.sanitize import SanitizeStudentMarkup
from grading.submissions import ROOT, answered

TWO_STARS = "vi_two_stars"


def test_the_references_of_the_hidden_tests_are_named_however_they_are_reached():
    cases = {
        "from course.vi import neg_elbo_grad\nneg_elbo_grad(m, s, e, p, l)": ["from course.vi import neg_elbo_grad"],
        "import course\ncourse.likelihood.StarLikelihood(x, psf, b)": ["course.likelihood.StarLikelihood"],
        "import course.gradients as g": ["import course.gradients"],
        "from course import coverage": ["from course import coverage"],
        "import importlib\nimportlib.import_module('course.' + 'vi')": ["import importlib", "importlib.import_module"],
        "f = __import__('course.evidence')": ["__import__"],
        "import sys\nsys.modules['course.vi']": ["sys.modules"],
        "import course\ngetattr(course, 'v' + 'i')": ["getattr(course, ...)"],
    }
    for source, named in cases.items():
        assert delegation.reaches(source) == named, source


def test_the_public_engine_and_ordinary_code_are_not_named():
    honest = ("import course\nimport course.widgets\nfrom course import simulate, grid_posterior\n"
              "from course.testing import as_values\nd = course.simulate(n=3)\ng = getattr(course, 'fit_vi')\n"
              "import numpy as np\nnp.sqrt(2)")
    assert delegation.reaches(honest) == [] and delegation.reaches("def f(:\n") == []


def release(assignment=TWO_STARS):
    return delegation.Release.of(nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4))


def declared_reach(source, assignment=TWO_STARS):
    """{grade_id of the exercise: how} for each declared reference of the assignment that `source` reaches."""
    found = delegation.reached(source, references.declared(assignment), release(assignment))
    return {ref.grade_id: how for ref, how in found}


def test_the_reference_solutions_are_not_flagged():
    """Nor the release's own code that an answer cell keeps: vi_two_stars's C1 cell calls course.TwoStarLogJoint
    (A1's reference) after the answer, and its section (a) fits with course.fit_gaussian_vi (B2's)."""
    for assignment in ("vi_stars", "vi_beyond", TWO_STARS):
        nb = student_cells(answered(ROOT, assignment))
        assert delegation.notes(nb, references.declared(assignment), release(assignment)) == [], assignment
    kept = answered(ROOT, TWO_STARS)
    assert any("course.TwoStarLogJoint(data)" in c.source for c in student_cells(kept).cells)
    assert delegation.notes(student_cells(kept), references.declared(TWO_STARS)), "without the release, it would be"


def test_a_declared_reference_is_named_however_it_is_reached():
    fit = "fit(images, psfs, background, prior_loc, prior_scale)"
    cases = {  # source -> (exercise whose reference it reaches, how the note says it does)
        "course.fit_gaussian_vi(lj, prior, n)": ("b2_answer", "course.fit_gaussian_vi"),
        "import course.gaussian_vi\ncourse.gaussian_vi.fit_gaussian_vi(lj, prior, n)":
            ("b2_answer", "course.gaussian_vi.fit_gaussian_vi"),
        f"from course import fit_gaussian_vi as fit\n{fit}": ("b2_answer", "from course import fit_gaussian_vi as fit"),
        f"import course as c\nfit = c.fit_gaussian_vi\n{fit}": ("b2_answer", "c.fit_gaussian_vi (course.fit_gaussian_vi)"),
        "getattr(course, 'fit_gaussian_vi')(lj, prior, n)": ("b2_answer", "the string 'fit_gaussian_vi'"),
        "getattr(course, 'fit_' + 'gaussian_vi')(lj, prior, n)": ("b2_answer", "the string 'fit_gaussian_vi'"),
        "getattr(course, f'{\"fit\"}_gaussian_vi')(lj, prior, n)": ("b2_answer", "the string 'fit_gaussian_vi'"),
        "eval('course.fit_gaussian_vi')(lj, prior, n)": ("b2_answer", "the string 'course.fit_gaussian_vi'"),
        "import importlib\nimportlib.import_module('course.gaussian_vi')":
            ("b2_answer", "the engine by name: importlib.import_module('course.gaussian_vi')"),
        "course.__dict__['TwoStarLogJoint'](d)(flux)": ("a1_answer", "the engine's namespace: course.__dict__"),
        "[v for k, v in vars(course).items() if 'Joint' in k][0]": ("a1_answer", "the engine's namespace: vars(course)"),
        "sorted(dir(course))": ("b2_answer", "the engine's namespace: dir(course)"),
        "import inspect\ninspect.getmembers(course.two_stars)": (
            "a1_answer", "the engine's namespace: inspect.getmembers(course.two_stars)"),
        "import inspect\nprint(inspect.getsource(course))": ("c1_answer", "the engine's source: inspect.getsource(course)"),
        "open(course.__file__.replace('__init__', 'two_stars')).read()": ("a1_answer", "the engine's source: course.__file__"),
        "exec(open('/work/course/gaussian_vi.py').read())": ("b2_answer", "its source file, '/work/course/gaussian_vi.py'"),
        "from course.diagnostics import iw_bound\niw_bound(log_w, K)": ("c1_answer", "from course.diagnostics import iw_bound"),
        # a method of a class: on an instance the student makes, or the class of an instance the notebook made
        "course.GaussianQ(torch.zeros(L.shape[:-1]), L).entropy()": (
            "b1_answer", "course.GaussianQ(torch.zeros(L.shape[:-1]), L).entropy, on an instance of GaussianQ"),
        "q = course.GaussianQ.from_normal(m, s)\nq.entropy()": ("b1_answer", "q.entropy, on an instance of GaussianQ"),
        "type(full_rank_1)(m, L).entropy()": ("b1_answer", "type(full_rank_1), the class of an instance the notebook made"),
        "log_joints[0].__class__(d)(flux)": ("a1_answer", "log_joints[0].__class__, on an instance of TwoStarLogJoint"),
        "getattr(mean_field_1, 'entropy')()": ("b1_answer", "getattr(mean_field_1, 'entropy'), on an instance of GaussianQ"),
    }
    for source, (exercise, how) in cases.items():
        found = declared_reach(source)
        assert found.get(exercise) == how, (source, found)


def test_honest_code_and_the_allowed_public_helpers_are_not_flagged():
    honest = [
        # the public helpers the notebook's cells use, which the exercises' references are not
        "log_w = course.log_weights(lj, q, 1000, seed=3)\nk = course.psis_khat(log_w)\n"
        "d = course.simulate_two_stars(n=2, separation=1.5, seed=4)\npost = course.grid_posterior_2d(d)",
        # a q of the student's own, named as the notebook names one of its GaussianQ: its entropy is torch's
        "from torch.distributions import MultivariateNormal\nq = MultivariateNormal(m, scale_tril=L)\nh = q.entropy()",
        "def gaussian_entropy(scale_tril):\n    q = MultivariateNormal(torch.zeros(2), scale_tril=scale_tril)\n"
        "    return getattr(q, 'entropy')()",
        # names of the engine as plain words, and the notebook's results read as data
        "plt.title('coverage of the iw_bound and fit_gaussian_vi')\nprint(full_rank_1.sd, mean_field_1.mean)",
        "table = {'entropy': 1.0, 'TwoStarLogJoint': 2.0}\nprint(table['entropy'])",
    ]
    for source in honest:
        assert declared_reach(source) == {}, source
    assert declared_reach("plt.title('coverage')", "vi_beyond") == {}
    assert declared_reach("getattr(course.coverage, 'coverage')", "vi_beyond") == {
        "c1_answer": "the string 'coverage'"}


def test_the_equivalent_answers_are_flagged_only_where_they_delegate():
    """vi_two_stars's mutation class: of its correct answers in other styles, only the one whose B2 calls
    course.fit_gaussian_vi is named, for B2."""
    equivalent, _ = mutation.load_answers(ROOT / "tests" / "answers_vi_two_stars.py")
    flagged = {}
    for grade_id, entries in equivalent.items():
        for name, source, *_ in entries:
            found = delegation.notes(student_cells(answered(ROOT, TWO_STARS, **{grade_id: source})),
                                     references.declared(TWO_STARS), release())
            if found:
                flagged[name] = found
    assert list(flagged) == ["the engine's course.fit_gaussian_vi called for the loop"], flagged
    assert flagged[next(iter(flagged))] == ["b2_answer reaches the declared reference of b2_answer (fit_gaussian_vi), "
                                            "by course.fit_gaussian_vi (check it by hand)"]


def test_every_assignment_declares_the_references_of_its_exercises():
    declared = {a: {(r.grade_id, r.name) for r in references.declared(a)} for a in ("vi_stars", "vi_beyond", TWO_STARS)}
    assert {("a1_answer", "TwoStarLogJoint"), ("b1_answer", "GaussianQ.entropy"), ("b2_answer", "fit_gaussian_vi"),
            ("c1_answer", "diagnostics.iw_bound")} <= declared[TWO_STARS]
    assert ("ex8_answer", "neg_elbo") in declared["vi_stars"] and ("a1_answer", "evidence.log_evidence") in declared["vi_beyond"]


@pytest.mark.parametrize("table, message", [
    ({"vi_three_stars": {}}, "c.FlagDelegation.references['vi_three_stars']: not an assignment of the course "
                             "(it has vi_stars, vi_beyond, vi_two_stars)"),
    ({TWO_STARS: {"a1_test": ["TwoStarLogJoint"]}}, "c.FlagDelegation.references['vi_two_stars']['a1_test']: not a "
                                                    "code answer cell of vi_two_stars's source notebooks (their code "
                                                    "answer cells: a1_answer, b1_answer, b2_answer, c1_answer, c2_answer)"),
    ({TWO_STARS: {"a_written": ["TwoStarLogJoint"]}}, "['a_written']: not a code answer cell"),
    ({TWO_STARS: {"b2_answer": ["fit_gaussian"]}}, "c.FlagDelegation.references['vi_two_stars']['b2_answer']: "
                                                   "'fit_gaussian' is not in the engine"),
    ({TWO_STARS: {"b2_answer": ["gaussian_vi._private"]}}, "'gaussian_vi._private' is not in the engine"),
    ({TWO_STARS: {"b2_answer": "fit_gaussian_vi"}}, "['b2_answer'] must be a list of the engine's names, "
                                                    "got 'fit_gaussian_vi'"),
    ({TWO_STARS: ["b2_answer"]}, "must be a dict {grade_id: [name, ...]}"),
    ({TWO_STARS: {"b2_answer": ["fit_gaussian_vi()"]}}, "a name must be an attribute path of the engine"),
])
def test_a_bad_declaration_is_an_error_naming_the_entry_and_what_is_allowed(table, message):
    with pytest.raises(ValueError) as err:
        references.check(table, ROOT)
    assert message in str(err.value)


def test_a_listed_assignment_the_course_does_not_hold_is_no_error(tmp_path):
    """A course that holds only some of the assignments its configuration lists (one copied in part, or one retired):
    the others' declarations are not checked against notebooks that are not there, and the present one's still are."""
    from grading.submissions import copy_course
    course_dir = copy_course(tmp_path, ("nbgrader_config.py",))
    (course_dir / "source").mkdir()
    shutil.copytree(ROOT / "source" / TWO_STARS, course_dir / "source" / TWO_STARS)
    table = references.configured(ROOT)
    assert {"vi_stars", "vi_beyond"} <= set(table)
    assert {r.name for r in references.declared(TWO_STARS, course_dir)} >= {"TwoStarLogJoint", "fit_gaussian_vi"}
    with pytest.raises(ValueError, match="not a code answer cell"):
        references.check(dict(table, **{TWO_STARS: {"b9_answer": ["iw_bound"]}}), course_dir)


def test_autograde_stops_on_a_bad_declaration_before_the_first_cell():
    flag = delegation.FlagDelegation(config=Config(
        CourseDirectory={"root": str(ROOT)}, FlagDelegation={"references": {TWO_STARS: {"b9_answer": ["iw_bound"]}}}))
    nb = nbformat.from_dict(new_notebook(cells=[new_code_cell("x = 1")]))
    with pytest.raises(ValueError, match=r"\['b9_answer'\]: not a code answer cell"):
        flag.preprocess(nb, {"nbgrader": {"assignment": TWO_STARS, "notebook": TWO_STARS}})


def test_the_autograded_notebook_names_the_exercise_whose_reference_a_cell_reaches():
    """From the course's own configuration: the note below the student's B2 cell names B2's reference; the same call
    in the notebook's own cell, kept as released, gets none."""
    config = Config(CourseDirectory={"root": str(ROOT)},
                    FlagDelegation={"references": references.configured(ROOT)})
    kept = "mean_field_all = course.fit_gaussian_vi(all_log_joints, data.prior, 16, family=\"mean_field\", iterations=1000)"
    nb = nbformat.from_dict(new_notebook(cells=[
        new_code_cell(kept),
        new_code_cell("from course import fit_gaussian_vi\nfit = fit_gaussian_vi(lj, prior, n)",
                      metadata={"nbgrader": {"grade_id": "b2_answer", "solution": True}})]))
    nb, _ = delegation.FlagDelegation(config=config).preprocess(nb, {"nbgrader": {"assignment": TWO_STARS,
                                                                                  "notebook": TWO_STARS}})
    assert [len(c.outputs) for c in nb.cells] == [0, 1]
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == (
        "[Grading note for the instructor: this cell reaches the declared reference of b2_answer (fit_gaussian_vi), "
        "by from course import fit_gaussian_vi (check it by hand).]")


def test_a_call_hidden_off_to_the_right_is_reported():
    nb = new_notebook(cells=[new_code_cell("def answer(x):\n    return 0" + " " * 600 + "; import course.vi",
                                           metadata={"nbgrader": {"grade_id": "ex6_answer", "solution": True}})])
    notes = delegation.notes(nbformat.from_dict(nb))
    assert len(notes) == 2 and notes[0].startswith("ex6_answer uses the engine's own references")
    assert "ex6_answer has 1 line(s) wider than" in notes[1]


def test_the_autograded_notebook_notes_it_below_the_students_cell_only():
    """FlagDelegation (in autograde, before the sanitizer): a note output below the student's cell, which the sanitizer
    keeps; the instructor's test and locked cells, which may use the references, get none; a cell with nothing to flag
    keeps its outputs as they were."""
    call = "import course.vi\ncourse.vi.neg_elbo_grad"
    nb = nbformat.from_dict(new_notebook(cells=[
        new_code_cell(call, metadata={"nbgrader": {"grade_id": "ex6_answer", "solution": True}}),
        new_code_cell(call, metadata={"nbgrader": {"grade_id": "ex6_test", "grade": True, "locked": True,
                                                   "points": 1}}),
        new_code_cell(call, metadata={"nbgrader": {"grade_id": "setup", "locked": True}}),
        new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "ex7_answer", "solution": True}})]))
    nb, _ = delegation.FlagDelegation().preprocess(nb, {})
    nb, _ = SanitizeStudentMarkup().preprocess(nb, {})
    assert [len(c.outputs) for c in nb.cells] == [1, 0, 0, 0]
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == ("[Grading note for the instructor: this cell uses the "
                                                           "engine's own references (check it by hand): "
                                                           "import course.vi, course.vi.neg_elbo_grad.]")

