import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in CI
sys.path.insert(0, str(Path(__file__).parent))  # `import harness`
