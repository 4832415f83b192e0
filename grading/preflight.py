"""Check each submission before grading and, where it is safe, repair a copy of it.

Reads submitted/<student>/<assignment>/ and writes only to a staging folder, which `nbgrader
autograde` then takes as its submitted directory: nothing a student submitted is modified. What is
repaired, and what cannot be graded, is returned with the reason, for the report.

Every submission is hostile input. Checking one can only ever end in a staged copy or a reason it is
not graded: whatever goes wrong while checking a student (even an error not foreseen here) becomes
that student's NOT GRADED reason, never an exception that stops the batch.

What is refused (not graded, with the reason):
- a symbolic link anywhere in the submission's path (the student's folder, the assignment folder or the
  notebook): nothing in a submission may be followed out of its folder (a link to
  source/<assignment>/<assignment>.ipynb would be graded as the student's work);
- anything that is not a regular file (a FIFO would block the batch), a notebook larger than
  MAX_NOTEBOOK_BYTES or nested deeper than MAX_DEPTH (json and nbformat recurse, and raise
  RecursionError on deep nesting), invalid JSON, a file that is not a notebook, a notebook format
  that nbformat cannot upgrade to version 4 (unknown major version, no version at all).

What is repaired, each one a thing nbgrader would otherwise grade wrongly or abort on:
- a notebook saved under another name: the one notebook in the folder that holds the assignment's cells;
- a notebook of an older format (nbformat 1-3) or a newer minor version of 4: upgraded by nbformat,
  then validated against nbformat 4's current schema;
- nbgrader metadata that does not describe a cell of the release: a cell whose grade_id the release
  does not have, or has for a cell of another type or role (grade, solution, locked, task), or whose
  metadata is malformed (not a dict, grade_id not a string, points not a number, no grade_id) becomes
  a plain cell, so a student cannot define graded cells and nbgrader does not fail on it (it deletes the
  grade_id of a cell missing from the gradebook and then raises KeyError: 'grade_id'). A cell that
  matches its release cell gets the release's role, points and schema version back;
- a graded cell pasted twice (same grade_id): the last copy keeps its nbgrader metadata, as nbgrader's
  own DeduplicateIds would do, but before nbgrader's metadata checks can abort the batch;
- an answer cell whose nbgrader metadata was stripped (or dropped above): found again by the function
  it defines;
- malformed attachments of a markdown cell are dropped (well-formed ones that nbconvert cannot embed, such
  as an SVG saved as text, are reported as of a type not kept), and an image that refers to an attachment the
  cell does not have gets a placeholder image saying so: nbconvert raises on a missing attachment, and
  `nbgrader generate_feedback` then fails;
- an assignment of several notebooks is checked one notebook at a time: one that is missing or cannot be graded
  scores 0 (nbgrader's own rule for a missing notebook), with a note, and the others are graded; only a
  submission with no gradable notebook at all is not graded;
deleted or stripped test cells are put back by nbgrader itself (OverwriteCells.add_missing_cells).

Files beside the notebooks are handed in as nbgrader hands them in: the student's own (an image their answer
shows, a data file it wrote) are staged, then the instructor's files of source/<assignment>/ (its images and
data) are put over them, as `nbgrader autograde` does. Left out, with a note: symbolic links (never followed),
anything that is not a regular file or folder, Python code that the kernel would import in place of an installed
module (a `course.py` shadowing the course package), pages and scripts the formgrader would serve on the Jupyter
origin (HTML, SVG, JavaScript, XML), and what passes MAX_EXTRA_FILES, MAX_EXTRA_BYTES or MAX_EXTRA_DEPTH.
"""
import ast
import base64
import copy
import errno
import html
import json
import math
import os
import re
import shutil
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbgrader.utils import is_solution, parse_utc

TIMESTAMP = "timestamp.txt"
# written by `nbgrader submit`; `release_feedback` needs it beside the feedback, so it is staged as it was
SECRET = "submission_secret.txt"
MAX_NOTEBOOK_BYTES = 64 * 2**20   # the lab's answered notebook with outputs is well under 1 MiB
MAX_DEPTH = 100                   # nesting of JSON arrays and objects; a notebook needs about 8
MAX_TIMESTAMP_BYTES = 1024
MAX_OTHER_NOTEBOOKS = 20          # notebooks looked through for a renamed one
MAX_EXTRA_FILES = 1000            # files beside the notebooks that are staged; nbgrader's docs course has one
MAX_EXTRA_BYTES = 64 * 2**20      # bytes of them in all
MAX_EXTRA_DEPTH = 8               # folders within folders
# Not staged from a student: code the kernel would import in place of an installed module, and what the formgrader
# (which serves the files beside a submission from the Jupyter origin) would run as a page or script.
IMPORTABLE = (".py", ".pyc", ".pyd", ".pyw", ".so", ".pth")
ACTIVE = (".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".js", ".mjs", ".xml", ".xsl", ".xslt")
IGNORED = (".ipynb_checkpoints", "__pycache__", "feedback")  # nbgrader's CourseDirectory.ignore, as folder names
NBGRADER_KEYS = ("schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum",
                 "cell_type")     # nbgrader's cell metadata schema, version 3
ROLE = ("grade", "solution", "locked", "task")
ATTACHMENT_MIME = re.compile(r"(?!application/json$)[a-zA-Z0-9]+/[a-zA-Z0-9\-+.]+")  # nbformat 4's schema
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
ATTACHMENT_PREFIX = "attachment:"


class NotGradable(ValueError):
    """Why a submission cannot be graded; its message goes into the report as it is."""


@dataclass
class Checked:
    student: str
    notes: list = field(default_factory=list)  # repairs made, for the report
    error: str = ""                            # why it cannot be graded; empty when it can

    @property
    def gradable(self):
        return not self.error


def shown(text, limit=80):
    """A student-chosen string (file name, grade_id) as it may appear in the one-line report: control
    characters escaped, so a name cannot start a forged report line, and long names cut."""
    text = str(text)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def nbgrader_meta(cell):
    """A cell's nbgrader metadata if it is a dict, else None (absent or malformed)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else None


def nbgrader_id(cell):
    """A cell's grade_id, or None when it has none (or the metadata holding it is malformed)."""
    gid = (nbgrader_meta(cell) or {}).get("grade_id")
    return gid if isinstance(gid, str) else None


def defined_functions(source):
    """Names of the functions a cell's code defines at top level (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: null bytes in the source
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


# Reading a submission without following links out of it: every step opens one name relative to the
# folder already open, with O_NOFOLLOW, so a link is refused where it is, not resolved first.

def open_folder(parent_fd, name, shown_path):
    """Open folder `name` inside the open folder `parent_fd`; a link, or anything but a folder, is NotGradable."""
    try:
        info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        raise NotGradable(f"no folder {shown_path}") from None
    if stat.S_ISLNK(info.st_mode):
        raise NotGradable(f"{shown_path} is a symbolic link (to {shown(os.readlink(name, dir_fd=parent_fd))}): "
                          "a submission must be a real folder; links are not followed")
    if not stat.S_ISDIR(info.st_mode):
        raise NotGradable(f"{shown_path} is not a folder")
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError as err:  # replaced by a link since the stat above
        raise NotGradable(f"{shown_path} could not be opened as a folder ({os.strerror(err.errno)})") from None


def read_file(folder_fd, name, limit):
    """The bytes of regular file `name` in the open folder, at most `limit` of them; else NotGradable."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd)
    except OSError as err:
        if err.errno == errno.ELOOP:
            target = shown(os.readlink(name, dir_fd=folder_fd))
            raise NotGradable(f"{shown(name)} is a symbolic link (to {target}): a submitted file must be the "
                              "student's own, links are not followed") from None
        raise NotGradable(f"{shown(name)} could not be opened ({os.strerror(err.errno)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotGradable(f"{shown(name)} is not a regular file")
        if info.st_size > limit:
            raise NotGradable(f"{shown(name)} is {info.st_size / 2**20:.1f} MiB; at most {limit / 2**20:g} MiB "
                              "is read")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(2**20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew since the fstat
            raise NotGradable(f"{shown(name)} is larger than {limit / 2**20:g} MiB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def depth(value, limit):
    """How deeply `value`'s lists and dicts nest (1 for a flat list), counted without recursion; stops past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in item if isinstance(child, (dict, list)))
    return deepest


def parse_notebook(data, name, checked):
    """A nbformat 4 notebook from the bytes of file `name`, upgraded by nbformat if older (with a note);
    NotGradable if it is not JSON, nests deeper than MAX_DEPTH, or is not a notebook nbformat can read."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise NotGradable(f"{name} is JSON nested too deeply (more than {MAX_DEPTH} levels are not read)") from None
    except (UnicodeDecodeError, ValueError) as err:  # JSONDecodeError, and integers of over 4300 digits
        raise NotGradable(f"{name} is not valid JSON ({shown(err, 200)})") from None
    if depth(raw, MAX_DEPTH) > MAX_DEPTH:
        raise NotGradable(f"{name} is JSON nested too deeply (more than {MAX_DEPTH} levels are not read)")
    if not isinstance(raw, dict):
        raise NotGradable(f"{name} is not a notebook (its JSON is a {type(raw).__name__}, not an object)")
    major, minor = raw.get("nbformat"), raw.get("nbformat_minor")
    if type(major) is not int or type(minor) is not int:
        raise NotGradable(f"{name} is not a notebook nbformat can read: 'nbformat' and 'nbformat_minor' must be "
                          f"integers, got {shown(repr(major), 20)} and {shown(repr(minor), 20)}")
    if major not in nbformat.versions or major > nbformat.current_nbformat:
        raise NotGradable(f"{name} is in notebook format {major}.{minor}, which nbformat cannot read "
                          f"(formats 1 to {nbformat.current_nbformat} are graded)")
    if major == nbformat.current_nbformat:
        repair_attachments(raw, checked)  # before nbformat's reader, which fails on malformed ones
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.convert(nbformat.versions[major].to_notebook_json(raw, minor=minor), nbformat.current_nbformat)
    except Exception as err:  # nbformat's converters assume a well-formed notebook and raise anything
        raise NotGradable(f"{name} is a format-{major} notebook nbformat could not upgrade "
                          f"({type(err).__name__}: {shown(err, 200)})") from None
    if major < nbformat.current_nbformat:
        checked.notes.append(f"{name} was in notebook format {major}.{minor}; upgraded by nbformat")
    return nb


def read_notebook(folder_fd, name, checked):
    """The notebook `name` in the open folder: read, upgraded, its attachments repaired, validated.

    Raises NotGradable saying why it cannot be graded. A newer minor version of format 4 that is valid in
    nbformat's current one (4.5 here) is graded as that version, with a note."""
    nb = parse_notebook(read_file(folder_fd, name, MAX_NOTEBOOK_BYTES), shown(name), checked)
    current = nbformat.current_nbformat_minor
    minor = nb.get("nbformat_minor")
    repair_attachments(nb, checked)  # again: an upgraded notebook may refer to attachments it cannot have
    try:
        with warnings.catch_warnings():  # duplicate cell ids (a pasted cell) are renumbered, as nbformat does
            warnings.simplefilter("ignore")
            if isinstance(minor, int) and minor > current:
                nb.nbformat_minor = current
            nbformat.validate(nb)
    except Exception as err:  # nbformat raises several kinds for a malformed notebook
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NotGradable(f"{shown(name)} is not a valid notebook ({shown(first, 200)})") from None
    if isinstance(minor, int) and minor > current:
        checked.notes.append(f"{shown(name)} is in notebook format 4.{minor}; graded as 4.{current}, in which it is valid")
    return nb


# Attachments. nbconvert renders `![alt](attachment:NAME)` from the cell's attachments and raises
# "missing attachment: NAME" when the cell has none by that name, which fails generate_feedback.

class AttachmentReferences(IPythonRenderer):
    """nbconvert's own markdown renderer, recording the attachment names its images refer to: the names
    exactly as generate_feedback will look them up."""

    def __init__(self):
        super().__init__(escape=False)
        self.names = []

    def _embed_image_or_attachment(self, src):
        if src.startswith(ATTACHMENT_PREFIX):
            self.names.append(src[len(ATTACHMENT_PREFIX):])
        return src


def referenced_attachments(source):
    """The attachment names the images of a markdown source refer to."""
    renderer = AttachmentReferences()
    try:
        MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # what nbconvert cannot render fails it anyway; fall back on the plain syntax
        return set(re.findall(r"attachment:([^\s)\"'>\]]+)", source))
    return set(renderer.names)


def usable_attachment(bundle):
    """The part of one attachment nbconvert can embed: {mime type: base64 text}, possibly empty."""
    if not isinstance(bundle, dict):
        return {}
    usable = {}
    for mime, data in bundle.items():
        if isinstance(data, list) and all(isinstance(line, str) for line in data):
            data = "".join(data)
        if isinstance(mime, str) and ATTACHMENT_MIME.fullmatch(mime) and isinstance(data, str) \
                and BASE64.fullmatch(data):
            usable[mime] = data
    return usable


def of_type_not_kept(bundle):
    """Whether an attachment is well-formed (mime type: text or lines of text) but holds no PNG or JPEG."""
    return (isinstance(bundle, dict) and bool(bundle) and not {"image/png", "image/jpeg"} & set(bundle)
            and all(isinstance(mime, str) and ATTACHMENT_MIME.fullmatch(mime) for mime in bundle)
            and all(isinstance(data, str) or (isinstance(data, list) and all(isinstance(x, str) for x in data))
                    for data in bundle.values()))


def placeholder_attachment(name):
    """A small SVG image saying that attachment `name` is missing, in place of it."""
    message = html.escape(f"[attachment {shown(name, 60)} was not submitted]")
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="520" height="32">'
           '<rect width="100%" height="100%" fill="#fff3cd" stroke="#856404"/>'
           f'<text x="8" y="21" font-family="sans-serif" font-size="14" fill="#856404">{message}</text></svg>')
    return {"image/svg+xml": base64.b64encode(svg.encode()).decode()}


def repair_attachments(nb, checked):
    """Drop malformed attachments; give each image that refers to a missing attachment a placeholder saying so.

    Only markdown and raw cells may carry attachments (nbformat 4's schema); a code cell's are dropped."""
    cells = nb.get("cells")
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        if not isinstance(cell, dict):
            continue
        where = f"cell {shown(nbgrader_id(cell) or index + 1)}"
        attachments = cell.get("attachments")
        if attachments is not None:
            if cell.get("cell_type") not in ("markdown", "raw") or not isinstance(attachments, dict):
                del cell["attachments"]
                checked.notes.append(f"{where}: dropped its malformed attachments")
                attachments = None
            else:
                kept = {name: usable_attachment(bundle) for name, bundle in attachments.items()}
                dropped = [name for name, bundle in kept.items() if not bundle]
                # well-formed, but of a type the feedback never shows (SVG can carry script): not "malformed"
                other_type = sorted(shown(name) for name in dropped if of_type_not_kept(attachments[name]))
                malformed = sorted(shown(name) for name in dropped if not of_type_not_kept(attachments[name]))
                cell["attachments"] = nbformat.from_dict({name: bundle for name, bundle in kept.items() if bundle})
                if other_type:
                    checked.notes.append(f"{where}: dropped attachments of a type not kept (only PNG/JPEG): "
                                         f"{', '.join(other_type)}")
                if malformed or (not other_type and any(kept[n] != attachments[n] for n in kept if kept[n])):
                    checked.notes.append(f"{where}: dropped malformed attachments" + (f" ({', '.join(malformed)})"
                                                                                       if malformed else ""))
        source = cell.get("source")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if cell.get("cell_type") != "markdown" or not isinstance(source, str) or ATTACHMENT_PREFIX not in source:
            continue
        present = cell.get("attachments") or {}
        missing = sorted(referenced_attachments(source) - set(present))
        if missing:
            cell["attachments"] = nbformat.from_dict(dict(present, **{name: placeholder_attachment(name)
                                                                      for name in missing}))
            checked.notes.append(f"{where} shows attachments it does not have: {', '.join(map(shown, missing))}; "
                                 "each replaced by a note saying it is missing")


def find_notebook(folder_fd, name, release_ids, checked, taken=()):
    """(file name, notebook) of the submission: `name` if present, else the one other notebook holding the
    assignment's cells (never one of `taken`: the assignment's other notebooks). Links are never followed: a
    linked notebook is NotGradable, other links left out."""
    entries = {entry.name: entry for entry in os.scandir(folder_fd)}
    if name in entries:
        return name, read_notebook(folder_fd, name, checked)  # refuses a link, a FIFO, a folder
    links = sorted(n for n, e in entries.items() if n.endswith(".ipynb") and e.is_symlink() and n not in taken)
    others = sorted(n for n, e in entries.items() if n.endswith(".ipynb") and e.is_file(follow_symlinks=False)
                    and n not in taken)
    if len(others) > MAX_OTHER_NOTEBOOKS:
        raise NotGradable(f"no notebook {name}, and {len(others)} other notebooks: too many to look through "
                          f"(at most {MAX_OTHER_NOTEBOOKS})")
    candidates = []
    for other in others:
        notes = Checked(checked.student)
        try:
            nb = read_notebook(folder_fd, other, notes)
        except Exception:  # not a notebook (or not one that can be read): not the submission
            continue
        ids = {nbgrader_id(c) for c in nb.cells} & release_ids
        if ids:
            candidates.append((len(ids), other, nb, notes.notes))
    if not candidates:
        raise NotGradable(f"no notebook {name} (and no other notebook holding this assignment's cells)"
                          + (f"; symbolic links are not followed: {', '.join(map(shown, links))}" if links else ""))
    candidates.sort(key=lambda c: c[:2])
    if len(candidates) > 1 and candidates[-1][0] == candidates[-2][0]:
        raise NotGradable(f"no notebook {name}, and several others could be it: "
                          + ", ".join(shown(c[1]) for c in candidates))
    _, found, nb, notes = candidates[-1]
    checked.notes += notes
    checked.notes.append(f"graded {shown(found)}, submitted in place of {name}")
    return found, nb


# nbgrader metadata: the release's cells are the truth.

def is_points(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def release_roles(release):
    """{grade_id: (cell type, its nbgrader metadata)} for the release's nbgrader cells."""
    return {nbgrader_id(c): (c.cell_type, c.metadata.nbgrader) for c in release.cells if nbgrader_id(c)}


def why_foreign(cell, meta, roles):
    """Why this cell's nbgrader metadata does not describe a cell of the release, or '' if it does."""
    gid = meta.get("grade_id")
    if "grade_id" not in meta:
        return "nbgrader metadata without a grade_id"
    if not isinstance(gid, str):
        return f"a grade_id that is not a string ({shown(repr(gid), 40)})"
    if gid not in roles:
        return f"grade_id {shown(gid)}, which the assignment does not have"
    cell_type, ref = roles[gid]
    if cell.get("cell_type") != cell_type:
        return f"grade_id {gid} of a {cell_type} cell, on a {shown(cell.get('cell_type'), 20)} cell"
    for flag in ROLE:
        if flag in meta and not isinstance(meta[flag], bool):
            return f"grade_id {gid} with '{flag}' not true or false ({shown(repr(meta[flag]), 40)})"
        if bool(meta.get(flag, False)) != bool(ref.get(flag, False)):
            return f"grade_id {gid} with {flag}={bool(meta.get(flag, False))}, which is not that cell's role"
    if ref.get("grade") and not is_points(meta.get("points")):
        return f"grade_id {gid} with points that are not a number ({shown(repr(meta.get('points')), 40)})"
    return ""


def normalise_nbgrader_metadata(nb, release, checked):
    """Make every cell's nbgrader metadata that of its release cell, or remove it (the cell becomes plain).

    A cell keeps its metadata only if its grade_id is the release's for a cell of the same type and role;
    it then gets the release's points and schema version back (and loses keys nbgrader's schema does not
    have). Anything else is removed: foreign graded cells, and malformed metadata nbgrader would fail on."""
    roles = release_roles(release)
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.metadata:
            continue
        meta = cell.metadata.nbgrader
        if not isinstance(meta, dict):
            del cell.metadata["nbgrader"]
            checked.notes.append(f"cell {index + 1} had nbgrader metadata that is not a dict; graded as a plain cell")
            continue
        claims = bool(meta.get("grade_id")) or any(meta.get(flag) for flag in ROLE)
        reason = why_foreign(cell, meta, roles)
        if reason:
            del cell.metadata["nbgrader"]
            if claims:
                checked.notes.append(f"cell {index + 1} had {reason}; graded as a plain cell")
            continue
        cell_type, ref = roles[meta["grade_id"]]
        fixed = {key: copy.deepcopy(ref[key]) for key in ("grade_id", "schema_version", *ROLE, "points") if key in ref}
        if isinstance(meta.get("checksum"), str):
            fixed["checksum"] = meta["checksum"]
        if "cell_type" in meta or "cell_type" in ref:
            fixed["cell_type"] = cell_type
        if ref.get("grade") and meta.get("points") != ref.get("points"):
            checked.notes.append(f"cell {meta['grade_id']} claimed {meta.get('points')} points; "
                                 f"given the release's {ref.get('points')}")
        if fixed != meta:
            cell.metadata["nbgrader"] = nbformat.from_dict(fixed)


def deduplicate(nb, checked):
    """Keep nbgrader metadata on the last copy of each grade_id; earlier copies become plain cells."""
    seen = set()
    for cell in reversed(nb.cells):
        gid = nbgrader_id(cell)
        if gid is None:
            continue
        if gid in seen:
            del cell.metadata["nbgrader"]
            checked.notes.append(f"cell {gid} appeared more than once; graded its last copy")
        seen.add(gid)


def restore_answer_metadata(nb, release, checked):
    """Give back the nbgrader metadata of an answer cell that lost it, found by the function it defines."""
    present = {nbgrader_id(c) for c in nb.cells}
    for ref in release.cells:
        gid = nbgrader_id(ref)
        if gid in present or ref.cell_type != "code" or not is_solution(ref):
            continue
        wanted = defined_functions(ref.source)
        matches = [c for c in nb.cells if c.cell_type == "code" and "nbgrader" not in c.metadata
                   and wanted and wanted <= defined_functions(c.source)]
        if matches:
            matches[-1].metadata["nbgrader"] = copy.deepcopy(ref.metadata.nbgrader)
            checked.notes.append(f"answer cell {gid} had lost its nbgrader metadata; restored")


def timestamp(folder_fd, entries, checked):
    """The text of the submission's timestamp.txt if it is a small regular file nbgrader can parse, else None."""
    if TIMESTAMP not in entries:
        return None
    try:
        text = read_file(folder_fd, TIMESTAMP, MAX_TIMESTAMP_BYTES).decode("utf-8")
        parse_utc(text.strip())
    except Exception as err:  # NotGradable, undecodable text, or any error of nbgrader's own parser
        checked.notes.append(f"left out {TIMESTAMP}: " + (str(err) if isinstance(err, NotGradable)
                                                         else "not a time nbgrader can read"))
        return None
    return text


def staged_notebook(folder, name, release, checked, taken):
    """(the file graded as notebook `name`, its text to stage): found, its nbgrader metadata made the release's."""
    release_ids = {nbgrader_id(c) for c in release.cells} - {None}
    found, nb = find_notebook(folder, name, release_ids, checked, taken)
    normalise_nbgrader_metadata(nb, release, checked)
    deduplicate(nb, checked)
    restore_answer_metadata(nb, release, checked)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return found, nbformat.writes(nb) + "\n"  # as nbformat.write ends it


def why_left_out(name, is_folder):
    """Why a student's file (or folder) beside the notebooks is not staged, or '' if it is."""
    lower = name.lower()
    if lower.endswith(IMPORTABLE) and not is_folder:
        return "Python code the kernel would import in place of an installed module"
    if lower.endswith(ACTIVE) and not is_folder:
        return "a page or script the formgrader would serve on the Jupyter origin"
    return ""


def copy_extras(folder_fd, names, dest, checked):
    """Copy the student's files and folders `names` of the open folder into `dest`, never following a link; what is
    left out is noted, by why (MAX_EXTRA_FILES and MAX_EXTRA_BYTES bound the whole submission)."""
    left_out, links, budget = {}, [], [MAX_EXTRA_FILES, MAX_EXTRA_BYTES]

    def walk(folder_fd, names, dest, depth_left, prefix):
        for name in names:
            if name in IGNORED:  # as nbgrader ignores them
                continue
            shown_name = shown(prefix + name)
            info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                links.append(shown_name)
                continue
            is_folder = stat.S_ISDIR(info.st_mode)
            why = why_left_out(name, is_folder)
            if not why and is_folder and depth_left <= 0:
                why = f"folders nested deeper than {MAX_EXTRA_DEPTH}"
            if not why and not is_folder and not stat.S_ISREG(info.st_mode):
                why = "not a regular file"
            if not why and not is_folder and (budget[0] < 1 or budget[1] < info.st_size):
                why = f"past {MAX_EXTRA_FILES} files or {MAX_EXTRA_BYTES // 2**20} MiB beside the notebooks"
            if not why and not is_folder:
                try:
                    data = read_file(folder_fd, name, budget[1])
                except NotGradable as err:  # replaced or grown since its stat: this file is left out, not the rest
                    why = str(err)
            if why:
                left_out.setdefault(why, []).append(shown_name)
            elif is_folder:
                sub = open_folder(folder_fd, name, shown_name)
                try:
                    (dest / name).mkdir()
                    walk(sub, sorted(os.listdir(sub)), dest / name, depth_left - 1, f"{prefix}{name}/")
                finally:
                    os.close(sub)
            else:
                budget[0], budget[1] = budget[0] - 1, budget[1] - len(data)
                (dest / name).write_bytes(data)

    walk(folder_fd, names, dest, MAX_EXTRA_DEPTH, "")
    for why, which in left_out.items():
        checked.notes.append(f"left out extra files: {', '.join(which)} ({why})")
    if links:
        checked.notes.append("left out symbolic links (never followed): " + ", ".join(links))


def copy_instructor_files(source, dest):
    """The instructor's files of source/<assignment>/ (all but its notebooks and what nbgrader ignores), put over the
    student's copies, as `nbgrader autograde` puts them into autograded/."""
    for path in sorted(Path(source).rglob("*")):
        relative = path.relative_to(source)
        if any(part in IGNORED for part in relative.parts) or path.suffix in (".ipynb", ".pyc") or not path.is_file():
            continue
        target = dest / relative
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def check(student, submitted, dest, assignment, releases, checked, source=None):
    """stage()'s work; raises NotGradable (or anything unforeseen) when the submission cannot be graded."""
    root = os.open(submitted, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the instructor's folder
    opened = [root]
    try:
        opened.append(open_folder(root, student, f"submitted/{shown(student)}"))
        folder = open_folder(opened[-1], assignment, f"submitted/{shown(student)}/{assignment}")
        opened.append(folder)
        staged, problems, graded_from = {}, {}, set()
        for name, release in releases.items():
            try:
                found, staged[name] = staged_notebook(folder, name, release, checked,
                                                      taken=(set(releases) - {name}) | graded_from)
                graded_from.add(found)
            except NotGradable as err:
                problems[name] = str(err)
        if not staged:
            raise NotGradable("; ".join(problems.values()))
        for name, why in problems.items():
            checked.notes.append(f"{name} not graded, its tests score 0: {why}")
        entries = {entry.name: entry for entry in os.scandir(folder)}
        time = timestamp(folder, entries, checked)
        secret = None
        if SECRET in entries and not entries[SECRET].is_symlink():
            try:
                secret = read_file(folder, SECRET, MAX_TIMESTAMP_BYTES)
            except Exception as err:  # a secret that is not a small regular file: feedback cannot be released
                checked.notes.append(f"left out {SECRET}: {err}")
        kept = graded_from | set(releases) | {TIMESTAMP} | ({SECRET} if secret is not None else set())
        rest = sorted(n for n in entries if n not in kept)
        dest.mkdir(parents=True)
        copy_extras(folder, rest, dest, checked)
        if source is not None:
            copy_instructor_files(source, dest)
        for name, text in staged.items():
            (dest / name).write_text(text, encoding="utf-8")
        if time is not None:
            (dest / TIMESTAMP).write_text(time, encoding="utf-8")
        if secret is not None:
            (dest / SECRET).write_bytes(secret)
    finally:
        for fd in reversed(opened):
            os.close(fd)


def stage(student, submitted, staging, assignment, releases, source=None):
    """Check submitted/<student>/<assignment>/ and write what to grade to staging/<student>/<assignment>/.

    releases: {notebook file name: the notebook as the instructor made it} for each notebook of the assignment (its
    nbgrader cells are the truth); one notebook alone stands for {"<assignment>.ipynb": it}.
    source: the assignment's folder of source/, whose other files are put over the student's; None: none.
    Returns a Checked: the repairs made, or why the submission is not graded. Never raises for what a
    submission contains: any error while checking it becomes its reason, and nothing is staged for it."""
    if isinstance(releases, nbformat.NotebookNode) and "cells" in releases:
        releases = {f"{assignment}.ipynb": releases}
    checked = Checked(student)
    dest = Path(staging) / student / assignment
    if dest.exists():  # left from an earlier run: grade only what this check writes
        shutil.rmtree(dest)
    try:
        check(student, submitted, dest, assignment, releases, checked, source)
    except NotGradable as err:
        checked.error = str(err)
    except RecursionError:
        checked.error = f"the submission is nested too deeply to check (more than {MAX_DEPTH} levels are read)"
    except Exception as err:  # unforeseen: this student is not graded, the batch goes on
        checked.error = f"could not be checked ({type(err).__name__}: {shown(err, 200)})"
    if checked.error and dest.exists():
        shutil.rmtree(dest)
    return checked
