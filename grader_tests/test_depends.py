"""Which cells grading re-runs (course.grading.depends.plan): when in doubt, a cell runs.

Each case is a tiny notebook: (kind, source) per code cell, and the cells that must be skipped. The
cells not listed must run. The equivalence on the real assignments (same scores with and without
skipping, every fixture) is in test_grading.py.
"""
import pytest

from course.grading.depends import plan

A, T, O = "answer", "test", "other"
SETUP = (O, "import torch\nfrom torch import nn\nfrom course import plots, checks")

CASES = {
    "a plot nobody reads is skipped": (
        [SETUP, (O, "plots.unrolled_rnn(steps=4);"), (A, "def f(x):\n    return x + 1"),
         (T, "checks.a02_rnn_cell(f, label='f')")], {1}),
    "a name the answer reads is kept, with what it reads": (
        [SETUP, (O, "n = 3"), (O, "scale = n * 2"), (O, "unused = 5"),
         (A, "def f(x):\n    return x * scale"), (T, "checks.c(f)")], {3}),
    "a cell that may change a needed object runs (method call, argument, attribute)": (
        [SETUP, (O, "model = nn.RNN(3, 4)"), (O, "model.train()"), (O, "fit(model)"),
         (O, "model.bias = None"), (O, "other = nn.GRU(3, 4)\nother.eval()"),
         (T, "checks.c(model)")], {5}),
    "a cell reaching a needed object through an alias runs": (
        [SETUP, (O, "model = nn.RNN(3, 4)"), (O, "layer = model"), (O, "layer.weight_ih_l0.data.zero_()"),
         (T, "checks.c(model)")], set()),
    "rebinding before any read makes older definitions dead": (
        [SETUP, (O, "model = nn.RNN(3, 4)\nmodel.train()"), (O, "model = nn.GRU(3, 4)"),
         (T, "checks.c(model)")], {1}),
    "a rebinding that reads the old value keeps it": (
        [SETUP, (O, "x = 1"), (O, "x = x + 1"), (T, "checks.c(x)")], set()),
    "calling a function may change the globals its body touches": (
        [SETUP, (O, "log = []"), (O, "def note(v):\n    log.append(v)"), (O, "note(3)"),
         (A, "def f():\n    return len(log)"), (T, "checks.c(f)")], set()),
    "calling a class or a library does not tie its results together": (
        [SETUP, (O, "a = nn.RNN(3, 4)"), (O, "b = nn.RNN(3, 4)\nb.train()"), (T, "checks.c(a)")], {2}),
    "library-wide state runs whenever anything after it runs": (
        [SETUP, (O, "torch.set_num_threads(1)"), (O, "torch.set_default_dtype(torch.float64)"),
         (O, "import warnings\nwarnings.filterwarnings('ignore')"), (O, "plots.thing()"),
         (A, "def f():\n    return 1"), (T, "checks.c(f)")], {4}),
    "a module attribute set by the notebook is library state": (
        [SETUP, (O, "torch.backends.cudnn.enabled = False"), (A, "def f():\n    return 1"),
         (T, "checks.c(f)")], set()),
    "a cell after the last graded cell is skipped": (
        [SETUP, (A, "def f():\n    return 1"), (T, "checks.c(f)"), (O, "torch.set_num_threads(2)"),
         (O, "print(f())")], {3, 4}),
    "answer cells always run, and so does what they read": (
        [SETUP, (O, "data = [1, 2]"), (O, "plots.show(data)"), (A, "total = sum(data)")], set()),
    "a function's default argument and decorator are read when it is defined": (
        [SETUP, (O, "k = 2"), (O, "def deco(g):\n    return g"),
         (A, "@deco\ndef f(x=k):\n    return x"), (T, "checks.c(f)")], set()),
    "a test cell's trusted source decides what it reads": (
        [SETUP, (O, "x_seq = torch.randn(4, 1, 3)"), (O, "y = 2"), (T, "checks.c(x_seq, label='x')")],
        {2}),
    "passing a function on does not change it; setting its attribute does": (
        [SETUP, (A, "def f():\n    return 1"), (O, "g = practice.working(f)\nplots.show(g())"),
         (O, "f.cache = {}"), (T, "checks.c(f)")], {2}),
    "a cell that may end or fork the kernel runs, and so does one calling a function that may": (
        [SETUP, (O, "import os\nos._exit(0)"), (O, "exit()"), (O, "if True:\n    raise SystemExit(3)"),
         (O, "from os import fork\nfork()"), (O, "def bye():\n    os.kill(os.getpid(), 9)"),
         (O, "def later():\n    bye()"), (O, "later()"), (O, "print(os.path.join('a', 'b'))"),
         (A, "def f():\n    return 1"), (T, "checks.c(f)")], {8}),
    "a cell that does not parse changes nothing": (
        [SETUP, (O, "x = = 1"), (A, "def f():\n    return 1"), (T, "checks.c(f)")], {1}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan(name):
    cells, skipped = CASES[name]
    got = plan(cells)
    assert not got.opaque
    assert set(got.skipped) == skipped, (name, got.why)
    assert got.run | set(got.skipped) == set(range(len(cells)))


@pytest.mark.parametrize("source, reason", [
    ("%timeit f()", "magic"), ("!ls", "shell"), ("exec('x = 1')", "exec"), ("g = globals()", "globals"),
    ("from math import *", "import *"), ("def f():\n    global x\n    x = 1", "global"),
    ("getattr(sys.modules['__main__'], 'x')", "sys"), ("setattr(thing, 'x', 1)", "setattr"),
])
def test_a_notebook_the_analysis_cannot_read_runs_whole(source, reason):
    """Names reached through exec, globals(), magics or a global statement are invisible to ast: the
    whole notebook runs."""
    got = plan([SETUP, (O, "plots.unrolled_rnn();"), (O, source), (A, "def f():\n    return 1"),
                (T, "checks.c(f)")])
    assert got.opaque and got.skipped == [], reason


def test_every_kept_cell_says_why():
    got = plan(CASES["a name the answer reads is kept, with what it reads"][0])
    assert got.why[4] == "answer" and got.why[5] == "test"
    assert got.why[2] == "cell 4 reads scale" and got.why[1] == "cell 2 reads n"
