"""grading.rubric and the formgrader's template: the model answer and rubric of each written answer, from source/,
for the grader's page only. The browser test (tests/test_formgrader_browser.py) shows them on the page."""
from nbconvert.exporters import HTMLExporter
from traitlets.config.loader import PyFileConfigLoader

from grading.cells import is_manually_graded
from grading import rubric
from grading.rubric import model_answers, solution_region
from grading.submissions import ROOT, answered, cells_by_id, notebook, read

CONFIG = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def test_the_region_between_the_markers_is_the_model_answer():
    assert solution_region("Q?\n### BEGIN SOLUTION\n**Model answer.** A.\n\nRubric: B.\n### END SOLUTION\n") == \
        "**Model answer.** A.\n\nRubric: B."
    assert solution_region("**Model answer.** The whole cell.\n") == "**Model answer.** The whole cell."  # no markers


def test_every_written_answer_of_both_assignments_has_one():
    for assignment in ("vi_stars", "vi_beyond"):
        source = read(ROOT / "source" / notebook(assignment))
        answers = model_answers(source)
        assert set(answers) == {gid for gid, c in cells_by_id(source).items() if is_manually_graded(c)}, assignment
        assert all(a and "SOLUTION" not in a for a in answers.values()), assignment


def formgrader_render(nb):
    """nb as the formgrader renders a submission: nbgrader_config.py's HTMLExporter, the formgrader's resources."""
    resources = dict(assignment_id="vi_stars", notebook_id="vi_stars", submission_id="s", index=0, total=1,
                     base_url="", student="s", last_name=None, first_name=None, notebook_path="")
    return HTMLExporter(config=CONFIG).from_notebook_node(nb, resources=resources)[0]


def test_the_formgrader_renders_each_model_answer_after_its_answer_and_feedback_keeps_nbgraders_template():
    from nbgrader.converters import GenerateFeedback

    page = formgrader_render(answered())
    source = read(ROOT / "source" / notebook("vi_stars"))
    for gid, model in model_answers(source).items():
        box = page.index(f'id="{gid}"')
        label = page.index("Model answer and rubric", box)
        assert page.index(f'id="{gid}-comment"') < label, gid  # after the answer's own panel
        assert "white-space: pre-wrap" in page
    feedback = GenerateFeedback(config=CONFIG)
    exporter = feedback.exporter_class(parent=feedback, config=feedback.config)  # as GenerateFeedback.start makes it
    assert exporter.template_name == "feedback" and not any("formgrade_rubric" in p for p in exporter.template_paths)


def test_a_heading_of_a_rubric_cannot_take_a_grade_boxs_name(monkeypatch):
    """The model answers are on the same page as the score boxes: a heading in one named after a grade id keeps no
    id (grading.sanitize's rule for the instructor's cells)."""
    submission = answered()
    source = read(ROOT / "source" / notebook("vi_stars"))
    cells_by_id(source)["ex3_written"].source = "### BEGIN SOLUTION\n###### ex4_test\nModel.\n### END SOLUTION"
    monkeypatch.setattr(rubric.nbformat, "read", lambda path, as_version: source)
    page = formgrader_render(submission)
    assert page.count('id="ex4_test"') == 1  # the score box's own
    assert "<h6><wbr/> ex4_test</h6>" in page  # the rubric's heading, without an id
