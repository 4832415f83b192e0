"""A submission with live markup everywhere nbconvert would render it: the formgrader browser test opens it.

Raw HTML in written answers (<script>, <img onerror>, <svg onload>, an iframe with srcdoc, a javascript: link,
an SVG attachment) and, from an answer cell, HTML, SVG, JavaScript, markdown and widget outputs, plus widget state
in the notebook's metadata. Each script, if it ran, would set document.title, read source/ through /api/contents,
PUT a file and POST to /api/terminals. Its answers are the reference solution: it earns every autograded point.
"""
import base64

import nbformat
from nbformat.v4 import new_output
from nbgrader.utils import is_grade, is_solution

from grading.submissions import ASSIGNMENT, answered, cells_by_id, release_notebook

STUDENT = "mallory"
ANSWER = "The posterior mean shrinks faint stars towards the prior mean"  # her written answer, which must stay readable


def probe(vector):
    """JavaScript that reports itself: the page's title, a read of source/, a file written, a terminal opened.

    No double quotes, so that it fits in an HTML attribute."""
    return ("(function(v){document.title='PWNED '+v;"
            "var x=(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||'';"
            "var h={'X-XSRFToken':x,'Content-Type':'application/json'};"
            "fetch('/api/contents/source/vi_stars/vi_stars.ipynb?probe='+v);"
            "fetch('/api/contents/PWNED-'+v+'.txt',{method:'PUT',headers:h,"
            "body:JSON.stringify({type:'file',format:'text',content:v})});"
            f"fetch('/api/terminals?probe='+v,{{method:'POST',headers:h}});}})('{vector}')")


SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="' + probe("svg-output-onload") + '">'
       "<script>" + probe("svg-output-script") + "</script><circle cx='10' cy='10' r='5'/></svg>")
WRITTEN = "\n\n".join([
    ANSWER + ", more so where $\\sigma_f < \\sigma_{prior}$.",
    "<script>" + probe("markdown-script") + "</script>",
    'A figure: <img src="x" onerror="' + probe("markdown-img-onerror") + '">',
    '<svg onload="' + probe("markdown-svg-onload") + '"><circle r="3"/></svg>',
    '<iframe srcdoc="<script>' + probe("markdown-iframe").replace("'", "&#39;") + '</script>"></iframe>',
    "[details](javascript:" + probe("markdown-link") + ")",
    "![plot](attachment:plot.svg)",
])
OUTPUT_CODE = f'''
from IPython.display import HTML, SVG, Javascript, Markdown, display
import ipywidgets
display(HTML({'<b>html output</b><script>' + probe('html-output-script') + '</script>'
             '<img src="x" onerror="' + probe('html-output-img-onerror') + '">'!r}))
display(SVG({SVG!r}))
display(Javascript({probe('javascript-output')!r}))
display(Markdown({'markdown output <img src="x" onerror="' + probe('markdown-output-img-onerror') + '">'!r}))
display(ipywidgets.HTML({'<img src="x" onerror="' + probe('widget-img-onerror') + '">'!r}))
'''
# What those display calls put in the notebook; stored in the submission too, for the unsanitized control rendering.
OUTPUTS = [
    new_output("display_data", data={"text/html": '<b>html output</b><script>' + probe('html-output-script') + '</script>'
                                                  '<img src="x" onerror="' + probe('html-output-img-onerror') + '">',
                                     "text/plain": "<IPython.core.display.HTML object>"}),
    new_output("display_data", data={"image/svg+xml": SVG, "text/plain": "<IPython.core.display.SVG object>"}),
    new_output("display_data", data={"application/javascript": probe("javascript-output"),
                                     "text/plain": "<IPython.core.display.Javascript object>"}),
    new_output("display_data", data={"text/markdown": 'markdown output <img src="x" onerror="'
                                                      + probe('markdown-output-img-onerror') + '">',
                                     "text/plain": "<IPython.core.display.Markdown object>"}),
    new_output("display_data", data={"application/vnd.jupyter.widget-view+json":
                                     {"model_id": "0123abcd", "version_major": 2, "version_minor": 0},
                                     "text/plain": "HTML(value='...')"}),
]
WIDGET_STATE = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {
    "0123abcd": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                 "state": {"value": '<img src="x" onerror="' + probe("widget-state") + '">'}}}}}


# The page's own names, taken by her markup: in ex3_written, inside a collapsed <details>, a heading named after each
# later grade, its comment box and its extra credit (nbconvert gives a heading the id of its text, and the formgrader
# finds each grade's box as the first element with its id), the same names as raw ids and anchor names, and in-page
# links to them. Unsanitized, one score typed into ex3_written is saved for every grade after it too.
SHADOWED = "ex3_written"
GRADED = [gid for gid, cell in cells_by_id(release_notebook()).items() if is_grade(cell) or is_solution(cell)]
LATER = GRADED[GRADED.index(SHADOWED) + 1:]  # each has a score box or a comment box on the page
SHADOWS = "\n\n".join([
    "<details><summary>Working</summary>",
    *(f"###### {name}" for gid in LATER for name in (gid, f"{gid}-comment", f"{gid}_extra_credit")),
    "".join(f'<a id="{gid}"></a><a name="{gid}-comment"></a><span id="{gid}_extra_credit"></span>'
            f'<a href="#{gid}">see {gid}</a>' for gid in LATER),
    "</details>",
])
# Code hidden off to the right: a use of the engine's own reference after 600 spaces, beside a correct answer.
HIDDEN_CALL = "_reference = course.vi.neg_elbo"


def hostile_submission(folder, **answers):
    """Correct answers (the reference's, or `answers`), with live markup in the written answers and in the outputs
    of ex1's answer cell."""
    nb = answered(**answers)
    cells = cells_by_id(nb)
    cells["ex3_written"].source = WRITTEN + "\n\n" + SHADOWS
    cells["ex3_written"].attachments = {"plot.svg": {"image/svg+xml": base64.b64encode(SVG.encode()).decode()}}
    cells["ex4_written"].source = "<img src=x onerror=\"" + probe("second-answer") + "\"> Brighter stars win."
    cells["ex1_answer"].source += "\n" + OUTPUT_CODE
    cells["ex1_answer"].outputs = OUTPUTS
    # a line of its own, whatever answer the cell holds (the mutation tests pack answers of their own into hers)
    cells["ex3_answer"].source += "\n_checked = True" + " " * 600 + "; " + HIDDEN_CALL + "\n"
    nb.metadata.widgets = WIDGET_STATE
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    return nb
