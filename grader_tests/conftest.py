import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in CI
sys.path.insert(0, str(Path(__file__).parent))  # `import harness`

# nbval runs the notebooks in source/; notebooks kept here are test fixtures, never run as tests.
collect_ignore_glob = ["**/*.ipynb", "*.ipynb"]
