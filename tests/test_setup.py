"""The set-up files agree with each other and with the README."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def direct_pins():
    """The first block of requirements.txt: what the course uses directly."""
    block = ROOT.joinpath("requirements.txt").read_text().split("# --- pulled in")[0]
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", block, re.M))


def test_every_requirement_is_pinned_exactly():
    for line in ROOT.joinpath("requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][^\s]*", line), line
    pins = direct_pins()
    assert pins["torch"] == "2.13.0" and pins["nbgrader"] == "0.9.6" and pins["jupyterlab"] == "4.6.6"


def test_environment_yml_has_the_same_versions():
    env = yaml.safe_load(ROOT.joinpath("environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            conda.update(dict(d.split("==") for d in dep["pip"] if "==" in d))
        elif "=" in dep:
            name, version = dep.split("=")
            conda[name] = version
    assert conda.pop("python") == "3.11"
    assert conda == direct_pins()


def test_ci_runs_the_readmes_test_command():
    readme = ROOT.joinpath("README.md").read_text()
    command = re.search(r"```(?:bash|sh)?\n(make test)\n```", readme).group(1)
    ci = ROOT.joinpath(".ci/run").read_text()
    assert ci.rstrip().splitlines()[-1] == command
