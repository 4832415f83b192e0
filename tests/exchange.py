"""Students who reach the course through nbgrader's own exchange, as the README's cycle describes.

The exchange is configured as nbgrader documents it for a shared machine: the instructor passes
`--Exchange.root` (the course's nbgrader_config.py names the course, `vi-stars`, and no exchange); each
student's ~/.jupyter/nbgrader_config.py names the exchange and the course, as a JupyterHub's
/etc/jupyter/nbgrader_config.py would. The students are not separate Unix users here, so each says who they
are (CourseDirectory.student_id); on a hub that is their login name.
"""
import subprocess
from concurrent.futures import ThreadPoolExecutor

from grading.submissions import ASSIGNMENT, nbgrader, venv_env

COURSE_ID = "vi-stars"  # nbgrader_config.py's CourseDirectory.course_id


def run(args, cwd, env, check=True):
    """Run a command as the person at cwd would; its output. check: fail the test, with the output, if it fails."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    output = f"{' '.join(map(str, args))} exited with {done.returncode}:\n{done.stdout[-20000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0 or not check, output
    return output


def student_env(home):
    """A student's environment: their own HOME (nbgrader's cache of submissions lives under it), no Jupyter
    folders of the instructor's."""
    env = {k: v for k, v in venv_env().items() if not k.startswith("JUPYTER")}
    env["HOME"] = str(home)
    return env


class Exchange:
    """A local exchange folder, the instructor's course beside it and a home folder per student."""

    def __init__(self, root, course, students):
        self.root, self.course, self.students = root / "exchange", course, list(students)
        self.root.mkdir(parents=True)
        self.homes = {s: root / "home" / s for s in self.students}
        for student, home in self.homes.items():
            (home / ".jupyter").mkdir(parents=True)
            (home / ".jupyter" / "nbgrader_config.py").write_text(
                f"c = get_config()\nc.Exchange.root = {str(self.root)!r}\n"
                f"c.CourseDirectory.course_id = {COURSE_ID!r}\nc.CourseDirectory.student_id = {student!r}\n")
        self.log = {}

    def instructor(self, command, *options, check=True):
        """`nbgrader <command> vi_stars <options> --Exchange.root=...` in the course folder, logged under the
        command's name."""
        self.log[command] = run(nbgrader(command, ASSIGNMENT, *options, f"--Exchange.root={self.root}"),
                                self.course, venv_env(), check)
        return self.log[command]

    def each_student(self, command, check=True):
        """`nbgrader <command> vi_stars` in every student's home at once, as people at their own machines."""
        def one(student):
            home = self.homes[student]
            return run(nbgrader(command, ASSIGNMENT), home, student_env(home), check)
        with ThreadPoolExecutor(max_workers=len(self.students)) as pool:
            self.log[command] = dict(zip(self.students, pool.map(one, self.students)))
        return self.log[command]

    def hand_in(self, write):
        """Release, fetch, answer (write(student, folder) fills in the fetched folder; returns what it earns),
        submit and collect; {student: what write returned} and {student: the notebook as fetched}."""
        self.instructor("release_assignment")
        self.each_student("fetch_assignment")
        fetched = {s: (home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text() for s, home in self.homes.items()}
        earned = {s: write(s, home / ASSIGNMENT) for s, home in self.homes.items()}
        self.each_student("submit")
        self.instructor("collect")
        return earned, fetched
