"""grading.preflight on hostile and careless submissions, without running nbgrader: each test writes a
submission into a temporary submitted/ folder, calls preflight.stage as `make grade` does (with the
source notebook as the release), and checks what is staged for nbgrader, the report's notes and the
reason a submission is not graded. The scores nbgrader then gives are checked by tests/test_grading.py.
"""
import base64
import copy
import json
import os
import shutil
from pathlib import Path

import nbformat
import nbgrader
import pytest

from grading import preflight
from grading.submissions import ASSIGNMENT, NOTEBOOK, ROOT, answered, cells_by_id, read, release_notebook

SOURCE = read(ROOT / "source" / NOTEBOOK)  # what grading.batch passes as the release
NAME = f"{ASSIGNMENT}.ipynb"
STUDENT = "student"


@pytest.fixture
def course(tmp_path):
    """A course root with an empty submitted/<student>/<assignment>/ folder."""
    (tmp_path / "submitted" / STUDENT / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(SOURCE, tmp_path / "source" / NOTEBOOK)
    return tmp_path


def folder(course):
    return course / "submitted" / STUDENT / ASSIGNMENT


def write(course, nb, name=NAME):
    nbformat.write(nb, folder(course) / name)


def write_json(course, value, name=NAME):
    (folder(course) / name).write_text(json.dumps(value))


def as_json(nb):
    return json.loads(nbformat.writes(nb))


def stage(course):
    """preflight.stage on the course's one student; returns (Checked, the staged notebook or None)."""
    checked = preflight.stage(STUDENT, course / "submitted", course / "staged", ASSIGNMENT, SOURCE)
    staged = course / "staged" / STUDENT / ASSIGNMENT
    if checked.error:
        assert not staged.exists(), "nothing is staged for a submission that is not graded"
        return checked, None
    assert (staged / NAME).is_file()
    return checked, nbformat.read(staged / NAME, as_version=4)


def nbgrader_ids(nb):
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]


def release_ids():
    return nbgrader_ids(release_notebook())


# The honest notebook, and the repairs made before this module's cases.

def test_honest_notebook_is_staged_byte_for_byte(course):
    write(course, answered())
    checked, nb = stage(course)
    assert checked.gradable and checked.notes == []
    assert (course / "staged" / STUDENT / NOTEBOOK).read_bytes() == (folder(course) / NAME).read_bytes()
    assert nb == answered()


def test_timestamp_is_kept_and_a_bad_one_left_out(course):
    write(course, answered())
    (folder(course) / preflight.TIMESTAMP).write_text("2026-11-02 10:00:00.000000 UTC")
    checked, _ = stage(course)
    assert checked.notes == []
    assert (course / "staged" / STUDENT / ASSIGNMENT / preflight.TIMESTAMP).read_text().startswith("2026-11-02")
    (folder(course) / preflight.TIMESTAMP).write_text("whenever")
    checked, _ = stage(course)
    assert checked.notes == ["left out timestamp.txt: not a time nbgrader can read"]
    assert not (course / "staged" / STUDENT / ASSIGNMENT / preflight.TIMESTAMP).exists()


def test_renamed_notebook_is_graded(course):
    write(course, answered(), name=f"{ASSIGNMENT} (1).ipynb")
    checked, nb = stage(course)
    assert checked.notes == [f"graded {ASSIGNMENT} (1).ipynb, submitted in place of {NAME}"]
    assert nb == answered()


def test_pasted_cell_keeps_its_grade_on_the_last_copy_and_stripped_answer_is_found(course):
    nb = answered()
    cells = cells_by_id(nb)
    pasted = nbformat.from_dict(copy.deepcopy(cells["ex4_answer"]))
    pasted.id = "pasted-ex4-answer"
    nb.cells.insert(nb.cells.index(cells["ex4_answer"]), pasted)
    del cells["ex1_answer"].metadata["nbgrader"]
    write(course, nb)
    checked, staged = stage(course)
    assert checked.notes == ["cell ex4_answer appeared more than once; graded its last copy",
                             "answer cell ex1_answer had lost its nbgrader metadata; restored"]
    assert "nbgrader" not in staged.cells[nb.cells.index(pasted)].metadata
    assert nbgrader_ids(staged) == release_ids()


def test_extra_files_are_handed_in_as_nbgrader_hands_them_in_but_code_and_pages_are_left_out(course):
    """A data file and a folder of figures go along; a course.py (which the kernel would import in place of the
    engine) and a page or SVG the formgrader would serve on the Jupyter origin do not; nbgrader's own folders are
    ignored, as nbgrader ignores them."""
    write(course, answered())
    (folder(course) / "course.py").write_text("raise ImportError\n")
    (folder(course) / "counts.csv").write_text("1,2\n")
    (folder(course) / "figures" / ".ipynb_checkpoints").mkdir(parents=True)
    (folder(course) / "figures" / "fit.png").write_bytes(b"\x89PNG")
    (folder(course) / "figures" / "helper.py").write_text("x = 1\n")
    (folder(course) / "figures" / "page.HTML").write_text("<script>1</script>")
    (folder(course) / "logo.svg").write_text("<svg/>")
    checked, _ = stage(course)
    staged = course / "staged" / STUDENT / ASSIGNMENT
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*")) == ["counts.csv", "figures", "figures/fit.png",
                                                                             NAME]
    assert (staged / "counts.csv").read_text() == "1,2\n" and (staged / "figures" / "fit.png").read_bytes() == b"\x89PNG"
    assert checked.notes == [
        "left out extra files: course.py, figures/helper.py (Python code the kernel would import in place of an "
        "installed module)",
        "left out extra files: figures/page.HTML, logo.svg (a page or script the formgrader would serve on the Jupyter "
        "origin)"]


def test_the_instructors_files_are_put_over_the_students_copies(course):
    """As `nbgrader autograde` does: an image the release has, changed or deleted by the student, is graded as released."""
    (course / "source" / ASSIGNMENT / "data").mkdir()
    (course / "source" / ASSIGNMENT / "data" / "stars.csv").write_text("the instructor's\n")
    (course / "source" / ASSIGNMENT / "logo.svg").write_text("<svg/>")  # the instructor's own: kept
    write(course, answered())
    (folder(course) / "data").mkdir()
    (folder(course) / "data" / "stars.csv").write_text("the student's\n")
    checked = preflight.stage(STUDENT, course / "submitted", course / "staged", ASSIGNMENT, SOURCE,
                              course / "source" / ASSIGNMENT)
    staged = course / "staged" / STUDENT / ASSIGNMENT
    assert checked.gradable and checked.notes == []
    assert (staged / "data" / "stars.csv").read_text() == "the instructor's\n" and (staged / "logo.svg").is_file()
    assert nbformat.read(staged / NAME, as_version=4) == answered()


def test_invalid_json_is_not_graded(course):
    text = nbformat.writes(answered())
    (folder(course) / NAME).write_text(text[: len(text) // 2])
    checked, _ = stage(course)
    assert checked.error.startswith(f"{NAME} is not valid JSON")


# Symbolic links: nothing is followed out of a submission.

def test_linked_notebook_is_not_graded(course):
    os.symlink(f"../../../source/{NOTEBOOK}", folder(course) / NAME)
    checked, _ = stage(course)
    assert checked.error == (f"{NAME} is a symbolic link (to ../../../source/{NOTEBOOK}): a submitted file must be "
                             "the student's own, links are not followed")


def test_linked_notebook_under_another_name_is_not_followed(course):
    os.symlink(f"../../../source/{NOTEBOOK}", folder(course) / f"{ASSIGNMENT} (1).ipynb")
    checked, _ = stage(course)
    assert checked.error == (f"no notebook {NAME} (and no other notebook holding this assignment's cells); "
                             f"symbolic links are not followed: {ASSIGNMENT} (1).ipynb")


def test_linked_extra_files_are_left_out(course):
    write(course, answered())
    os.symlink("../../../source", folder(course) / "course")
    os.symlink(f"../../../source/{NOTEBOOK}", folder(course) / "solution.ipynb")
    os.symlink("../../../source/nowhere", folder(course) / preflight.TIMESTAMP)
    checked, nb = stage(course)
    assert checked.gradable and nb == answered()
    assert checked.notes[0].startswith("left out timestamp.txt: timestamp.txt is a symbolic link")
    assert checked.notes[1:] == ["left out symbolic links (never followed): course, solution.ipynb"]


def test_linked_assignment_folder_is_not_graded(course):
    other = course / "elsewhere"
    other.mkdir()
    write_json(course, {})  # something in the real folder, which is then replaced
    (folder(course) / NAME).unlink()
    folder(course).rmdir()
    nbformat.write(answered(), other / NAME)
    os.symlink("../../elsewhere", folder(course))
    checked, _ = stage(course)
    assert checked.error == (f"submitted/{STUDENT}/{ASSIGNMENT} is a symbolic link (to ../../elsewhere): a "
                             "submission must be a real folder; links are not followed")


def test_linked_student_folder_is_not_graded(course):
    nbformat.write(answered(), folder(course) / NAME)
    os.rename(course / "submitted" / STUDENT, course / "real")
    os.symlink("../real", course / "submitted" / STUDENT)
    checked, _ = stage(course)
    assert checked.error.startswith(f"submitted/{STUDENT} is a symbolic link (to ../real)")


def test_notebook_that_is_a_fifo_does_not_block(course):
    os.mkfifo(folder(course) / NAME)
    checked, _ = stage(course)
    assert checked.error == f"{NAME} is not a regular file"


# Deep, huge and strange JSON: a reason, never an exception.

def test_json_nested_100000_deep_is_not_graded(course):
    (folder(course) / NAME).write_text("[" * 100_000 + "]" * 100_000)
    checked, _ = stage(course)
    assert checked.error == f"{NAME} is JSON nested too deeply (more than {preflight.MAX_DEPTH} levels are not read)"


def test_json_nested_past_the_cap_inside_a_notebook_is_not_graded(course):
    nb = as_json(answered())
    deep = "leaf"
    for _ in range(preflight.MAX_DEPTH):
        deep = {"x": deep}
    nb["cells"][0]["metadata"]["deep"] = deep
    write_json(course, nb)
    checked, _ = stage(course)
    assert "nested too deeply" in checked.error


def test_huge_notebook_is_not_graded(course):
    with open(folder(course) / NAME, "wb") as f:
        f.truncate(preflight.MAX_NOTEBOOK_BYTES + 1)  # sparse: costs no disk
    checked, _ = stage(course)
    assert checked.error == f"{NAME} is 64.0 MiB; at most 64 MiB is read"


def test_integer_too_long_to_read_is_not_graded(course):
    (folder(course) / NAME).write_text('{"nbformat": ' + "9" * 5000 + "}")
    checked, _ = stage(course)
    assert checked.error.startswith(f"{NAME} is not valid JSON (Exceeds the limit")


def test_unforeseen_error_is_one_student_not_graded(course, monkeypatch):
    write(course, answered())

    def broken(nb, checked):
        raise KeyError("grade_id")
    monkeypatch.setattr(preflight, "deduplicate", broken)
    checked, _ = stage(course)
    assert checked.error == "could not be checked (KeyError: 'grade_id')"


def test_recursion_anywhere_is_one_student_not_graded(course, monkeypatch):
    write(course, answered())

    def recurse(nb, checked):
        return recurse(nb, checked)
    monkeypatch.setattr(preflight, "deduplicate", recurse)
    checked, _ = stage(course)
    assert checked.error.startswith("the submission is nested too deeply to check")


# Notebook formats.

def test_nbformat_3_is_upgraded_and_graded(course):
    (folder(course) / NAME).write_text(nbformat.writes(nbformat.convert(answered(), 3), version=3))
    checked, nb = stage(course)
    assert checked.notes == [f"{NAME} was in notebook format 3.0; upgraded by nbformat"]
    assert nbgrader_ids(nb) == release_ids()
    assert [c.source for c in nb.cells] == [c.source for c in answered().cells]


def test_newer_minor_version_valid_in_the_current_one_is_graded(course):
    write_json(course, dict(as_json(answered()), nbformat_minor=99))
    checked, nb = stage(course)
    assert checked.notes == [f"{NAME} is in notebook format 4.99; graded as 4.5, in which it is valid"]
    assert nb.nbformat_minor == 5 and nb.cells == answered().cells


@pytest.mark.parametrize("major, minor", [(5, 99), (0, 1), ("4", 5), (4, None), (True, 5)])
def test_unknown_format_is_not_graded(course, major, minor):
    nb = dict(as_json(answered()), nbformat=major, nbformat_minor=minor)
    write_json(course, nb)
    checked, _ = stage(course)
    assert checked.error.startswith(NAME)
    assert "nbformat cannot read" in checked.error or "must be integers" in checked.error


@pytest.mark.parametrize("missing", ["nbformat", "nbformat_minor", "metadata", "cells"])
def test_missing_top_level_key_is_not_graded(course, missing):
    nb = as_json(answered())
    del nb[missing]
    write_json(course, nb)
    checked, _ = stage(course)
    assert checked.error.startswith(NAME) and missing in checked.error


def test_cell_missing_its_source_is_not_graded(course):
    nb = as_json(answered())
    del nb["cells"][3]["source"]
    write_json(course, nb)
    checked, _ = stage(course)
    assert checked.error.startswith(f"{NAME} is not a valid notebook")


@pytest.mark.parametrize("value", [[], "text", 42, None])
def test_json_that_is_not_an_object_is_not_graded(course, value):
    write_json(course, value)
    checked, _ = stage(course)
    assert checked.error.startswith(f"{NAME} is not a notebook")


# Attachments of written answers.

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def with_written_answer(source, attachments=None):
    nb = answered()
    cell = cells_by_id(nb)["ex3_written"]
    cell.source = source
    if attachments is not None:
        cell.attachments = attachments
    return nb


def render_feedback_markdown(cell):
    """The cell as generate_feedback renders it (nbconvert's HTML exporter's markdown filter)."""
    from nbconvert import HTMLExporter
    return HTMLExporter().markdown2html({"cell": cell}, cell.source)


def test_missing_attachment_gets_a_visible_placeholder(course):
    write(course, with_written_answer("My figure:\n\n![posterior](attachment:figure.png)\n"))
    with pytest.raises(Exception, match="missing attachment: figure.png"):
        render_feedback_markdown(cells_by_id(with_written_answer("![p](attachment:figure.png)"))["ex3_written"])
    checked, nb = stage(course)
    assert checked.notes == ["cell ex3_written shows attachments it does not have: figure.png; each replaced by a "
                             "note saying it is missing"]
    cell = cells_by_id(nb)["ex3_written"]
    assert cell.source == "My figure:\n\n![posterior](attachment:figure.png)\n"  # the answer itself is untouched
    assert set(cell.attachments) == {"figure.png"}
    html = render_feedback_markdown(cell)
    assert "data:image/svg+xml;base64," in html
    svg = base64.b64decode(cell.attachments["figure.png"]["image/svg+xml"]).decode()
    assert "[attachment figure.png was not submitted]" in svg


def test_reference_style_and_escaped_attachment_names_are_found(course):
    source = "![a][fig]\n\n[fig]: attachment:ref.png\n\n![b](<attachment:with space.png>)\n"
    write(course, with_written_answer(source, {"ok.png": {"image/png": PNG}}))
    checked, nb = stage(course)
    cell = cells_by_id(nb)["ex3_written"]
    # the names nbconvert looks up: mistune quotes the space of an angle-bracketed URL
    assert set(cell.attachments) == {"ok.png", "ref.png", "with%20space.png"}
    render_feedback_markdown(cell)


def test_present_attachment_is_kept_as_it_is(course):
    nb = with_written_answer("![p](attachment:figure.png)", {"figure.png": {"image/png": PNG}})
    write(course, nb)
    checked, staged = stage(course)
    assert checked.notes == [] and staged == nb


@pytest.mark.parametrize("attachments, dropped", [
    ({"figure.png": "not a bundle"}, "figure.png"),
    ({"figure.png": {}}, "figure.png"),
    ({"figure.png": {"image/png": 7}}, "figure.png"),
    ({"figure.png": {"not a mime type": PNG}}, "figure.png"),
    ({"figure.png": {"image/png": '" onerror="alert(1)'}}, "figure.png"),
])
def test_malformed_attachment_is_dropped_and_its_image_made_harmless(course, attachments, dropped):
    nb = as_json(with_written_answer("![p](attachment:figure.png)"))
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex3_written")
    cell["attachments"] = attachments
    write_json(course, nb)
    checked, staged = stage(course)
    assert checked.notes[0] == f"cell ex3_written: dropped malformed attachments ({dropped})"
    assert "attachments it does not have: figure.png" in checked.notes[1]
    render_feedback_markdown(cells_by_id(staged)["ex3_written"])


def test_a_well_formed_attachment_of_another_type_is_not_called_malformed(course):
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
    nb = as_json(with_written_answer("![p](attachment:figure.svg) ![q](attachment:figure.png)"))
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex3_written")
    cell["attachments"] = {"figure.svg": {"image/svg+xml": svg}, "figure.png": {"image/png": PNG}}
    write_json(course, nb)
    checked, staged = stage(course)
    assert checked.notes[0] == "cell ex3_written: dropped attachments of a type not kept (only PNG/JPEG): figure.svg"
    assert not any("malformed" in note for note in checked.notes)
    assert "attachments it does not have: figure.svg" in checked.notes[1]
    assert set(cells_by_id(staged)["ex3_written"].attachments) == {"figure.png", "figure.svg"}  # the svg: a placeholder


def test_attachments_that_are_not_a_dict_or_on_a_code_cell_are_dropped(course):
    nb = as_json(answered())
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}
    cells["ex3_written"]["attachments"] = ["figure.png"]
    cells["ex1_answer"]["attachments"] = {"figure.png": {"image/png": PNG}}
    write_json(course, nb)
    checked, staged = stage(course)
    assert checked.notes == ["cell ex1_answer: dropped its malformed attachments",
                             "cell ex3_written: dropped its malformed attachments"]
    assert staged == answered()


# nbgrader metadata: the release's cells are the truth.

def add_cell(nb, cell, after="ex1_test"):
    nb.cells.insert(nb.cells.index(cells_by_id(nb)[after]) + 1, cell)
    return cell


def test_student_defined_graded_cell_becomes_plain(course):
    nb = answered()
    cell = add_cell(nb, nbformat.v4.new_code_cell("assert True"))
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 100,
                                 "grade_id": "my_bonus", "schema_version": 3}
    write(course, nb)
    number = nb.cells.index(cell) + 1
    checked, staged = stage(course)
    assert checked.notes == [f"cell {number} had grade_id my_bonus, which the assignment does not have; graded as a "
                             "plain cell"]
    assert "nbgrader" not in staged.cells[number - 1].metadata
    assert nbgrader_ids(staged) == release_ids()


@pytest.mark.parametrize("cell_type, role, reason", [
    ("markdown", {"grade": True, "solution": True, "locked": False, "points": 2},
     "grade_id ex1_test of a code cell, on a markdown cell"),
    ("code", {"grade": False, "solution": True, "locked": False},
     "grade_id ex1_test with grade=False, which is not that cell's role"),
    ("code", {"grade": True, "solution": False, "locked": True, "points": "2"},
     "grade_id ex1_test with points that are not a number ('2')"),
    ("code", {"grade": "yes", "solution": False, "locked": True, "points": 2},
     "grade_id ex1_test with 'grade' not true or false ('yes')"),
])
def test_cell_claiming_a_release_grade_id_in_another_role_becomes_plain(course, cell_type, role, reason):
    nb = answered()
    cells_by_id(nb)["ex1_test"].metadata.nbgrader.update(role)
    if cell_type == "markdown":
        index = nb.cells.index(cells_by_id(nb)["ex1_test"])
        old = nb.cells[index]
        nb.cells[index] = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata, id=old.id)
    write(course, nb)
    checked, staged = stage(course)
    assert checked.notes == [f"cell {nb.cells.index(cells_by_id(nb)['ex1_test']) + 1} had {reason}; graded as a "
                             "plain cell"]
    assert nbgrader_ids(staged) == [gid for gid in release_ids() if gid != "ex1_test"]  # nbgrader puts it back


@pytest.mark.parametrize("meta, reason", [
    ("grade me", None),
    ({"grade": True, "solution": False, "locked": True, "points": 5, "schema_version": 3},
     "nbgrader metadata without a grade_id"),
    ({"grade": True, "locked": True, "points": 5, "grade_id": ["ex1_test"], "schema_version": 3},
     "a grade_id that is not a string (['ex1_test'])"),
])
def test_odd_nbgrader_metadata_becomes_plain(course, meta, reason):
    nb = as_json(answered())
    extra = nbformat.v4.new_code_cell("print('mine')", id="student-cell")
    extra["metadata"]["nbgrader"] = meta
    nb["cells"].insert(2, json.loads(json.dumps(extra)))
    write_json(course, nb)
    checked, staged = stage(course)
    expected = (f"cell 3 had {reason}; graded as a plain cell" if reason
                else "cell 3 had nbgrader metadata that is not a dict; graded as a plain cell")
    assert checked.notes == [expected]
    assert "nbgrader" not in staged.cells[2].metadata
    assert nbgrader_ids(staged) == release_ids()


def test_stripped_answer_with_odd_metadata_is_restored_by_the_function_it_defines(course):
    nb = answered()
    cells_by_id(nb)["ex2_answer"].metadata.nbgrader["solution"] = "true"
    number = nb.cells.index(cells_by_id(nb)["ex2_answer"]) + 1
    write(course, nb)
    checked, staged = stage(course)
    assert checked.notes == [f"cell {number} had grade_id ex2_answer with 'solution' not true or false ('true'); graded as "
                             "a plain cell", "answer cell ex2_answer had lost its nbgrader metadata; restored"]
    assert nbgrader_ids(staged) == release_ids()


def test_release_cell_gets_its_points_and_schema_back(course):
    nb = answered()
    meta = cells_by_id(nb)["ex1_test"].metadata.nbgrader
    meta.update(points=100, schema_version=2, invented="x")
    write(course, nb)
    checked, staged = stage(course)
    assert checked.notes == ["cell ex1_test claimed 100 points; given the release's 2"]
    assert cells_by_id(staged)["ex1_test"].metadata.nbgrader == cells_by_id(answered())["ex1_test"].metadata.nbgrader


def test_renamed_notebook_with_foreign_cells_is_found_and_repaired(course):
    nb = answered()
    cell = add_cell(nb, nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "x"}}))
    write(course, nb, name="copy.ipynb")
    checked, staged = stage(course)
    assert checked.notes == [f"graded copy.ipynb, submitted in place of {NAME}",
                             f"cell {nb.cells.index(cell) + 1} had grade_id x, which the assignment does not have; "
                             "graded as a plain cell"]
    assert nbgrader_ids(staged) == release_ids()


def test_control_characters_in_names_cannot_forge_report_lines(course):
    write(course, answered())
    (folder(course) / "x\nmallory                  25 of 25 autograded points.py").write_text("")
    checked, _ = stage(course)
    assert checked.notes == ["left out extra files: x\\nmallory                  25 of 25 autograded points.py (Python "
                             "code the kernel would import in place of an installed module)"]
    assert "\n" not in checked.notes[0]


# An assignment of several notebooks: nbgrader's own documentation course, ps1 (problem1, problem2, jupyter.png).

PS1 = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"


@pytest.fixture
def ps1(tmp_path):
    """A copy of nbgrader's ps1 course: source/ps1 and hacker's submission."""
    shutil.copytree(PS1 / "source" / "ps1", tmp_path / "source" / "ps1")
    shutil.copytree(PS1 / "submitted" / "hacker" / "ps1", tmp_path / "submitted" / "hacker" / "ps1")
    return tmp_path


def stage_ps1(course):
    releases = {name: read(course / "source" / "ps1" / name) for name in ("problem1.ipynb", "problem2.ipynb")}
    return preflight.stage("hacker", course / "submitted", course / "staged", "ps1", releases,
                           course / "source" / "ps1")


def test_each_notebook_of_an_assignment_is_staged_with_the_files_beside_it(ps1):
    checked = stage_ps1(ps1)
    staged = ps1 / "staged" / "hacker" / "ps1"
    assert checked.gradable and checked.notes == []
    assert sorted(p.name for p in staged.iterdir()) == ["jupyter.png", "problem1.ipynb", "problem2.ipynb", "timestamp.txt"]
    for name in ("problem1.ipynb", "problem2.ipynb"):
        assert read(staged / name) == read(ps1 / "submitted" / "hacker" / "ps1" / name)
    assert (staged / "jupyter.png").read_bytes() == (PS1 / "source" / "ps1" / "jupyter.png").read_bytes()


def test_a_missing_notebook_scores_zero_and_the_others_are_graded_even_renamed(ps1):
    submitted = ps1 / "submitted" / "hacker" / "ps1"
    (submitted / "problem2.ipynb").unlink()
    (submitted / "jupyter.png").unlink()  # the instructor's copy is graded with
    (submitted / "problem1.ipynb").rename(submitted / "problem1 (1).ipynb")
    checked = stage_ps1(ps1)
    staged = ps1 / "staged" / "hacker" / "ps1"
    assert checked.gradable and checked.notes == [
        "graded problem1 (1).ipynb, submitted in place of problem1.ipynb",
        "problem2.ipynb not graded, its tests score 0: no notebook problem2.ipynb (and no other notebook holding this "
        "assignment's cells)"]
    assert sorted(p.name for p in staged.iterdir()) == ["jupyter.png", "problem1.ipynb", "timestamp.txt"]


def test_a_submission_with_no_gradable_notebook_is_not_graded_and_says_why_for_each(ps1):
    submitted = ps1 / "submitted" / "hacker" / "ps1"
    (submitted / "problem2.ipynb").unlink()
    (submitted / "problem1.ipynb").write_text("{")
    checked = stage_ps1(ps1)
    assert checked.error.startswith("problem1.ipynb is not valid JSON") and "; no notebook problem2.ipynb" in checked.error
    assert not (ps1 / "staged" / "hacker").exists() or not any((ps1 / "staged" / "hacker").iterdir())
