"""Issue #10's registry-wide forgery test: every check call of every source notebook (visible and
hidden tests), recorded from a real run of the solution, then a battery of forged results judged by
the trusted side. A forged result must never pass (see forgery.py for the battery)."""
from pathlib import Path

import pytest

from forgery import forged_passes, load

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.name.split("_")[0] for p in (ROOT / "source").iterdir() if p.is_dir())


@pytest.mark.slow
@pytest.mark.parametrize("number", ASSIGNMENTS)
def test_no_forged_result_passes(number, source_run):
    records = load(source_run(number))
    calls, judged, passes = forged_passes(records)
    assert calls >= 4, f"only {calls} genuine check calls passed in the solution of {number}"
    print(f"{number}: {calls} genuine check calls, {judged} forgeries judged, {len(passes)} passed")
    assert passes == [], f"{len(passes)} of {judged} forged results passed:\n" + "\n".join(passes[:40])
