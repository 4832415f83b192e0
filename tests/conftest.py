import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for benchmarks.lab_formulation, the plain reference implementation

import course  # noqa: E402


@pytest.fixture(scope="session")
def data():
    """The lab's data set: seed 0, n = 16."""
    return course.simulate()


@pytest.fixture(scope="session")
def grid(data):
    return course.grid_posterior(data)
