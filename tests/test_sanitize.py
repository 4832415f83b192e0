"""grading.sanitize on hand-made notebooks: every way a student's notebook can put live markup in the formgrader's
and the feedback's HTML is made inert, and ordinary text, LaTeX, images and markdown are left as they were.

Each notebook is rendered afterwards by nbconvert's classic HTML template, the base of nbgrader's formgrade and
feedback templates (they render markdown and outputs the same way), and the page is searched for live markup.
"""
import base64
import re
from collections import Counter
from html.parser import HTMLParser

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from traitlets.config import Config

from grading.sanitize import PLACEHOLDER_PNG, SanitizeStudentMarkup

MARK = "PWNED_BY_STUDENT"  # in every payload: a live script, handler or URL holding it means the attack worked
PNG = PLACEHOLDER_PNG
SVG_WITH_SCRIPT = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{MARK}()"><script>{MARK}()</script></svg>'


class LiveMarkup(HTMLParser):
    """Script bodies, event handlers, script URLs and embedding elements that carry the payload's mark."""

    def __init__(self):
        super().__init__()
        self.found, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        if tag in ("iframe", "object", "embed", "svg", "form", "style", "base", "meta", "link"):
            self.found.append(f"<{tag}>")
        self._in_script = tag == "script"
        for name, value in attrs:
            value = (value or "").lower()
            if name.startswith("on") or value.lstrip().startswith(("javascript:", "data:text/html", "data:image/svg")):
                self.found.append(f"{tag} {name}={value[:40]}")
            if tag == "script" and name == "src" and MARK.lower() in value:
                self.found.append("script src")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and MARK in data:
            self.found.append("script " + data.strip()[:40])


def _found(page):
    parser = LiveMarkup()
    parser.feed(page)
    return Counter(parser.found)


def live_markup(page):
    """What the page has beyond nbconvert's own template (its <meta>, <style> and scripts)."""
    return sorted((_found(page) - _found(rendered(new_notebook()))).elements())


def sanitized(*cells, metadata=None):
    nb = new_notebook(cells=list(cells), metadata=metadata or {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                                "language": "python"}})
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))  # as nbgrader reads it from disk
    nb, _ = SanitizeStudentMarkup().preprocess(nb, {})
    nbformat.validate(nb)
    return nb


def rendered(nb):
    config = Config()
    config.HTMLExporter.template_name = "classic"
    page, _ = HTMLExporter(config=config).from_notebook_node(nb)
    return page


def text_of(page):
    """The page's visible text, roughly: tags removed, entities decoded."""
    class Text(HTMLParser):
        parts = []

        def handle_data(self, data):
            self.parts.append(data)
    parser = Text()
    parser.parts = []
    parser.feed(page)
    return "".join(parser.parts)


def test_the_search_for_live_markup_finds_each_payload_when_nothing_is_sanitized():
    """The check below is only as good as this search: on the unsanitized notebook it finds every payload."""
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(hostile_notebook()), as_version=4))
    found = live_markup(rendered(nb))
    expected = ["<iframe>", "<style>", "<svg>", "a href=javascript:pwned_by_student()",  # markdown cell
                "img onerror=pwned_by_student()", "svg onload=pwned_by_student()", f"script document.title = '{MARK}'",
                "img src=data:image/svg+xml;base64,phn2zyb4bwxucz",  # the SVG attachment and the SVG output
                f"script {MARK}()"]  # the raw cell
    assert set(expected) <= set(found), sorted(set(expected) - set(found))
    assert any(f.startswith("script var element = $(") for f in found)  # the application/javascript output
    assert any(f.startswith('script {"state": {"abc"') for f in found)  # the widget state in the metadata


def hostile_notebook():
    markdown = "\n\n".join([
        "My answer: the posterior is $p(f \\mid x) \\propto p(x \\mid f)\\,p(f)$, with $a < b$.",
        f"<script>document.title = '{MARK}'</script>",
        f"Inline <img src=x onerror=\"{MARK}()\"> image",
        f"<svg onload=\"{MARK}()\"><circle r=\"4\"/></svg>",
        f"[click](javascript:{MARK}()) and <a href=\"JaVaScRiPt:{MARK}()\">this</a>",
        f"<iframe src=\"javascript:{MARK}()\"></iframe>",
        "<style>body { background: url(https://example.com/track) }</style>",
        "![figure](attachment:figure.svg)",
    ])
    cell = new_markdown_cell(markdown, metadata={"nbgrader": {"grade": True, "solution": True, "grade_id": "ex6_written",
                                                              "points": 2, "schema_version": 3, "locked": False}})
    cell.attachments = {"figure.svg": {"image/svg+xml": base64.b64encode(SVG_WITH_SCRIPT.encode()).decode()}}
    code = new_code_cell("display(HTML(...)); display(SVG(...)); display(Javascript(...)); slider", outputs=[
        new_output("display_data", data={"text/html": f"<b>table</b><script>{MARK}()</script>"
                                                      f"<img src=y onerror=\"{MARK}()\">", "text/plain": "<HTML>"}),
        new_output("display_data", data={"image/svg+xml": SVG_WITH_SCRIPT, "text/plain": "<SVG>"}),
        new_output("display_data", data={"application/javascript": f"{MARK}()", "text/plain": "<Javascript>"}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json":
                                         {"model_id": "abc", "version_major": 2, "version_minor": 0},
                                         "text/plain": "IntSlider(value=3)"}),
    ])
    widgets = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {
        "abc": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                "state": {"value": f"<img src=z onerror=\"{MARK}()\">"}}}}}
    raw = new_raw_cell(f"<script>{MARK}()</script>")
    return new_notebook(cells=[cell, code, raw], metadata={"widgets": widgets, "kernelspec": {"name": "python3",
                                                            "display_name": "Python 3", "language": "python"}})


def test_a_hostile_notebook_renders_with_nothing_live():
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(hostile_notebook()), as_version=4))
    nb, _ = SanitizeStudentMarkup().preprocess(nb, {})
    page = rendered(nb)
    assert live_markup(page) == []
    assert "widgets" not in nb.metadata and "application/vnd.jupyter.widget-state+json" not in page
    assert "@jupyter-widgets/html-manager" not in page  # no widget manager fetched from a CDN either
    # what was written is still there to read, and LaTeX is untouched
    text = text_of(page)
    assert "My answer: the posterior is $p(f \\mid x) \\propto p(x \\mid f)\\,p(f)$, with $a < b$." in text
    assert f"<script>document.title = '{MARK}'</script>" in text  # shown as text
    assert "IntSlider(value=3)" in text and "table" in text


@pytest.mark.parametrize("markdown, problem", [
    (f"<script>document.title = '{MARK}'</script>", "<script> element"),
    (f"before <script>{MARK}()</script> after", "<script> element"),
    (f"<img src=x onerror=\"{MARK}()\">", "onerror attribute on <img>"),
    (f"text <IMG SRC=x OnError={MARK}()> text", "onerror attribute on <img>"),
    (f"<svg onload=\"{MARK}()\"></svg>", "<svg> element"),
    ("<iframe src=\"/api/terminals\"></iframe>", "<iframe> element"),
    ("<object data=\"x.swf\"></object>", "<object> element"),
    ("<form action=\"/api/contents\"><input name=a></form>", "<form> element"),
    (f"<a href=\"javascript:{MARK}()\">x</a>", "href URL on <a>"),
    (f"<a href=\"jav&#x09;ascript:{MARK}()\">x</a>", "href URL on <a>"),
    (f"<div style=\"background:url(https://example.com/{MARK})\">x</div>", "style attribute on <div>"),
    (f"<details open ontoggle=\"{MARK}()\">x</details>", "open attribute on <details>"),
    (f"<!--><img src=x onerror={MARK}()>-->", "HTML comment"),
])
def test_raw_html_in_a_markdown_cell_is_made_inert(markdown, problem):
    nb = sanitized(new_markdown_cell(markdown))
    cell = nb.cells[0]
    page = rendered(nb)
    assert live_markup(page) == [] and MARK not in "".join(live_markup(page))
    assert problem in cell.source.replace("&lt;", "<").replace("&gt;", ">")  # the note says what was changed
    assert "[Grading:" in text_of(page)


@pytest.mark.parametrize("markdown", [
    f"[click here](javascript:{MARK}())",
    f"[click][ref]\n\n[ref]: JaVaScRiPt:{MARK}()",
    f"<javascript:{MARK}()>",
    f"```mermaid\n<img src=x onerror={MARK}()>\n```",
    f"> quoted\n> <img src=x\n> onerror={MARK}()>",
])
def test_markdown_syntax_that_makes_live_markup_is_shown_as_text(markdown):
    nb = sanitized(new_markdown_cell(markdown))
    page = rendered(nb)
    assert live_markup(page) == []
    assert "shown as plain text" in nb.cells[0].source
    assert MARK in text_of(page)  # the student's text is still readable


@pytest.mark.parametrize("markdown", [
    '<img src="https://example.com/receipt.png?who=student">',
    "![a plot](https://example.com/receipt.png?who=student)",
    '<img src="//example.com/receipt.png">',
])
def test_a_students_remote_image_is_never_fetched_by_the_graders_browser(markdown):
    """An image from the web would be a read receipt: the grader's address and the time the page was opened."""
    nb = sanitized(new_markdown_cell(markdown))
    page = rendered(nb)
    assert "example.com" not in " ".join(re.findall(r"<img[^>]*>", page))
    assert "[Grading:" in text_of(page)


def test_ordinary_markdown_and_latex_are_kept_exactly():
    source = ("# Exercise 6\n\nThe ELBO is $\\mathcal{L}(q) = E_q[\\log p(x, z)] - E_q[\\log q(z)]$ and\n\n"
              "$$\n\\mathrm{KL}(q \\| p) \\ge 0, \\quad a < b > c\n$$\n\n"
              "> a quote with **bold**, *italics*, `code <x>` and a [link](https://example.com)\n\n"
              "| n | RMSE |\n|--:|:--|\n| 16 | 1,177.2 |\n\n- [x] done\n- item with <sub>2</sub> and <b>HTML</b><br>\n\n"
              "```python\nif a < b and c > d:\n    pass\n```\n\n![a plot](figure.png)")
    nb = sanitized(new_markdown_cell(source))
    assert nb.cells[0].source == source.replace("# Exercise 6", "# <wbr> Exercise 6")  # its heading gets no id
    page = rendered(nb)
    assert "$\\mathcal{L}(q) = E_q[\\log p(x, z)] - E_q[\\log q(z)]$" in page
    assert "<sub>2</sub>" in page and "<b>HTML</b>" in page and "<blockquote>" in page and "<table>" in page


def test_attachments_keep_only_png_and_jpeg():
    svg = base64.b64encode(SVG_WITH_SCRIPT.encode()).decode()
    page_html = base64.b64encode(f"<script>{MARK}()</script>".encode()).decode()
    cell = new_markdown_cell("![a](attachment:a.svg) ![b](attachment:b.html) ![c](attachment:c.png) "
                             "![d](attachment:missing.png)")
    cell.attachments = {"a.svg": {"image/svg+xml": svg}, "b.html": {"text/html": page_html},
                        "c.png": {"image/png": PNG, "image/svg+xml": svg}, "unused.svg": {"image/svg+xml": svg}}
    nb = sanitized(cell)
    attachments = nb.cells[0].attachments
    assert {name: sorted(b) for name, b in attachments.items()} == {
        "a.svg": ["image/png"], "b.html": ["image/png"], "c.png": ["image/png"], "missing.png": ["image/png"]}
    assert attachments["c.png"]["image/png"] == PNG
    page = rendered(nb)  # a missing attachment would make nbconvert fail: the page renders
    assert live_markup(page) == [] and "data:image/svg" not in page and svg not in page
    for name in ["a.svg", "b.html", "missing.png", "unused.svg"]:
        assert f"attachment {name} not shown" in nb.cells[0].source


def test_attachment_images_must_be_base64():
    cell = new_markdown_cell("![x](attachment:x.png)")
    cell.attachments = {"x.png": {"image/png": "\" onerror=\"alert(1)"}}
    nb = sanitized(cell)
    assert nb.cells[0].attachments["x.png"]["image/png"] == PNG and live_markup(rendered(nb)) == []


def outputs_of(*outputs):
    return sanitized(new_code_cell("x", outputs=list(outputs))).cells[0].outputs


def notes(outputs):
    return [o.data["text/plain"] for o in outputs if o.get("data", {}).get("text/plain", "").startswith("[Removed")]


def test_html_output_is_cleaned_and_the_removal_is_noted():
    outputs = outputs_of(new_output("display_data", data={
        "text/html": f"<table><tr><td colspan=\"2\">1</td></tr></table><script>{MARK}()</script>"
                     f"<img src=x onerror=\"{MARK}()\"><iframe src=\"/api/terminals\"></iframe>"
                     f"<a href=\"javascript:{MARK}()\">a</a><form action=\"/api/contents\"></form>"
                     f"<p style=\"background:url(https://example.com)\">p</p>",
        "text/plain": "<IPython.core.display.HTML object>"}))
    html = outputs[0].data["text/html"]
    assert "<table><tbody><tr><td colspan=\"2\">1</td></tr></tbody></table>" in html
    assert "&lt;script&gt;" in html and "<script" not in html and "onerror" not in html.replace("&lt;", "")
    assert "<iframe" not in html and "javascript" not in html and "<form" not in html and "style" not in html.split("&lt;")[0]
    assert notes(outputs) and live_markup(rendered(sanitized(new_code_cell("x", outputs=outputs)))) == []


@pytest.mark.parametrize("mime, value", [
    ("image/svg+xml", SVG_WITH_SCRIPT),
    ("application/javascript", f"document.title = '{MARK}'"),
    ("text/javascript", f"{MARK}()"),
    ("application/vnd.jupyter.widget-view+json", {"model_id": "abc", "version_major": 2, "version_minor": 0}),
    ("application/pdf", "JVBERi0xLjQK"),
    ("text/vnd.mermaid", f"graph TD; A[\"<img src=x onerror={MARK}()>\"]"),
    ("application/x-unknown", "anything"),
])
def test_active_and_unknown_output_types_are_replaced_by_a_visible_note(mime, value):
    outputs = outputs_of(new_output("execute_result", data={mime: value, "text/plain": "the text form"},
                                    execution_count=1))
    assert outputs[0].data == {"text/plain": "the text form"} and outputs[0].execution_count == 1
    assert notes(outputs) == [f"[Removed from this output before grading: {mime}. "
                              "Only text, LaTeX, PNG, JPEG and cleaned HTML are shown.]"]
    page = rendered(sanitized(new_code_cell("x", outputs=outputs)))
    assert live_markup(page) == [] and "the text form" in page and mime in page


def test_an_output_with_nothing_inert_left_becomes_its_note():
    outputs = outputs_of(new_output("display_data", data={"application/javascript": f"{MARK}()"}))
    assert len(outputs) == 1 and notes(outputs)


def test_text_latex_images_streams_and_errors_are_kept():
    kept = [
        new_output("execute_result", data={"text/plain": "tensor([1., 2.])", "text/latex": "$\\alpha < 1$"},
                   execution_count=4),
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"},
                   metadata={"image/png": {"width": 600, "height": 400}}),
        new_output("display_data", data={"image/jpeg": PNG}),
        new_output("stream", name="stdout", text=f"printed <script>{MARK}()</script>\n"),
        new_output("stream", name="stderr", text="a warning\n"),
        new_output("error", ename="AssertionError", evalue=f"<img src=x onerror={MARK}()>",
                   traceback=[f"AssertionError: <script>{MARK}()</script>"]),
    ]
    outputs = outputs_of(*kept)
    assert outputs == [nbformat.from_dict(o) for o in kept]
    page = rendered(sanitized(new_code_cell("x", outputs=outputs)))
    assert live_markup(page) == []  # nbconvert escapes stream and error text
    assert f"&lt;script&gt;{MARK}()&lt;/script&gt;" in page and f"data:image/png;base64,{PNG}" in page


def test_images_that_are_not_base64_are_removed():
    outputs = outputs_of(new_output("display_data", data={"image/png": "\"><script>alert(1)</script>",
                                                          "text/plain": "<Figure>"}))
    assert outputs[0].data == {"text/plain": "<Figure>"} and "image/png that is not base64" in notes(outputs)[0]


def test_markdown_output_is_cleaned_like_a_markdown_cell():
    outputs = outputs_of(new_output("display_data", data={"text/markdown": f"**bold** $x^2$ <script>{MARK}()</script>"}))
    assert outputs[0].data["text/markdown"].startswith(f"**bold** $x^2$ &lt;script&gt;{MARK}()&lt;/script&gt;")
    assert live_markup(rendered(sanitized(new_code_cell("x", outputs=outputs)))) == []


def test_raw_cells_are_cleaned():
    nb = sanitized(new_raw_cell(f"<script>{MARK}()</script><b>kept</b>"))
    assert nb.cells[0].source == f"&lt;script&gt;{MARK}()&lt;/script&gt;<b>kept</b>"
    assert live_markup(rendered(nb)) == []


def test_notebook_metadata_keeps_only_the_kernel():
    nb = sanitized(new_markdown_cell("x"), metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}, "title": "<script>x</script>",
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}})
    assert set(nb.metadata) == {"kernelspec", "language_info"}


def test_nbgrader_metadata_keeps_nbgraders_keys_and_an_escaped_grade_id():
    cell = new_markdown_cell("answer", metadata={"nbgrader": {
        "grade": True, "solution": True, "points": 2, "schema_version": 3, "locked": False,
        "grade_id": "ex6\"><script>alert(1)</script>", "comment": "<script>alert(1)</script>", "score": 2}})
    meta = sanitized(cell).cells[0].metadata.nbgrader
    assert set(meta) == {"grade", "solution", "points", "schema_version", "locked", "grade_id"}
    assert "<" not in meta.grade_id and '"' not in meta.grade_id


def test_sanitizing_twice_changes_nothing_more():
    once = nbformat.from_dict(nbformat.reads(nbformat.writes(hostile_notebook()), as_version=4))
    once, _ = SanitizeStudentMarkup().preprocess(once, {})
    twice, _ = SanitizeStudentMarkup().preprocess(nbformat.from_dict(once), {})
    assert [c.get("outputs") for c in twice.cells] == [c.get("outputs") for c in once.cells]
    assert twice.cells[2].source == once.cells[2].source


def test_nbgrader_runs_it_after_scoring_and_before_feedback_is_written():
    from pathlib import Path

    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(Path(__file__).resolve().parents[1])).load_config()
    autograde = config.Autograde.autograde_preprocessors
    assert autograde[-1] == "grading.sanitize.SanitizeStudentMarkup"
    assert autograde.index("nbgrader.preprocessors.SaveAutoGrades") < len(autograde) - 1
    assert config.GenerateFeedback.preprocessors[0] == "grading.sanitize.SanitizeStudentMarkup"


# --- ids, names and in-page anchors: nothing of the student's names an element of the grading page ----------------

def grade_cell(cell, grade_id, **role):
    cell.metadata["nbgrader"] = dict(dict(grade=False, solution=False, locked=False, points=0), grade_id=grade_id,
                                     schema_version=3, **role)
    return cell


GRADE_IDS = ["ex1_answer", "ex1_test", "ex3_written", "ex4_written"]
ATTACK = "\n".join([
    "My answer.", "", "<details><summary>notes</summary>", "",
    *[f"###### {gid}" for gid in GRADE_IDS + [f"{g}-comment" for g in GRADE_IDS] + [f"{g}_extra_credit" for g in GRADE_IDS]],
    "", "ex4_written", "---", "", "> ## EX4_WRITTEN", "", "- ### statusmessage", "", "</details>", "",
    '<a id="ex4_written">a</a> <a name="ex4_written">b</a> <div id="ex1_test">c</div> <h3 id="notebook">d</h3>',
    "", '<a href="#Ex4%5Fwritten-comment">e</a> <a href="#top">f</a>',
])  # markdown links to the page's names are shown as plain text: test_a_link_to_a_name_of_the_grading_page...


def class_notebook(written=ATTACK, outputs=()):
    """Grade ids as in an nbgrader assignment: a locked question, an answer and its test, two written answers."""
    return [grade_cell(new_markdown_cell("## Exercise 3\n\nSee [the setup](#Exercise-3)."), "cell-intro", locked=True),
            grade_cell(new_code_cell("x = 1", outputs=list(outputs)), "ex1_answer", solution=True),
            grade_cell(new_code_cell("assert x == 1"), "ex1_test", grade=True, locked=True, points=1),
            grade_cell(new_markdown_cell(written), "ex3_written", grade=True, solution=True, points=2),
            grade_cell(new_markdown_cell("Brighter stars win."), "ex4_written", grade=True, solution=True, points=2)]


class Names(HTMLParser):
    """Every id and name in a page, and every in-page anchor."""

    def __init__(self):
        super().__init__()
        self.ids, self.names, self.anchors = [], [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)
            elif name == "name":
                self.names.append(value)
            elif name == "href" and (value or "").startswith("#"):
                self.anchors.append(value[1:])


def names_in(page):
    parser = Names()
    parser.feed(page)
    return parser


def formgrade_page(nb):
    """The page nbgrader's formgrader serves for this notebook (its template, as the handler renders it)."""
    from nbgrader.server_extensions.formgrader import handlers

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = dict(assignment_id="a", notebook_id="a", submission_id="s", index=0, total=1, base_url="",
                     student="mallory", last_name=None, first_name=None, notebook_path="")
    return HTMLExporter(config=config).from_notebook_node(nb, resources=resources)[0]


def test_the_formgraders_lookups_are_hijacked_when_nothing_is_sanitized():
    """The attack works on the page as nbgrader renders it: a heading of the student's takes the score box's id."""
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(new_notebook(cells=class_notebook())), as_version=4))
    ids = names_in(formgrade_page(nb)).ids
    assert ids.index("ex4_written") < ids.index("ex4_written-comment")  # hers first: $("#ex4_written") finds it
    assert ids.count("ex4_written") == 4 and ids.count("ex1_test") == 3  # headings, <a id>, <div id>, the real box


@pytest.mark.parametrize("where", ["markdown cell", "markdown output", "html output"])
def test_no_id_name_or_anchor_of_the_student_names_the_grading_page(where):
    outputs = {"markdown output": [new_output("display_data", data={"text/markdown": ATTACK})],
               "html output": [new_output("display_data", data={"text/html": ATTACK.replace("###### ", "<h6>")})]}
    cells = class_notebook("My answer." if where != "markdown cell" else ATTACK, outputs.get(where, ()))
    nb = sanitized(*cells)
    found = names_in(formgrade_page(nb))
    page_ids = {"ex1_answer-comment", "ex1_test", "ex3_written", "ex3_written-comment",
                "ex4_written", "ex4_written-comment"}  # the graded cells' score boxes and the answers' comment boxes
    page_ids |= {f"{g}_extra_credit" for g in ("ex1_test", "ex3_written", "ex4_written")}
    for gid in page_ids:  # the formgrader's own box, once, and nothing else by that name in any case
        assert [i for i in found.ids if i.lower() == gid.lower()] == [gid], gid
    assert found.names == []
    student_ids = [i for i in found.ids if i not in page_ids and not i.startswith("cell-id=")
                   and i not in ("notebook", "notebook-container", "statusmessage")]
    assert student_ids == ["Exercise-3"]  # the instructor's heading keeps its anchor, the student's have none
    assert set(found.anchors) == {"Exercise-3"}, found.anchors
    text = text_of(formgrade_page(nb))
    assert "My answer." in text and "statusmessage" in text  # what she wrote is still there to read
    assert "shown as plain text" not in "".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_a_students_headings_render_as_headings_without_ids():
    source = ("# One\n\n## Two ##\n\nThree *with* _emphasis_ and $x < y$\n===\n\nFour\n---\n\n> ### Five\n\n"
              "- #### Six\n\n1. ##### Seven\n\nTerm\n: ###### Eight\n")
    nb = sanitized(new_markdown_cell(source))
    page = rendered(nb).replace("<wbr/>", "<wbr>")
    rendered_cell = page.split('class="text_cell_render', 1)[1]
    assert names_in(rendered_cell).ids == [] and names_in(rendered_cell).anchors == []
    for level, text in [(1, "One"), (2, "Two"), (1, "Three <em>with</em> <em>emphasis</em> and $x &lt; y$"),
                        (2, "Four"), (3, "Five"), (4, "Six"), (5, "Seven"), (6, "Eight")]:
        assert re.search(f"<h{level}>(<wbr> {re.escape(text)}|{re.escape(text)} <wbr>)</h{level}>", page), text
    assert "<wbr>" not in text_of(page) and "Eight" in text_of(page)
    assert sanitized(nb.cells[0]).cells[0].source == nb.cells[0].source  # a second pass changes nothing


def test_heading_like_lines_in_code_and_html_are_left_alone():
    source = "```python\n# a comment\n```\n\n    ## indented code\n\n<pre>\n# in html\n</pre>\n\nnot a heading\n"
    nb = sanitized(new_markdown_cell(source))
    assert nb.cells[0].source == source


def test_the_instructors_headings_keep_their_anchors_and_students_may_link_to_them():
    intro = grade_cell(new_markdown_cell("## Exercise 3\n\nText."), "cell-intro", locked=True)
    answer = grade_cell(new_markdown_cell("As in [Exercise 3](#Exercise-3)."), "ex3_written", grade=True,
                        solution=True, points=2)
    nb = sanitized(intro, answer)
    assert [c.source for c in nb.cells] == ["## Exercise 3\n\nText.", "As in [Exercise 3](#Exercise-3)."]
    found = names_in(rendered(nb))
    assert "Exercise-3" in found.ids and found.anchors.count("Exercise-3") == 2


def test_an_instructors_heading_named_like_a_grade_box_loses_its_id():
    intro = grade_cell(new_markdown_cell("## ex3_written\n\n## Exercise 3"), "cell-intro", locked=True)
    answer = grade_cell(new_markdown_cell("x"), "ex3_written", grade=True, solution=True, points=2)
    found = names_in(rendered(sanitized(intro, answer)))
    assert "ex3_written" not in found.ids and "ex3_written" not in found.anchors


@pytest.mark.parametrize("link", ["[x](#ex3_written)", "[x](#EX3_Written-comment)", "[x](#ex3%5Fwritten)",
                                  "[x](#comment-ex3_written)", "[x](#top)", "[x](#statusmessage)"])
def test_a_link_to_a_name_of_the_grading_page_is_not_kept(link):
    answer = grade_cell(new_markdown_cell(f"see {link} or <a href=\"{link[4:-1]}\">this</a>"), "ex3_written",
                        grade=True, solution=True, points=2)
    nb = sanitized(answer)
    assert names_in(rendered(nb)).anchors == []
    assert link in text_of(rendered(nb))  # the markdown is still there to read, as text


def test_a_cell_with_too_many_heading_lines_is_shown_as_text():
    nb = sanitized(new_markdown_cell("\n".join(f"# h{i}" for i in range(600))))
    page = rendered(nb)
    assert names_in(page.split('class="text_cell_render', 1)[1]).ids == []
    assert "shown as plain text" in nb.cells[0].source and "# h599" in text_of(page)
