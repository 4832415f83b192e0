"""nbgrader configuration for this course directory (source/, release/, submitted/, autograded/, feedback/)."""
import importlib.util
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "vi-stars"
# The assignments in the order students meet them; the first is the one every command takes when none is named.
# Any other folder of source/ holding a notebook is an assignment too, after these (grading.assignments).
c.Course.assignments = ["vi_stars", "vi_beyond", "vi_two_stars"]
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The gradebook holds the full source of every hidden test: it is git-ignored and never released.
# timeout: parallel graders (make grade JOBS=N) wait for each other's short writes instead of failing.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db") + "?timeout=60"

# The whole notebook runs in about 50 s on 2 cores; its slowest cell (exercises 9-10) takes about 25 s.
c.Execute.timeout = 120
c.Autograde.create_student = True
# A test cell a student deleted, or whose metadata they stripped, is put back and graded anyway.
c.OverwriteCells.add_missing_cells = True

# Test cells judged outside the student's kernel (grading.judge: a test cell imports everything it uses;
# its other names are the notebook's, read from the kernel as data); grading that always finishes (a dead
# or unresponsive kernel stops one notebook, not the batch); feedback that shows hidden tests only by
# their verdict. `make grade` adds the sandbox and parallelism.
c.Autograde.autograde_preprocessors = [
    "grading.execute.GuardedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    # After the scores are saved: a note below each cell of the student's whose code uses the engine's own
    # references or hides a line off to the right (the formgrader shows it beside the code).
    "grading.delegation.FlagDelegation",
    # Last: what the formgrader renders from autograded/ holds no live markup.
    "grading.sanitize.SanitizeStudentMarkup",
]
# Each exercise's declared references (grading.references): per assignment and answer cell, the names of the engine
# that compute that exercise's answer. The public ones are there because the notebook's own cells use them; a student's
# cell that reaches one, by any route a reader can see, gets a note naming the exercise (FlagDelegation, the report).
# Checked when grading starts: an unknown assignment, grade_id or name stops it with an error naming the entry.
c.FlagDelegation.references = {
    "vi_stars": {
        # the gradient of the lab's -ELBO: the engine's own gradient (the hidden test's reference), or autograd
        # through its public -ELBO, which the notebook's loop calls
        "ex6_answer": ["vi.neg_elbo_grad", "neg_elbo"],
        # the three sums of the -ELBO: the hidden test's log-likelihood (public, for vi_beyond) and the -ELBO itself
        "ex8_answer": ["StarLikelihood", "neg_elbo"],
    },
    "vi_beyond": {
        "a1_answer": ["evidence.log_evidence"],  # log p(x) from a grid: the hidden test's reference
        "b1_answer": ["gradients.score_function_gradient", "gradient_draws"],  # the score-function estimator
        "c1_answer": ["coverage.coverage", "coverage.normal_interval"],  # the fraction inside Normal intervals
        "d2_answer": ["vi.q_distribution"],  # the shifted LogNormal q, whose log_prob is the answer
    },
    "vi_two_stars": {
        "a1_answer": ["TwoStarLogJoint"],  # the log joint of two stars: public, for the notebook's fits and weights
        "b1_answer": ["GaussianQ.entropy"],  # H[q] from the Cholesky factor: a method of the public q
        "b2_answer": ["fit_gaussian_vi"],  # full-rank VI by the reparameterisation trick: public, section (a) fits with it
        "c1_answer": ["diagnostics.iw_bound"],  # the importance-weighted bound: the hidden test's reference
    },
}

c.GenerateFeedback.preprocessors = [
    # First: the student's notebook is made inert as read; what follows adds only the instructor's grades and comments.
    "grading.sanitize.SanitizeStudentMarkup",
    "nbgrader.preprocessors.GetGrades",
    "grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The formgrader's manual grading page: nbgrader's `formgrade` template, extended (grading/templates/formgrade_rubric)
# with each written answer's model answer and rubric from source/ below it, and code that wraps. Its base template is
# found in nbgrader's template folder, also put on the search path so that it can be extended by name.
# `generate_feedback` reads the same HTMLExporter settings: it keeps nbgrader's `feedback` template, for the students.
NBGRADER_TEMPLATES = os.path.join(importlib.util.find_spec("nbgrader").submodule_search_locations[0],
                                  "server_extensions", "formgrader", "templates")
c.HTMLExporter.template_name = "formgrade_rubric"
c.HTMLExporter.extra_template_basedirs = [os.path.join(c.CourseDirectory.root, "grading", "templates"),
                                          NBGRADER_TEMPLATES]
c.HTMLExporter.extra_template_paths = [NBGRADER_TEMPLATES]
c.GenerateFeedback.HTMLExporter.template_name = "feedback"
