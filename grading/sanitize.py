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
"""
import base64
import binascii
import html
from html.parser import HTMLParser
from urllib.parse import urlsplit

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
    "th thead tr u ul var".split())
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


def link_ok(value):
    """An href: http(s), mailto, or a relative link (a fragment, a path)."""
    url = _normalized_url(value)
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return False
    return scheme in ("", "http", "https", "mailto")


def image_ok(value):
    """An img src: http(s), a base64 PNG or JPEG data URL, or a file beside the notebook (no '/', '\\' or '..')."""
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
        return scheme in ("http", "https")
    return not url.startswith("/") and "\\" not in value and ".." not in url.split("/")


def attribute_ok(tag, name, value, rendered=False):
    allowed = STUDENT_ATTRIBUTES.get(tag, set())
    if rendered:
        allowed = allowed | RENDERED_ATTRIBUTES.get(tag, set()) | RENDERED_ATTRIBUTES["*"]
    if name not in allowed:
        return False
    value = value or ""
    if name == "href":
        return link_ok(value)
    if name == "src":
        return image_ok(value)
    if name == "style":
        return "".join(value.split()).rstrip(";") in TABLE_ALIGNMENT
    if name == "type":
        return value == "checkbox"
    if name in NUMERIC_ATTRIBUTES:
        return value.strip().isdigit() and len(value.strip()) <= 6
    return True


class _Inspector(HTMLParser):
    """Lists what in a piece of HTML is outside the allow-list (an empty list: safe to render)."""

    def __init__(self, rendered):
        super().__init__(convert_charrefs=False)
        self.rendered, self.problems = rendered, []

    def handle_starttag(self, tag, attrs):
        if tag not in (RENDERED_TAGS if self.rendered else STUDENT_TAGS):
            self.problems.append(f"<{tag}> element")
            return
        for name, value in attrs:
            if not attribute_ok(tag, name, value, self.rendered):
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


def html_problems(text, rendered=True):
    """What would make this HTML unsafe to render on the grader's origin; [] when nothing would."""
    inspector = _Inspector(rendered)
    inspector.feed(text)
    inspector.close()
    return inspector.problems


def _bleach_attribute(tag, name, value):
    return attribute_ok(tag, name, value)


CLEANER = bleach.Cleaner(tags=STUDENT_TAGS, attributes=_bleach_attribute,
                         protocols={"http", "https", "mailto", "data"}, strip=False, strip_comments=True)


def clean_html(text):
    """A student's HTML with disallowed tags escaped (left visible as text) and disallowed attributes dropped."""
    cleaned = CLEANER.clean(text)
    return cleaned if not html_problems(cleaned) else html.escape(text)


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


def sanitize_markdown(source, attachments=None):
    """(markdown, attachments, notes): the text made safe to render, keeping what is already safe as written.

    notes: short sentences on what was changed, already added to the markdown; [] when nothing was.
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
            problems = html_problems(fragment, rendered=False)
            if problems:
                if fragment not in new:  # the parser ends the text's last block with a newline
                    fragment = fragment.rstrip("\n")
                new = new.replace(fragment, CLEANER.clean(fragment))
                cleaned += problems
        if cleaned:
            notes.append("HTML made inert (" + ", ".join(dict.fromkeys(cleaned)) + ")")
    for name, mimes in sorted(removed.items()):
        notes.append(f"attachment {_shown_name(name)} not shown ({', '.join(mimes)}): only PNG and JPEG images are")
    note = ("\n\n*[Grading: " + html.escape("; ".join(notes)) + ".]*") if notes else ""
    try:
        problems = html_problems(render_markdown(new + note, kept))
    except InvalidNotebook as err:
        problems = [str(err)]
    if problems:
        notes.append("shown as plain text, for " + ", ".join(dict.fromkeys(problems)))
        new, note = _fallback(source), "\n\n*[Grading: " + html.escape("; ".join(notes)) + ".]*"
        assert not html_problems(render_markdown(new + note, kept)), "plain-text fallback must render safely"
    return new + note, kept, notes


# --- outputs ---------------------------------------------------------------------------------------

def _text(value):
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def note_output(what):
    return new_output("display_data", data={"text/plain": f"[Removed from this output before grading: {what}. "
                                                          "Only text, LaTeX, PNG, JPEG and cleaned HTML are shown.]"})


def sanitize_output(output):
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
            data[mime] = clean_html(value)
            if data[mime] != value and html_problems(value):
                removed.append("scripts, handlers or styles in its HTML")
        elif mime == "text/markdown":
            data[mime] = sanitize_markdown(value)[0]
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
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        kind = cell.get("cell_type")
        if kind not in ("markdown", "code", "raw"):
            return NotebookNode(cell_type="markdown", metadata={}, source="*[Grading: a cell of unknown type "
                                f"{_shown_name(kind)} is not shown.]*"), resources
        self._clean_nbgrader_metadata(cell)
        if kind == "markdown":
            cell.source, attachments, notes = sanitize_markdown(cell.source, cell.get("attachments"))
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
            cell.source = source if not html_problems(source) else clean_html(source)
        if kind == "code":
            count = cell.get("execution_count")
            cell.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
            outputs = []
            for output in cell.get("outputs", []):
                outputs += sanitize_output(output)
            cell.outputs = outputs
        return cell, resources

    @staticmethod
    def _clean_nbgrader_metadata(cell):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict):
            return
        for key in [k for k in meta if k not in NBGRADER_KEYS]:
            del meta[key]
        if isinstance(meta.get("grade_id"), str):
            meta["grade_id"] = html.escape(meta["grade_id"])
