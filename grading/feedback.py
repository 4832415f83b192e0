"""Feedback that shows hidden tests only by their verdict.

nbgrader's feedback shows each test cell as it ran: the hidden tests' source and, when one fails,
a traceback quoting the hidden lines (nbgrader #917, #1363). `HideHiddenTests` runs in
`generate_feedback` before the HTML is written: it removes the hidden block from each test cell's
source; an error raised on a hidden line keeps its type and message (the instructor's assertion
message) but loses its traceback; an error on a visible line keeps its traceback, less any line that
quotes hidden code. The points of each cell are untouched.
"""
import re

from nbgrader.preprocessors import NbGraderPreprocessor

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)|<module>.*?line (\d+)")


def is_test_cell(cell):
    """An autograded test cell: code with nbgrader's grade flag."""
    return cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")


def hidden_lines(source):
    """(line numbers, 1-based, of the hidden block with its markers; the set of its non-blank lines)."""
    numbers, text, inside = set(), set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == BEGIN:
            inside = True
        if inside:
            numbers.add(number)
            if line.strip():
                text.add(line.strip())
        if line.strip() == END:
            inside = False
    return numbers, text


def visible_source(source):
    numbers, _ = hidden_lines(source)
    return "\n".join(line for n, line in enumerate(source.splitlines(), start=1) if n not in numbers)


def failing_line(traceback):
    """The line of the test cell at which the error was raised (its first frame), or None."""
    match = CELL_LINE.search(ANSI.sub("", "\n".join(traceback)))
    return int(match.group(1) or match.group(2)) if match else None


def quotes(line, hidden):
    """Whether a traceback line shows a hidden line: '----> 12 assert ...' or '     11 _d = ...'."""
    code = re.sub(r"^\s*(-+>)?\s*\d+\s", "", ANSI.sub("", line)).strip()
    return bool(code) and code in hidden


def hide_in_output(output, numbers, hidden):
    if output.get("output_type") != "error":
        return output
    if failing_line(output.traceback) in numbers:
        output.traceback = [f"{output.ename}: {output.evalue}", "(raised by a hidden test; its code is not shown)"]
    else:
        output.traceback = ["\n".join(line for line in entry.splitlines() if not quotes(line, hidden))
                            for entry in output.traceback]
    return output


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if not is_test_cell(cell):
            return cell, resources
        numbers, hidden = hidden_lines(cell.source)
        if numbers:
            cell.outputs = [hide_in_output(out, numbers, hidden) for out in cell.get("outputs", [])]
            cell.source = visible_source(cell.source)
        return cell, resources
