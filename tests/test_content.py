"""What students read is right: every written question above its answer box, every number in the prose borne
out by the notebook, and no written answer given away anywhere a student can reach from the release."""
import importlib
import math
import pkgutil
import pydoc
import re
from statistics import NormalDist

import pytest

import course
from grading.submissions import ASSIGNMENTS, ROOT, cells_by_id, notebook, read
from prose import unsupported

STUB = "YOUR ANSWER HERE"


def written_answers(nb):
    """The manually graded markdown answers of a notebook, as (index, cell)."""
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
            and c.metadata.get("nbgrader", {}).get("grade") and c.metadata.nbgrader.get("solution")]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_written_answer_box_has_its_question_directly_above(assignment):
    release = read(ROOT / "release" / notebook(assignment))
    answers = written_answers(release)
    assert answers, f"{assignment} has written answers"
    for i, cell in answers:
        gid, points = cell.metadata.nbgrader.grade_id, cell.metadata.nbgrader.points
        assert cell.source.strip() == STUB, f"{gid}: the release's answer box holds only the stub"
        above = release.cells[i - 1]
        meta = above.metadata.get("nbgrader", {})
        assert above.cell_type == "markdown" and meta.get("locked") and not meta.get("grade"), \
            f"{gid}: the cell above its answer box is its question, a locked markdown cell"
        label = re.search(r"\*\*Question (\w+) \((\d+) points?\)\.\*\*", above.source)
        assert label, f"{gid}: its question starts '**Question X (N points).**'"
        assert int(label.group(2)) == points, f"{gid}: its question says {label.group(2)} points, it is worth {points}"
        assert "?" in above.source, f"{gid}: its question asks something"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_question_of_the_source_reaches_the_release(assignment):
    source, release = (read(ROOT / part / notebook(assignment)) for part in ("source", "release"))
    questions = {gid: c for gid, c in cells_by_id(source).items() if gid.endswith("_question")}
    assert len(questions) == len(written_answers(source)), "one question per written answer"
    released = cells_by_id(release)
    for gid, cell in questions.items():
        assert gid in released and released[gid].source == cell.source, f"{gid} reaches the release as written"
    assert all("Question" not in c.source for _, c in written_answers(source)
               if "### BEGIN SOLUTION" not in c.source), "a question never shares a cell with its model answer"


# Constants of the model and derivations the prose may quote without printing them, with their reasons.
MU, SIGMA = 64000.0, 12800.0  # the lab's flux prior
CONSTANTS = {
    "vi_stars": [
        0.2,  # the prior SD is 0.2 mu (course.model)
        0.3,  # the background is 0.3 mu per pixel (course.model)
        math.log(1660),  # e^7.4 ~ 1,660, the posterior SD
        SIGMA * math.exp(-5),  # the standardised encoder's smallest q_sd, sigma e^-5 ~ 86
        0.1 * MU, 0.1 * MU + 100 * 4999,  # the ends of the lab's grid, 0.1 mu + 100 g for g < 5,000
    ],
    "vi_beyond": [
        0.68 * 0.32,  # the binomial variance of a 68% coverage
        math.log(1650 / 403) + (403 / 1650) ** 2 / 2 - 0.5,  # KL between Normals of SDs 403 and 1,650, same mean
        1e-323,  # the order of float64's smallest denormal numbers
        # the coverage of a central interval of SD 403 around the posterior mean, the truth spread with SD 1,660:
        # 2 Phi(z s / sigma) - 1, and z s / sigma itself, at 68% and 95%
        *(2 * NormalDist().cdf(NormalDist().inv_cdf(p) * 403 / 1660) - 1 for p in (0.84, 0.975)),
        NormalDist().inv_cdf(0.84) * 403 / 1660,
    ],
    "vi_two_stars": [
        1 - (403 / 1659) ** 2,  # the tail index of the weights of a Normal q of SD 403 against a Normal posterior of 1,659
    ],
}


def test_the_models_constants_are_the_engines():
    data = course.simulate(n=2, seed=0)
    assert (float(data.prior.mean), float(data.prior.stddev)) == (MU, SIGMA)
    assert float(data.prior.stddev) / float(data.prior.mean) == pytest.approx(0.2)
    assert data.background / float(data.prior.mean) == pytest.approx(0.3)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_number_in_the_prose_is_borne_out_by_the_notebook(assignment):
    """Each measured number of a markdown cell is printed by the notebook (at the precision quoted), written in
    its code, or a constant listed above: `make notebook` cannot leave the text contradicting the outputs."""
    missing = unsupported(ROOT / "source" / notebook(assignment), CONSTANTS[assignment])
    assert not missing, f"{assignment}: numbers in the prose that no output bears out (cell, number): {missing}"


# What each written question's model answer says that nothing a student can reach may say for them.
ANSWERS = {
    "vi_stars": {
        "ex3_written": [r"narrower than (one|a single) bin", r"snaps? to (the|a) grid"],
        "ex4_written": [r"weight\w* (of )?the pixels", r"psf[- ]weight", r"noise of (the whole|all)"],
        "ex5_written": [r"not a (valid |proper )?distribution", r"zero or\s+negative"],
        "ex6_written": [r"constant to autograd", r"outside the (computation )?graph", r"no path back"],
        "ex7_written": [r"pixel (row|column)"],
        "ex8_written": [r"\\sum_\{i,\s*s\}", r"minus the entropy"],
        "ex9_written": [r"\bdead\b", r"ReLUs? .{0,30}(zero|off) for every"],
        "ex10_written": [r"unnormali[sz]ed|rescales the second hidden layer", r"raw (photon )?counts .{0,60}(huge|enormous|explode|overshoot)"],
        "ex11_written": [r"grows linearly", r"touches every image"],
        "ex12_written": [r"e\^\{?6\}?\s*(~|≈|\\approx)\s*403", r"passes no gradient", r"drives every image to the cap"],
    },
    "vi_beyond": {
        "a_written": [r"no cross[- ]term", r"whatever \$q\$'s SD"],
        "b_written": [r"multiplies the score\b.{0,40}\bby (the whole weight|log p\(x, f\))", r"cancels the slope",
                      r"(leaves|keeps) (the estimator|it|\(10\)) unbiased", r"\b(has|have) no variance"],
        "c_written": [r"SD makes almost all of the shortfall", r"2\\Phi\(z s ?/ ?\\sigma\)"],
        "d_written": [r"zero-forcing", r"mode-seeking", r"mass-covering", r"posterior is cut off",
                      r"worse by the other.s measure"],
    },
    "vi_two_stars": {
        "a_written": [r"only the diagonal of the precision", r"trade off almost one for one"],
        "b_written": [r"lower bound on the KL", r"ELBO alone has no scale"],
        "c_written": [r"piled up near", r"stationary (point|value)"],
    },
}


def said(pattern, text):
    """Whether `text` says `pattern`, whatever its line breaks."""
    return re.search(pattern, " ".join(text.split()), re.I)


def reachable(assignment):
    """What a student can read: the release's cells (visible tests, their messages and docstrings), the outputs
    the notebook prints when run (the source's), help() of every module of the engine, and the README (the
    installed package's description, `importlib.metadata.metadata("course")`)."""
    release, source = (read(ROOT / part / notebook(assignment)) for part in ("release", "source"))
    texts = {f"release cell {i}": c.source for i, c in enumerate(release.cells)}
    for i, cell in enumerate(source.cells):
        for out in cell.get("outputs", []):
            texts[f"output of source cell {i}"] = "".join(out.get("text", "")) + "".join(
                out.get("data", {}).get("text/plain", ""))
    modules = ["course"] + [f"course.{m.name}" for m in pkgutil.iter_modules(course.__path__)]
    for name in modules:
        texts[f"help({name})"] = pydoc.render_doc(importlib.import_module(name), renderer=pydoc.plaintext)
    texts["README.md"] = (ROOT / "README.md").read_text()
    return texts


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nothing_a_student_can_reach_answers_a_written_question(assignment):
    texts = reachable(assignment)
    found = [(gid, pattern, where) for gid, patterns in ANSWERS[assignment].items() for pattern in patterns
             for where, text in texts.items() if said(pattern, text)]
    assert not found, f"{assignment}: answers to written questions a student can read: {found}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_give_away_patterns_find_the_model_answers(assignment):
    """Each pattern above finds its own model answer in the source: a pattern that matches nothing checks nothing."""
    source = read(ROOT / "source" / notebook(assignment))
    answers = cells_by_id(source)
    assert set(ANSWERS[assignment]) == {c.metadata.nbgrader.grade_id for _, c in written_answers(source)}
    for gid, patterns in ANSWERS[assignment].items():
        for pattern in patterns:
            assert said(pattern, answers[gid].source), f"{gid}'s model answer says {pattern!r}"
