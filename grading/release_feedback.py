"""Return feedback through nbgrader's exchange to every student who handed in through it.

    python -m grading.release_feedback --exchange DIR        (or: make release-feedback EXCHANGE=DIR)

`nbgrader release_feedback` finds a student's feedback by the secret their `nbgrader submit` left beside the
notebook (submission_secret.txt, kept by `make grade`) and stops at the first feedback folder without one:
one submission copied in by hand (a late one sent by e-mail, say) would keep the whole class from their
feedback. This releases the feedback of everyone who has the secret, and names the others, whose feedback is
in feedback/<student>/ to be handed over some other way.
"""
import argparse
import subprocess
import sys
from pathlib import Path

from grading import assignments
from grading.submissions import ASSIGNMENT, nbgrader, venv_env

NEEDED = ("timestamp.txt", "submission_secret.txt")  # what nbgrader's release_feedback reads for each student


def students_with_feedback(root, assignment=ASSIGNMENT):
    """({students whose feedback the exchange can return}, {student: why not}) from feedback/<student>/<assignment>/."""
    releasable, held = set(), {}
    for folder in sorted(Path(root, "feedback").glob(f"*/{assignment}")):
        student = folder.parent.name
        missing = [name for name in NEEDED if not (folder / name).is_file()]
        if not list(folder.glob("*.html")):
            held[student] = "no feedback page (not graded)"
        elif missing:
            held[student] = f"did not hand in through the exchange (no {' or '.join(missing)})"
        else:
            releasable.add(student)
    return releasable, held


def release(root, exchange, assignment=ASSIGNMENT):
    """Run nbgrader's release_feedback for every student it can serve; returns (exit code, report text)."""
    releasable, held = students_with_feedback(root, assignment)
    lines = [f"{assignment}: feedback released through {exchange} to {len(releasable)} students"]
    lines += [f"  {student}: not released: {why}; hand over feedback/{student}/{assignment}/ yourself"
              for student, why in held.items()]
    if not releasable:
        return 0, "\n".join(lines + ["  nothing to release"]) + "\n"
    if any("," in student for student in held):  # nbgrader's exclusion list is comma-separated
        return 1, "\n".join(lines + ["  cannot exclude a student id with a comma; rename that folder"]) + "\n"
    options = [f"--Exchange.root={exchange}"]
    if held:
        options.append(f"--CourseDirectory.student_id_exclude={','.join(held)}")
    run = subprocess.run(nbgrader("release_feedback", assignment, *options), cwd=root, env=venv_env(),
                         capture_output=True, text=True)
    if run.returncode != 0:
        lines[0] = f"{assignment}: release_feedback FAILED (exit {run.returncode}):\n{run.stderr[-3000:]}"
    return run.returncode, "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchange", required=True, help="nbgrader's exchange folder (Exchange.root)")
    parser.add_argument("--assignment", help="a folder of source/ (default: the course's first)")
    args = parser.parse_args(argv)
    try:
        args.assignment = assignments.check(args.assignment, Path.cwd(), "--assignment") if args.assignment \
            else assignments.first(Path.cwd())
    except ValueError as err:
        parser.error(str(err))
    if not Path(args.exchange).is_dir():
        parser.error(f"--exchange must be an existing folder (nbgrader's Exchange.root), got {args.exchange!r}")
    code, text = release(Path.cwd(), args.exchange, args.assignment)
    print(text, end="")
    sys.exit(code)


if __name__ == "__main__":
    main()
