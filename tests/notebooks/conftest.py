import pytest

from nbhelpers import REPO


@pytest.fixture(scope="session")
def grader_bin():
    exe = REPO / "target/debug/grader"
    assert exe.exists(), f"{exe} is missing: `make test` builds it before the notebook tests"
    return exe
