import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # no display in CI
sys.path.insert(0, str(Path(__file__).parent))  # `import harness`

# nbval runs the notebooks in source/; notebooks kept here are test fixtures, never run as tests.
collect_ignore_glob = ["**/*.ipynb", "*.ipynb"]


@pytest.fixture(scope="session")
def source_run(tmp_path_factory):
    """Run each source notebook (solutions, hidden tests) once per session, recording every check
    call: ``source_run("03")`` is the folder with the probe results and ``executed.ipynb``."""
    from forgery import record

    root, done = tmp_path_factory.mktemp("source_runs"), {}

    def run(number: str) -> Path:
        if number not in done:
            done[number] = record(number, root)
        return done[number]
    return run


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: one thread is fastest (every notebook sets it too), and fair to whatever else runs.
    A test module that trains them says ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
