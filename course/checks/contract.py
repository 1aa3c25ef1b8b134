"""What a probe must send back, stated by each check and enforced by the trusted side before judging.

The probe runs in the student's kernel, so its result is data the student could have chosen. Each
check returns from ``result(**kw)`` the exact shape of a genuine result: which keys, how many cases,
which types. ``validate`` walks the decoded result against it and names the first difference, so a
judge only ever sees a result of the right shape (and can ``zip(..., strict=True)`` its cases).

    Record(results=Cases(Returned(), n), kernels=ListOf(Str()))

Leaves: ``Value()`` (anything ``to_plain`` can produce: the student's own answer, judged on its merits),
``Tensor()``, ``Array()``, ``Int()``, ``Float()``, ``Bool()``, ``Str()``, ``Nullable(spec)``.
"""
from __future__ import annotations

import math

import numpy as np

MAX_ELEMENTS = 2**24        # numbers in one array
MAX_ITEMS = 100_000         # items in one list / keys in one dict
MAX_STR = 100_000           # characters in one string
MAX_DEPTH = 24
TENSOR_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
                 "uint8", "bool", "complex64", "complex128"}
_NUMERIC = "biufc"


class Mismatch(ValueError):
    """The result does not have the shape the check asked for."""


def _where(path: str) -> str:
    return path or "the result"


class Spec:
    def check(self, value, path: str, depth: int) -> None:
        raise NotImplementedError

    def validate(self, value) -> str | None:
        """None when ``value`` has this shape, else what is wrong (one line)."""
        try:
            self.check(value, "", 0)
        except Mismatch as exc:
            return str(exc)
        except RecursionError:
            return "the result is nested too deeply"
        except (TypeError, ValueError, AttributeError) as exc:  # a value no genuine probe makes
            return f"the result holds something unexpected ({type(exc).__name__})"
        return None


def _type(value) -> str:
    if isinstance(value, dict) and value.get("__tensor__") is True:
        return "a tensor"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"{type(value).__name__} {str(value)[:40]!r}" if not isinstance(value, (dict, list)) else \
        f"a {type(value).__name__} of {len(value)}"


def _array(value, path, kinds=_NUMERIC, ndim=None):
    if not isinstance(value, np.ndarray):
        raise Mismatch(f"{_where(path)}: expected an array, got {_type(value)}")
    if value.dtype.kind not in kinds or value.dtype.hasobject:
        raise Mismatch(f"{_where(path)}: arrays of dtype {value.dtype} are not accepted")
    if value.size > MAX_ELEMENTS:
        raise Mismatch(f"{_where(path)}: an array of {value.size} numbers is far larger than any answer")
    if ndim is not None and value.ndim != ndim:
        raise Mismatch(f"{_where(path)}: expected {ndim} dimensions, got shape {value.shape}")


def _tensor(value, path):
    if not (isinstance(value, dict) and value.get("__tensor__") is True):
        raise Mismatch(f"{_where(path)}: expected a tensor record, got {_type(value)}")
    if set(value) != {"__tensor__", "dtype", "requires_grad", "data"}:
        raise Mismatch(f"{_where(path)}: a tensor record has the keys __tensor__, dtype, requires_grad, data")
    if not isinstance(value["dtype"], str) or value["dtype"] not in TENSOR_DTYPES:
        raise Mismatch(f"{_where(path)}: unknown tensor dtype {str(value['dtype'])[:40]!r}")
    if not isinstance(value["requires_grad"], bool):
        raise Mismatch(f"{_where(path)}.requires_grad: expected True or False")
    _array(value["data"], f"{path}.data")


class Value(Spec):
    """Anything the student's code may have returned, as ``to_plain`` encodes it; only its form is
    checked here (the judge decides whether it is right)."""

    def check(self, value, path, depth):
        if depth > MAX_DEPTH:
            raise Mismatch(f"{_where(path)}: nested too deeply")
        if value is None or isinstance(value, (bool, int)):
            return
        if isinstance(value, float):
            return
        if isinstance(value, str):
            if len(value) > MAX_STR:
                raise Mismatch(f"{_where(path)}: a string of {len(value)} characters")
            return
        if isinstance(value, np.ndarray):
            _array(value, path, kinds=_NUMERIC + "U")
            return
        if isinstance(value, list):
            if len(value) > MAX_ITEMS:
                raise Mismatch(f"{_where(path)}: a list of {len(value)} items")
            for i, item in enumerate(value):
                self.check(item, f"{path}[{i}]", depth + 1)
            return
        if isinstance(value, dict):
            if "__tensor__" in value:
                _tensor(value, path)
                return
            if "__type__" in value:
                if set(value) != {"__type__", "repr"} or not all(isinstance(v, str) for v in value.values()):
                    raise Mismatch(f"{_where(path)}: a malformed object record")
                return
            if len(value) > MAX_ITEMS:
                raise Mismatch(f"{_where(path)}: a dict of {len(value)} keys")
            for key, item in value.items():
                if not isinstance(key, str):
                    raise Mismatch(f"{_where(path)}: dict keys must be strings")
                self.check(item, f"{path}.{key}", depth + 1)
            return
        raise Mismatch(f"{_where(path)}: {type(value).__name__} is not plain data")


class Tensor(Spec):
    def check(self, value, path, depth):
        _tensor(value, path)


class Array(Spec):
    def __init__(self, kinds: str = _NUMERIC, ndim: int | None = None, shape: tuple | None = None):
        self.kinds, self.ndim, self.shape = kinds, ndim, shape

    def check(self, value, path, depth):
        _array(value, path, self.kinds, self.ndim)
        if self.shape is not None and tuple(value.shape) != tuple(self.shape):
            raise Mismatch(f"{_where(path)}: expected shape {tuple(self.shape)}, got {value.shape}")


class Int(Spec):
    def __init__(self, low: int | None = None, high: int | None = None):
        self.low, self.high = low, high

    def check(self, value, path, depth):
        if not isinstance(value, int) or isinstance(value, bool):
            raise Mismatch(f"{_where(path)}: expected an int, got {_type(value)}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise Mismatch(f"{_where(path)}: {value} is outside [{self.low}, {self.high}]")


class Float(Spec):
    """A number (an int is accepted too). ``finite`` refuses NaN and infinities."""

    def __init__(self, finite: bool = False):
        self.finite = finite

    def check(self, value, path, depth):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise Mismatch(f"{_where(path)}: expected a number, got {_type(value)}")
        if self.finite and not math.isfinite(value):
            raise Mismatch(f"{_where(path)}: expected a finite number, got {value}")


class Bool(Spec):
    def check(self, value, path, depth):
        if not isinstance(value, bool):
            raise Mismatch(f"{_where(path)}: expected True or False, got {_type(value)}")


class Str(Spec):
    def __init__(self, max_len: int = 2000):
        self.max_len = max_len

    def check(self, value, path, depth):
        if not isinstance(value, str):
            raise Mismatch(f"{_where(path)}: expected a string, got {_type(value)}")
        if len(value) > self.max_len:
            raise Mismatch(f"{_where(path)}: a string of {len(value)} characters")


class Nullable(Spec):
    def __init__(self, spec: Spec):
        self.spec = spec

    def check(self, value, path, depth):
        if value is not None:
            self.spec.check(value, path, depth)


class ListOf(Spec):
    """A list of ``item``: exactly ``n`` long when ``n`` is given (one entry per case), else at most
    ``max_len``."""

    def __init__(self, item: Spec, n: int | None = None, max_len: int = MAX_ITEMS):
        self.item, self.n, self.max_len = item, n, max_len

    def check(self, value, path, depth):
        if not isinstance(value, list):
            raise Mismatch(f"{_where(path)}: expected a list, got {_type(value)}")
        if self.n is not None and len(value) != self.n:
            raise Mismatch(f"{_where(path)}: {len(value)} entries came back for {self.n} cases")
        if len(value) > self.max_len:
            raise Mismatch(f"{_where(path)}: {len(value)} entries, at most {self.max_len} expected")
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]", depth + 1)


class PerCase(Spec):
    """A list with exactly one entry per case, entry i of the shape ``specs[i]`` (cases whose entries
    differ, e.g. loss curves of different lengths)."""

    def __init__(self, specs):
        self.specs = list(specs)

    def check(self, value, path, depth):
        if not isinstance(value, list):
            raise Mismatch(f"{_where(path)}: expected a list, got {_type(value)}")
        if len(value) != len(self.specs):
            raise Mismatch(f"{_where(path)}: {len(value)} entries came back for {len(self.specs)} cases")
        for i, (item, spec) in enumerate(zip(value, self.specs, strict=True)):
            spec.check(item, f"{path}[{i}]", depth + 1)


def Cases(item: Spec, n: int) -> ListOf:  # noqa: N802  (reads as a type in a spec)
    """One entry per case the check asked for."""
    return ListOf(item, n=n)


class Record(Spec):
    """A dict with exactly these keys (``optional`` ones may be missing)."""

    def __init__(self, fields: dict | None = None, optional: dict | None = None, **kwargs):
        self.fields = dict(fields or {}, **kwargs)
        self.optional = dict(optional or {})

    def check(self, value, path, depth):
        if not isinstance(value, dict) or value.get("__tensor__") is True:
            raise Mismatch(f"{_where(path)}: expected a record with {sorted(self.fields)}, got {_type(value)}")
        missing = sorted(set(self.fields) - set(value))
        extra = sorted(set(value) - set(self.fields) - set(self.optional))
        if missing:
            raise Mismatch(f"{_where(path)}: {', '.join(missing)} missing")
        if extra:
            raise Mismatch(f"{_where(path)}: unexpected {', '.join(map(str, extra))[:80]}")
        for key, spec in {**self.fields, **self.optional}.items():
            if key in value:
                spec.check(value[key], f"{path}.{key}" if path else key, depth + 1)


class OneOf(Spec):
    def __init__(self, *specs: Spec):
        self.specs = specs

    def check(self, value, path, depth):
        problems = []
        for spec in self.specs:
            try:
                spec.check(value, path, depth)
                return
            except Mismatch as exc:
                problems.append(str(exc))
        raise Mismatch(" / ".join(problems)[:300])


def Returned(value: Spec | None = None, error_key: str = "error") -> OneOf:  # noqa: N802
    """What ``core.capture`` records for one call: ``{"value": ...}`` or ``{"error": "Type: msg"}``."""
    return OneOf(Record(value=value or Value()), Record({error_key: Str()}))
