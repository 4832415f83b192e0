"""Numbers quoted in a notebook's prose, and whether its stored outputs bear them out.

A number in a markdown cell is *measured* when it is not an integer below 100 (counts, points, equation
and section numbers) and not a year (a bare 1950-2030 without a thousands comma: this prose writes fluxes
as 2,044). A measured number is borne out when one of these holds:

* an output of a code cell (its text, or its text/plain) holds a number that, rounded to the precision
  the prose quotes, is that number: "0.94" is matched by 0.9412, "1,650" (tens) by 1647, "1,655" only by
  1654.5-1655.5, "2 x 10^-5" by 1.8e-05, "10^6" by anything between 10^5.5 and 10^6.5; signs are ignored;
* it is written in a code cell (a setting, such as 5,000 grid points or a learning rate of 10^-3);
* the caller lists it as a constant of the model or a derivation, with the reason.
"""
import json
import math
import re

# a number as the prose writes it: 11,710 / 0.94 / 1.6e-3 / 2 \times 10^{-5} / 10^6 / e^{-5} is not one
NUMBER = re.compile(
    r"(?<![\w.^{])(?P<mantissa>\d{1,3}(?:,\d{3})+|\d+)(?P<decimals>\.\d+)?"
    r"(?:(?P<e>[eE][-+]?\d+)|\s*\\times\s*10\^\{?(?P<times>[-−]?\d+)\}?)?"
)
POWER = re.compile(r"(?<![\w.\\])10\^\{?(?P<k>[-−]?\d+)\}?")
CODE_NUMBER = re.compile(r"(?<![\w.])(\d+(?:_\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w])")
MARKERS = re.compile(r"^### (BEGIN|END) SOLUTION\s*$", re.M)
SKIP = re.compile(r"https?://\S+|doi\.org/\S+|arXiv:\S+|\\tag\{[^}]*\}|\b\d+\(\d+\)|\bA\d+\b|§\s*\d+(?:\.\d+)*")  # § 10.1.2: a section


class Quote:
    """One number of the prose: its value and the precision it is quoted to."""

    def __init__(self, text, value, rounding=None, power=None):
        self.text, self.value, self.rounding, self.power = text, value, rounding, power

    def matches(self, x):
        x = abs(x)
        if self.power is not None:
            return x > 0 and round(math.log10(x)) == self.power
        if self.rounding[0] == "decimals":
            return round(x, self.rounding[1]) == round(self.value, self.rounding[1])
        if self.rounding[0] == "significant":
            if x == 0:
                return self.value == 0
            k = self.rounding[1] - 1 - math.floor(math.log10(x))
            return math.isclose(round(x, k), self.value, rel_tol=1e-9)
        step = self.rounding[1]  # an integer quoted to a power of ten: 1,650 to tens
        return round(x / step) * step == self.value

    def __repr__(self):
        return self.text


def quotes(markdown):
    """The measured numbers of a markdown text, as Quotes."""
    text = SKIP.sub(" ", MARKERS.sub("", markdown))
    found = []
    for m in POWER.finditer(text):
        if not text[:m.start()].rstrip().endswith(("\\times", "e^", "e")):
            found.append(Quote(m.group(0), None, power=int(m.group("k").replace("−", "-"))))
    text = POWER.sub(lambda m: m.group(0) if text[:m.start()].rstrip().endswith("\\times") else " ", text)
    for m in NUMBER.finditer(text):
        whole, decimals = m.group("mantissa"), m.group("decimals") or ""
        if text[:m.start()].endswith(("^", "^{", "e^{-", "e^{", "_")):
            continue  # an exponent or a subscript, not a quantity
        exponent = m.group("e") or (f"e{m.group('times').replace('−', '-')}" if m.group("times") else "")
        value = float(whole.replace(",", "") + decimals + exponent)
        if exponent:
            rounding = ("significant", len((whole + decimals[1:]).lstrip("0")) or 1)
        elif decimals:
            rounding = ("decimals", len(decimals) - 1)
        else:
            if value < 100 or ("," not in whole and 1950 <= value <= 2030):
                continue
            digits = whole.replace(",", "")
            zeros = len(digits) - len(digits.rstrip("0"))
            rounding = ("step", 10 ** zeros)
        found.append(Quote(m.group(0).strip(), value, rounding))
    return found


def cells(path):
    return json.loads(path.read_text())["cells"]


def output_numbers(nb_cells):
    """Every number in the text outputs of the code cells."""
    numbers = []
    for cell in nb_cells:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            numbers += [float(t.replace(",", "")) for t in
                        re.findall(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]
    return numbers


def code_numbers(nb_cells):
    """Every number literal written in the code cells."""
    numbers = set()
    for cell in nb_cells:
        if cell["cell_type"] == "code":
            numbers |= {float(t.replace("_", "")) for t in CODE_NUMBER.findall("".join(cell["source"]))}
    return numbers


def unsupported(path, constants=(), skip_headings=("## Next steps", "## Further reading")):
    """[(cell index, quote)] for the measured numbers of the notebook's markdown that nothing bears out.

    constants: values the prose may quote without an output (the model's constants, derivations), each
    compared at the precision the prose quotes it to.
    """
    nb_cells = cells(path)
    outputs, written = output_numbers(nb_cells), code_numbers(nb_cells)
    missing = []
    for i, cell in enumerate(nb_cells):
        text = "".join(cell["source"])
        if cell["cell_type"] != "markdown" or text.lstrip().startswith(skip_headings):
            continue
        for quote in quotes(text):
            if quote.power is None and quote.value in written:
                continue
            if any(quote.matches(x) for x in outputs) or any(quote.matches(c) for c in constants):
                continue
            missing.append((i, quote))
    return missing
