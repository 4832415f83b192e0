"""Student notebooks made inert before a grader's browser renders them.

nbgrader's formgrader (Nbgrader -> Formgrader in JupyterLab) renders each autograded notebook,
`autograded/<student>/<assignment>/<notebook>.ipynb`, to HTML with nbconvert and serves it on the
Jupyter server's own origin, and `nbgrader generate_feedback` writes the same rendering to
`feedback/`. nbconvert passes HTML through as it finds it: raw HTML in a markdown cell, a `text/html`,
`text/markdown`, `image/svg+xml`, `application/javascript` or widget output, a raw cell, and the
widget state in the notebook's metadata. So a student who writes `<script>` in a written answer, or
whose code displays HTML or JavaScript, runs script in the instructor's logged-in browser: it can
read `source/` through `/api/contents`, write files, change grades through the formgrader's API and
open a terminal through `/api/terminals`. nbgrader itself does not sanitize.

`SanitizeStudentMarkup` runs last in `nbgrader autograde` (after the notebook has been executed and
its scores saved, so scores are unaffected) and first in `nbgrader generate_feedback`. It changes only
what a browser would render:

- Markdown cells (and `text/markdown` outputs): ordinary markdown and LaTeX are kept as written. Each
  raw-HTML fragment is parsed out with nbconvert's own markdown parser (the one the formgrader renders
  with); a fragment outside a small allow-list of harmless tags and attributes is cleaned with bleach
  (disallowed tags are escaped, so they stay visible as text; event handlers, `javascript:` URLs,
  styles, ids and classes are dropped). The whole cell is then rendered as the formgrader renders it
  and the result checked element by element; if anything unsafe remains (say a `javascript:` link
  written in markdown syntax), the cell is shown as plain text in a code block instead. A short note
  in the cell says what was changed. Cleaning the markdown source with bleach as a whole, as nbconvert's
  `SanitizeHTML` does, would escape `<`, `>` and `&` everywhere, breaking block quotes, code and
  LaTeX such as `$a < b$`; hence the parse.
- Cell attachments: only PNG and JPEG images (valid base64) are kept. An `attachment:` image whose
  data was removed, or is missing, gets a blank placeholder and a note (a missing attachment would
  otherwise make nbconvert fail and the formgrader page with it).
- Code-cell outputs: `text/plain`, `text/latex`, stream and error outputs are kept (nbconvert escapes
  them); PNG and JPEG images are kept when they are base64; `text/html` is cleaned with bleach and
  checked; `image/svg+xml` (which can carry script), `application/javascript`, widget views and any
  other type are removed, and a visible note output says what was removed.
- Raw cells (emitted by nbconvert's HTML templates verbatim) are cleaned like HTML output.
- Notebook metadata is reduced to the kernel's description (widget state is rendered with a widget
  manager loaded from a CDN); a cell's nbgrader metadata keeps only nbgrader's own keys, and its
  grade id, which nbgrader's templates write into HTML unescaped, is escaped.

Names. The formgrader's page is addressed by id: `formgrade.js` binds each grade to the cell of the first element
`$("#" + grade_id)` finds, and each comment to `#<grade_id>-comment`; the template's boxes are `#<grade_id>`,
`#<grade_id>_extra_credit` and `#<grade_id>-comment`, with `#statusmessage`, `#help-dialog`, `#notebook`,
`#notebook-container`; the feedback links to `<a name="<grade_id>">`, `<a name="comment-<grade_id>">`, `#top` and
`#toc`. An element of a student's that carried one of those names ahead of the real one would take its place: a
heading `###### ex4_test` in one written answer, and the score typed into that answer is saved for ex4_test too.
So nothing of the student's carries an id or a name: bleach drops both from raw HTML, as before, and headings,
whose ids nbconvert makes from their text when it renders the page (long after this runs, in the formgrader's own
process, with nbconvert's stock renderer: no filter of ours runs there), are written so that nbconvert gives them
none (`neutralize_heading_ids`: an empty `<wbr>` in the heading's text, which nbconvert's `add_anchor` cannot parse
as XML, so it leaves the heading as it is). The rewrite lives in the stored notebook, so any renderer of it, the
formgrader or `generate_feedback`, gets the same; and it is not trusted on its own: the final check of each rendered
cell refuses any id in a student's markup (a heading nbconvert still named, because the rewrite missed it or a
later nbconvert names headings otherwise, sends the cell to plain text). The instructor's cells, the release's
locked cells (grading.preflight keeps nbgrader metadata only where the release has it, and nbgrader's
OverwriteCells restores their source), keep their heading ids, so students may link to them, unless one of them
is itself a name of the page. In-page links (`#...`) that name the page (compared percent-decoded and case-folded)
are dropped from raw HTML and send markdown to plain text; classes the formgrader's scripts select by
(`.score`, `.tabbable`, ...) are refused like ids (nbconvert's own classes and `language-...` never are).
"""
import base64
import binascii
import html
from html.parser import HTMLParser
import re
import secrets
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import bleach
from nbconvert.filters.markdown_mistune import InvalidNotebook, IPythonRenderer, MarkdownWithMath
from nbformat import NotebookNode
from nbformat.v4 import new_output

from nbgrader.preprocessors import NbGraderPreprocessor

# --- what may appear in rendered HTML --------------------------------------------------------------

# Tags a student's own HTML may use: text structure, tables, links and images. Nothing that loads or
# runs anything (script, iframe, object, embed, form, svg, math, style, link, meta, base) and no
# element whose content the browser parses as raw text.
STUDENT_TAGS = frozenset(
    "a abbr b blockquote br caption cite code col colgroup dd del details div dl dt em h1 h2 h3 h4 h5 h6 "
    "hr i img ins kbd li mark ol p pre q s samp small span strong sub summary sup table tbody td tfoot "
    "th thead tr u ul var wbr".split())
STUDENT_ATTRIBUTES = {
    "a": {"href", "title"}, "abbr": {"title"}, "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "ol": {"start"}, "col": {"span"},
    "colgroup": {"span"},
}
# What nbconvert's markdown renderer adds itself: heading anchors (id, class), table alignment,
# task-list checkboxes, classes of highlighted code and of mermaid blocks.
RENDERED_TAGS = STUDENT_TAGS | {"input"}
RENDERED_ATTRIBUTES = {"*": {"id", "class"}, "input": {"type", "disabled", "checked"},
                       "td": {"style"}, "th": {"style"}}
TABLE_ALIGNMENT = {"text-align:left", "text-align:center", "text-align:right"}
NUMERIC_ATTRIBUTES = {"width", "height", "colspan", "rowspan", "start", "span"}

# What nbgrader 0.9.6's formgrade and feedback pages look up or link to by name (templates formgrade/ and
# feedback/, static/js/formgrade*.js), besides the names made from each grade id (`page_names`): jQuery's
# `$("#statusmessage")`, the keyboard help's `#help-dialog`, nbconvert's `#notebook` and `#notebook-container`,
# the feedback's table of contents (`#toc`) and its `(Top)` links to `<a name="top">`.
PAGE_IDS = frozenset({"statusmessage", "help-dialog", "notebook", "notebook-container", "toc", "top"})
# Classes the formgrader's scripts select elements by ($(".tabbable"), the cell's .find(".score"), ...).
PAGE_CLASSES = frozenset("nbgrader_cell tabbable score extra-credit full-credit no-credit mark-graded score-saved "
                         "comment comment-saved help name-shown name-hidden previous next live-notebook "
                         "needs_manual_grade".split())


def page_names(grade_ids):
    """Every id or anchor name the formgrader or the feedback derives from these grade ids, plus PAGE_IDS.

    The formgrader finds a grade's score box as `$("#" + grade_id)`, its extra credit as `#<id>_extra_credit`, its
    comment box as `#<id>-comment`; the feedback links to `<a name="<id>">` and `<a name="comment-<id>">`."""
    names = set(PAGE_IDS)
    for gid in grade_ids:
        names |= {gid, f"{gid}_extra_credit", f"{gid}-comment", f"comment-{gid}"}
    return frozenset(_name_key(n) for n in names)


def _name_key(name):
    """A name as a browser might match it, made loose on purpose: percent-decoded, entities decoded, case folded."""
    return unquote(html.unescape(str(name))).strip().casefold()


def is_page_name(name, reserved):
    return _name_key(name) in reserved or _name_key(name).startswith("cell-id=")

# Output types kept; everything else in an output's data is removed, with a note.
KEPT_MIME = ("text/plain", "text/latex", "text/markdown", "text/html", "image/png", "image/jpeg")
IMAGE_MIME = ("image/png", "image/jpeg")
NOTEBOOK_METADATA = ("kernelspec", "language_info")
NBGRADER_KEYS = {"grade", "grade_id", "locked", "points", "schema_version", "solution", "task", "checksum",
                 "cell_type"}
# 1x1 grey PNG shown in place of an attachment that was removed or is missing.
PLACEHOLDER_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGM4AQAAygDJmcpdfgAAAABJRU5ErkJggg=="


def is_base64(text):
    if not isinstance(text, str):
        return False
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _normalized_url(value):
    """The URL as a browser reads its scheme: without whitespace, control and non-ASCII characters, lower case."""
    return "".join(ch for ch in value if " " < ch < "\x7f" and ch != "`").lower()


def link_ok(value, reserved=PAGE_IDS):
    """An href: http(s), mailto, or a relative link (a path, a fragment), whose fragment names nothing of the page."""
    url = _normalized_url(value)
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return False
    # a fragment naming the page is refused whatever precedes it: "./#id" or the page's own URL lead there too
    if "#" in value and is_page_name(re.sub(r"[\t\n\r]", "", value.strip()).split("#", 1)[1], reserved):
        return False
    return scheme in ("", "http", "https", "mailto")


def image_ok(value, remote=False):
    """An img src: a base64 PNG or JPEG data URL, or a file beside the notebook (no '/', '\\' or '..'); http(s)
    only when `remote` (the instructor's own cells). A student's remote image would be fetched by the grader's
    browser when the page opens: a read receipt, with the grader's address and the time of grading."""
    url = _normalized_url(value)
    for mime in IMAGE_MIME:
        prefix = f"data:{mime};base64,"
        if url.startswith(prefix):
            return is_base64(value.strip()[len(prefix):])
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return False
    if scheme:
        return remote and scheme in ("http", "https")
    return not url.startswith("/") and "\\" not in value and ".." not in url.split("/")


def attribute_ok(tag, name, value, rendered=False, trusted=False, reserved=PAGE_IDS):
    """Whether this attribute may stay. rendered: it is in nbconvert's rendering of a markdown text, which adds
    heading ids and classes itself; trusted: that text is the instructor's (a locked cell of the release), whose
    heading ids may stay unless they are names of the grading page (`reserved`). A student's markup keeps no id."""
    allowed = STUDENT_ATTRIBUTES.get(tag, set())
    if rendered:
        allowed = allowed | RENDERED_ATTRIBUTES.get(tag, set()) | RENDERED_ATTRIBUTES["*"]
    if name not in allowed:
        return False
    value = value or ""
    if name == "id":
        return trusted and bool(value) and not is_page_name(value, reserved)
    if name == "class":
        return not PAGE_CLASSES & set(value.split())
    if name == "href":
        return link_ok(value, reserved)
    if name == "src":
        return image_ok(value, remote=trusted)
    if name == "style":
        return "".join(value.split()).rstrip(";") in TABLE_ALIGNMENT
    if name == "type":
        return value == "checkbox"
    if name in NUMERIC_ATTRIBUTES:
        return value.strip().isdigit() and len(value.strip()) <= 6
    return True


class _Inspector(HTMLParser):
    """Lists what in a piece of HTML is outside the allow-list (an empty list: safe to render)."""

    def __init__(self, rendered, trusted=False, reserved=PAGE_IDS):
        super().__init__(convert_charrefs=False)
        self.rendered, self.trusted, self.reserved, self.problems = rendered, trusted, reserved, []

    def handle_starttag(self, tag, attrs):
        if tag not in (RENDERED_TAGS if self.rendered else STUDENT_TAGS):
            self.problems.append(f"<{tag}> element")
            return
        for name, value in attrs:
            if not attribute_ok(tag, name, value, self.rendered, self.trusted, self.reserved):
                what = "URL" if name in ("href", "src") and value else "attribute"
                self.problems.append(f"{name} {what} on <{tag}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag not in (RENDERED_TAGS if self.rendered else STUDENT_TAGS):
            self.problems.append(f"<{tag}> element")

    def handle_data(self, data):
        # Rendered text has every '<' escaped; a bare one is markup this parser did not read as a tag.
        if "<" in data:
            self.problems.append("unparsed markup")

    def handle_comment(self, data):
        self.problems.append("HTML comment")

    def handle_decl(self, decl):
        self.problems.append("declaration")

    def handle_pi(self, data):
        self.problems.append("processing instruction")

    def unknown_decl(self, data):
        self.problems.append("declaration")


def html_problems(text, rendered=True, trusted=False, reserved=PAGE_IDS):
    """What would make this HTML unsafe to render on the grader's origin; [] when nothing would."""
    inspector = _Inspector(rendered, trusted, reserved)
    inspector.feed(text)
    inspector.close()
    return inspector.problems


@lru_cache(maxsize=8)
def cleaner(reserved=PAGE_IDS):
    """bleach with the student allow-list; in-page links to any of `reserved` lose their href."""
    return bleach.Cleaner(tags=STUDENT_TAGS, attributes=lambda tag, name, value: attribute_ok(
        tag, name, value, reserved=reserved), protocols={"http", "https", "mailto", "data"}, strip=False,
        strip_comments=True)


def clean_html(text, reserved=PAGE_IDS):
    """A student's HTML with disallowed tags escaped (left visible as text) and disallowed attributes dropped."""
    cleaned = cleaner(reserved).clean(text)
    return cleaned if not html_problems(cleaned, reserved=reserved) else html.escape(text)


# --- markdown --------------------------------------------------------------------------------------

def render_markdown(source, attachments=None):
    """Markdown to HTML exactly as nbconvert's HTML exporter (and so the formgrader) renders a cell."""
    renderer = IPythonRenderer(escape=False, attachments=dict(attachments or {}))
    return MarkdownWithMath(renderer=renderer).render(source)


def _walk(tokens):
    for token in tokens:
        yield token
        yield from _walk(token.get("children", ()))


def markdown_tokens(source):
    """nbconvert's own parse of a markdown text: block and inline tokens, nested."""
    return list(_walk(MarkdownWithMath(renderer=None)(source)))


def _shown_name(name):
    return "".join(ch if ch.isalnum() or ch in "._-/+" else "?" for ch in str(name))[:80]


def clean_attachments(attachments):
    """(attachments with only base64 PNG and JPEG data, {name: [mime types removed]})."""
    kept, removed = {}, {}
    for name, bundle in (attachments or {}).items():
        bundle = bundle if isinstance(bundle, dict) else {}
        images = {mime: "".join(data) if isinstance(data, list) else data
                  for mime, data in bundle.items() if mime in IMAGE_MIME}
        images = {mime: data for mime, data in images.items() if is_base64(data)}
        dropped = sorted(mime for mime in bundle if mime not in images)
        if images:
            kept[name] = images
        if dropped or not bundle:
            removed[name] = dropped or ["no data"]
    return kept, removed


def _fallback(source):
    """The whole text in a code block: shown as written, rendered as nothing but text."""
    longest, run = 0, 0
    for ch in source:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{source}\n{fence}"


# --- heading anchors -------------------------------------------------------------------------------

# An ATX heading's opening: container markers (block quote, list item, definition), then 1-6 '#' and the blank after
# them. Lines of code blocks or HTML blocks match too: the probe below tells the headings apart.
ATX_OPENING = re.compile(r"^((?:[ \t]*(?:>|[-+*:](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*#{1,6})([ \t]+|$)")
SETEXT_UNDERLINE = re.compile(r"^[ \t>]*(?:=+|-+)[ \t]*$")
NO_ANCHOR = "<wbr>"  # an empty inline element: the heading renders as before, and nbconvert gives it no id
MAX_HEADINGS = 500   # a cell with more heading-like lines than this is shown as plain text


def neutralize_heading_ids(source):
    """The markdown with every heading written so that nbconvert's renderer gives it no id and no anchor link.

    nbconvert (`IPythonRenderer.heading`, `add_anchor`) names a heading after its text, and does so only when the
    heading's HTML parses as XML: an unclosed `<wbr>` (no visible text, no width) at the start of an ATX heading's
    text, or at the end of a setext heading's last line, keeps it from doing so. Headings are found with nbconvert's
    own parser: a unique probe is written at each place a heading could start (or end), and the probes that come
    back inside heading tokens show which places were headings; the others (code, HTML, paragraphs) are untouched.
    Returns None for a text with more than MAX_HEADINGS such places (the caller shows it as plain text)."""
    lines = source.split("\n")
    places = []  # (line index, column, kind)
    for i, line in enumerate(lines):
        m = ATX_OPENING.match(line)
        if m:
            places.append((i, m.end(), "atx"))
        if i > 0 and SETEXT_UNDERLINE.match(line) and lines[i - 1].strip():
            places.append((i - 1, len(lines[i - 1]), "setext"))
    if not places:
        return source
    if len(places) > MAX_HEADINGS:
        return None
    nonce = secrets.token_hex(6)
    probe = [f"P{nonce}x{n}y" for n in range(len(places))]

    def written(marks):
        out = list(lines)
        for (i, col, kind), mark in sorted(zip(places, marks), key=lambda pm: (-pm[0][0], -pm[0][1])):
            if mark:
                out[i] = out[i][:col] + (mark + " " if kind == "atx" else " " + mark) + out[i][col:]
        return "\n".join(out)

    found = set()
    for token in markdown_tokens(written(probe)):
        if token.get("type") == "heading":
            found |= {int(n) for n in re.findall(rf"P{nonce}x(\d+)y", repr(token))}
    marks = []
    for n, (i, col, kind) in enumerate(places):
        line = lines[i]
        done = (line[col:].lstrip().startswith(NO_ANCHOR) if kind == "atx" else line.rstrip().endswith(NO_ANCHOR))
        marks.append(NO_ANCHOR if n in found and not done else None)
    return written(marks) if any(marks) else source


def sanitize_markdown(source, attachments=None, trusted=False, reserved=PAGE_IDS):
    """(markdown, attachments, notes): the text made safe to render, keeping what is already safe as written.

    notes: short sentences on what was changed, already added to the markdown; [] when nothing was.
    trusted: the text is the instructor's (a locked cell of the release), whose headings keep their ids, unless one
    is a name of the grading page; a student's headings keep none. reserved: the page's names (`page_names`).
    """
    if isinstance(source, list):
        source = "".join(source)
    source = str(source)
    if "\r" in source:  # the parser reads line ends as "\n"; its fragments are then found in the text
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    kept, removed = clean_attachments(attachments)
    notes = []
    try:
        tokens = markdown_tokens(source)
    except Exception:  # a text the renderer cannot parse is shown as plain text
        tokens = None
    if tokens is None:
        new = _fallback(source)
        notes.append("shown as plain text: the renderer could not read it")
    else:
        referenced = {tok["attrs"]["url"][len("attachment:"):] for tok in tokens
                      if tok.get("type") == "image" and str(tok.get("attrs", {}).get("url", "")).startswith("attachment:")}
        for name in sorted(referenced - set(kept)):
            kept[name] = {"image/png": PLACEHOLDER_PNG}
            if name not in removed:
                removed[name] = ["missing"]
        fragments = {tok["raw"] for tok in tokens if tok.get("type") in ("block_html", "inline_html")}
        new, cleaned = source, []
        for fragment in sorted(fragments, key=len, reverse=True):
            problems = html_problems(fragment, rendered=False, reserved=reserved)
            if problems:
                if fragment not in new:  # the parser ends the text's last block with a newline
                    fragment = fragment.rstrip("\n")
                new = new.replace(fragment, cleaner(reserved).clean(fragment))
                cleaned += problems
        if cleaned:
            notes.append("HTML made inert (" + ", ".join(dict.fromkeys(cleaned)) + ")")
        try:
            if not trusted or html_problems(render_markdown(new, kept), trusted=True, reserved=reserved):
                new = neutralize_heading_ids(new)
        except Exception:  # a text the renderer cannot parse is shown as plain text
            new = None
        if new is None:
            new = _fallback(source)
            notes.append("shown as plain text: its headings could not be checked")
    for name, mimes in sorted(removed.items()):
        notes.append(f"attachment {_shown_name(name)} not shown ({', '.join(mimes)}): only PNG and JPEG images are")
    note = ("\n\n*[Grading: " + html.escape("; ".join(notes)) + ".]*") if notes else ""
    try:
        problems = html_problems(render_markdown(new + note, kept), trusted=trusted, reserved=reserved)
    except InvalidNotebook as err:
        problems = [str(err)]
    if problems:
        notes.append("shown as plain text, for " + ", ".join(dict.fromkeys(problems)))
        new, note = _fallback(source), "\n\n*[Grading: " + html.escape("; ".join(notes)) + ".]*"
        assert not html_problems(render_markdown(new + note, kept), reserved=reserved), \
            "plain-text fallback must render safely"
    return new + note, kept, notes


# --- outputs ---------------------------------------------------------------------------------------

def _text(value):
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def note_output(what):
    return new_output("display_data", data={"text/plain": f"[Removed from this output before grading: {what}. "
                                                          "Only text, LaTeX, PNG, JPEG and cleaned HTML are shown.]"})


def sanitize_output(output, reserved=PAGE_IDS):
    """[outputs] replacing one output: itself with only inert data, then a note if anything was removed."""
    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text"))
        return [new_output("stream", name=output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout",
                           text=text if text is not None else "")]
    if kind == "error":
        traceback = output.get("traceback")
        traceback = [str(line) for line in traceback] if isinstance(traceback, list) else []
        return [new_output("error", ename=str(output.get("ename", "")), evalue=str(output.get("evalue", "")),
                           traceback=traceback)]
    if kind not in ("display_data", "execute_result"):
        return [note_output(f"an output of unknown type {_shown_name(kind)}")]
    data, removed = {}, []
    for mime, value in (output.get("data") or {}).items():
        value = _text(value)
        if mime not in KEPT_MIME or value is None:
            removed.append(_shown_name(mime))
        elif mime in IMAGE_MIME and not is_base64(value):
            removed.append(f"{mime} that is not base64")
        elif mime == "text/html":
            data[mime] = clean_html(value, reserved)
            if data[mime] != value and html_problems(value, reserved=reserved):
                removed.append("scripts, handlers or styles in its HTML")
        elif mime == "text/markdown":
            data[mime] = sanitize_markdown(value, reserved=reserved)[0]
        else:
            data[mime] = value
    metadata = {}
    for mime in IMAGE_MIME:
        size = (output.get("metadata") or {}).get(mime)
        if mime in data and isinstance(size, dict):
            metadata[mime] = {k: size[k] for k in ("width", "height")
                              if isinstance(size.get(k), int) and not isinstance(size.get(k), bool)}
    fields = dict(data=data, metadata=metadata)
    if kind == "execute_result":
        count = output.get("execution_count")
        fields["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
    outputs = [new_output(kind, **fields)] if data else []
    if removed:
        outputs.append(note_output(", ".join(removed)))
    return outputs


# --- the preprocessor ------------------------------------------------------------------------------

class SanitizeStudentMarkup(NbGraderPreprocessor):
    """Make every student-controlled piece of a notebook inert for nbconvert's HTML (see the module's docstring)."""

    def preprocess(self, nb, resources):
        nb.metadata = NotebookNode({k: v for k, v in nb.metadata.items() if k in NOTEBOOK_METADATA})
        grade_ids = [html.unescape(str(c.metadata.nbgrader["grade_id"])) for c in nb.cells
                     if isinstance(c.get("metadata", {}).get("nbgrader"), dict) and "grade_id" in c.metadata.nbgrader]
        self.reserved = page_names(grade_ids)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        kind = cell.get("cell_type")
        if kind not in ("markdown", "code", "raw"):
            return NotebookNode(cell_type="markdown", metadata={}, source="*[Grading: a cell of unknown type "
                                f"{_shown_name(kind)} is not shown.]*"), resources
        self._clean_nbgrader_metadata(cell)
        reserved = getattr(self, "reserved", PAGE_IDS)
        if kind == "markdown":
            cell.source, attachments, notes = sanitize_markdown(cell.source, cell.get("attachments"),
                                                                trusted=self.is_instructors(cell), reserved=reserved)
            if attachments:
                cell.attachments = attachments
            elif "attachments" in cell:
                del cell["attachments"]
            if notes:
                self.log.warning("Cell %s: %s", index, "; ".join(notes))
        else:
            cell.pop("attachments", None)
        if kind == "raw":
            source = _text(cell.source) or ""
            cell.source = source if not html_problems(source, reserved=reserved) else clean_html(source, reserved)
        if kind == "code":
            count = cell.get("execution_count")
            cell.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
            outputs = []
            for output in cell.get("outputs", []):
                outputs += sanitize_output(output, reserved)
            cell.outputs = outputs
        return cell, resources

    @staticmethod
    def is_instructors(cell):
        """A locked markdown cell of the release: the instructor's text (grading.preflight keeps nbgrader metadata only
        where it is the release's, and nbgrader's OverwriteCells puts back a locked cell's source from the gradebook)."""
        meta = cell.get("metadata", {}).get("nbgrader")
        return (cell.get("cell_type") == "markdown" and isinstance(meta, dict) and meta.get("locked") is True
                and not meta.get("solution") and not meta.get("grade") and not meta.get("task"))

    @staticmethod
    def _clean_nbgrader_metadata(cell):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict):
            return
        for key in [k for k in meta if k not in NBGRADER_KEYS]:
            del meta[key]
        if isinstance(meta.get("grade_id"), str):
            meta["grade_id"] = html.escape(meta["grade_id"])
