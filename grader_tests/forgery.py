"""Forged probe results: for every check call a source notebook makes (visible and hidden tests), the
genuine result is recorded from a real run of the notebook's solution, then a battery of forgeries is
judged by the trusted side (``Check.verdict``). None may pass.

    python -m grader_tests.forgery record 03 [DIR]   # run source/03_* once, keep the probe results
    python -m grader_tests.forgery check 03 [DIR]    # judge every forgery of those results

Recording wraps ``Check.__call__`` inside the kernel (a cell inserted first), so the kw saved are the
resolved ones (``seed=None`` already drawn) and the results are what the grader's wire carries.
"""
from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = Path("/tmp/course-probes")

RECORDER = '''
import json as _json, numpy as _np, os as _os
from course.checks import core as _core
_REC = {out!r}
_os.makedirs(_REC, exist_ok=True)
_orig_call = _core.Check.__call__
def _recording_call(self, answer, label="", **kw):
    kw = _core.resolve_seed(kw)
    outcome = _core.run_probe(self, answer, kw)
    header, arrays = _core.encode(outcome)
    got = _core.decode(header, arrays)
    if got.get("ok"):  # what the student sees (its numbers are read by the prose test)
        print(self.passed_line(got, kw, label))
    n = len(_os.listdir(_REC))
    meta = {{"check": self.name, "kw": kw, "label": label, "header": header,
             "answer": getattr(answer, "__name__", "")}}
    arrays["__meta__"] = _np.frombuffer(_json.dumps(meta).encode(), dtype=_np.uint8)
    with open(_os.path.join(_REC, "%04d.npz" % n), "wb") as fh:
        _np.savez(fh, **arrays)
    # judged later, by the test: recording must not depend on the check module being finished
_core.Check.__call__ = _recording_call
'''


def notebook_of(number: str) -> Path:
    matches = sorted((ROOT / "source").glob(f"{number}_*/*.ipynb"))
    if not matches:
        raise SystemExit(f"no source notebook for assignment {number}")
    return matches[0]


def record(number: str, out: Path, timeout: int = 600) -> Path:
    """Run the source notebook (solutions + hidden tests) with the recorder; return the folder."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell

    path = notebook_of(number)
    folder = out / number
    if folder.exists():
        for old in folder.glob("*.npz"):
            old.unlink()
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, new_code_cell(RECORDER.format(out=str(folder))))
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, folder / "executed.ipynb")  # its outputs: test_notebooks reads the prose's numbers
    return folder


def load(folder: Path) -> list[dict]:
    from course.checks.core import decode

    records = []
    for path in sorted(folder.glob("*.npz")):
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.array(data[k]) for k in data.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
        meta["outcome"] = decode(meta.pop("header"), arrays)
        meta["file"] = path.name
        records.append(meta)
    return records


# ---- the battery ---------------------------------------------------------------------------------
def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    numbers = (int, float)
    if (isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool)
            and not isinstance(b, bool) and not (math.isnan(a) or math.isnan(b))):
        return a == b  # 7 and 7.0 carry the same value: replacing one by the other forges nothing
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


LEAVES = {"empty string": "", "empty list": [], "None": None, "empty dict": {}, "True": True,
          "NaN": float("nan"), "a number": 7, "a string": "x"}


def _replace(root, path, value):
    if not path:
        return value
    out = copy.deepcopy(root)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _delete(root, path):
    out = copy.deepcopy(root)
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def _walk(value, path=(), depth=0):
    """Paths worth forging: every dict field, and the first and last item of every list."""
    yield path, value
    if depth > 6:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, path + (key,), depth + 1)
    elif isinstance(value, list) and value:
        for index in sorted({0, len(value) - 1}):
            yield from _walk(value[index], path + (index,), depth + 1)


def forgeries(got):
    """(description, forged result) pairs."""
    yield "{}", {}
    for name, leaf in LEAVES.items():
        yield f"the whole result = {name}", leaf
    for path, value in _walk(got):
        if not path:
            continue
        where = "/".join(map(str, path))
        for name, leaf in LEAVES.items():
            yield f"{where} = {name}", _replace(got, path, leaf)
        if isinstance(path[-1], str) or isinstance(value, list):
            pass
        if isinstance(path[-1], str):
            yield f"{where} removed", _delete(got, path)
        if isinstance(value, dict) and value.get("__tensor__") is not True:
            yield f"{where} + an extra key", _replace(got, path, dict(value, forged=1))
        if isinstance(value, list):
            if value:
                yield f"{where}: one case removed", _replace(got, path, value[:-1])
                yield f"{where}: first case removed", _replace(got, path, value[1:])
                yield f"{where}: one case more", _replace(got, path, value + value[-1:])
            yield f"{where}: a long list", _replace(got, path, (value or [0]) * 50)
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "fc" and value.size:
                yield f"{where} = NaN", _replace(got, path, np.full_like(value, np.nan))
            yield f"{where} = a string array", _replace(got, path, np.array(["x"] * max(value.size, 1)))
            yield f"{where} oversized", _replace(got, path, np.zeros(2**24 + 1, dtype=np.uint8))
            if value.ndim:
                yield f"{where} tiled", _replace(got, path, np.concatenate([value] * 3))
                yield f"{where} empty", _replace(got, path, value[:0])


def forged_passes(records) -> tuple[int, int, list[str]]:
    """(genuine calls judged, forgeries judged, descriptions of forgeries that passed)."""
    from course.checks import REGISTRY

    calls, judged, passes = 0, 0, []
    for rec in records:
        check, kw, outcome = REGISTRY[rec["check"]], rec["kw"], rec["outcome"]
        if not outcome.get("ok") or check.verdict(outcome, kw, rec["label"]):
            continue  # only results that pass genuinely are worth forging
        calls += 1
        seen = []
        for what, forged in forgeries(outcome["got"]):
            if same(forged, outcome["got"]) or any(same(forged, s) for s in seen[-3:]):
                continue
            seen.append(forged)
            judged += 1
            if not check.verdict({"ok": True, "got": forged}, kw, rec["label"]):
                passes.append(f"{rec['check']} ({rec['label']}, {rec['file']}): {what}")
    return calls, judged, passes


def main(argv):
    if len(argv) < 2 or argv[0] not in ("record", "check"):
        raise SystemExit(__doc__)
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_DIR
    if argv[0] == "record":
        folder = record(argv[1], out)
        print(f"recorded {len(list(folder.glob('*.npz')))} check calls in {folder}")
        return
    calls, judged, passes = forged_passes(load(out / argv[1]))
    print(f"{calls} genuine check calls, {judged} forgeries judged, {len(passes)} passed")
    for line in passes[:60]:
        print("  PASSED:", line)


if __name__ == "__main__":
    main(sys.argv[1:])
