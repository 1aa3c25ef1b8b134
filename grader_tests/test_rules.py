"""The trusted source rules (course/checks/rules.py): what counts as tampering, and what never does."""
from pathlib import Path

import nbformat
import pytest

from course.checks.rules import Program, tampering

from harness import strip_markers

ROOT = Path(__file__).resolve().parent.parent
SETUP = "import torch\nfrom torch import nn\nimport numpy as np\nfrom course import checks"

ATTACKS = {
    "registry": "from course.checks import core\nfor c in core.REGISTRY.values():\n    c.probe = lambda a, **k: {}",
    "class_patch": "from course.assignments.a02_rnn_from_scratch.checks import RNNForwardCheck\nRNNForwardCheck.probe = lambda *a, **k: {}",
    "checks_attribute": "checks.scratch_forward.judge = lambda *a, **k: []",
    "result_writer": "np.savez = lambda *a, **k: None",
    "json_patch": "import json\njson.dumps = lambda *a, **k: '{}'",
    "dynamic_getattr": "f = getattr(np, 'sa' + 'vez')",
    "exec": "exec('x = 1')",
    "eval": "y = eval('1 + 1')",
    "importlib": "import importlib\nm = importlib.import_module('course.checks.core')",
    "dunder_walk": "x = ().__class__.__bases__[0].__subclasses__()",
    "frames": "import sys\nf = sys._getframe(0)",
    "thread": "import threading\nthreading.Thread(target=print).start()",
    "ipython_hook": "get_ipython().input_transformers_post.append(lambda l: l)",
    "shell": "!ls /",
    "writefile": "%%writefile x.py\nprint(1)",
    "hidden_in_time_magic": "%time checks.REGISTRY.clear()",
    "fork": "import os\nos.fork()",
    "subprocess": "import subprocess\nsubprocess.run(['ls'])",
    "setattr_module": "setattr(torch, 'tanh', abs)",
    "tensor_eq": "torch.Tensor.__eq__ = lambda s, o: True",
    "assert_close": "import torch.testing\ntorch.testing.assert_close = lambda *a, **k: None",
    "open_for_writing": "open('x.npz', 'wb').write(b'')",
    "open_unknown_mode": "m = 'w'\nopen('x', m)",
    "builtins": "__builtins__.print = None",
    "globals": "globals()['rnn_cell'] = 1",
    "sys_modules": "import sys\nsys.modules['numpy'] = None",
    "pickle": "import pickle",
    "in_a_function": "def helper():\n    import course.grading.sealed as s\n    return s",
}
HONEST = {
    "timeit": "%timeit sum(range(10))",
    "time_cell": "%%time\nx = sum(range(10))",
    "matplotlib": "%matplotlib inline",
    "model_and_swap": "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                      "        self.rnn = nn.RNN(3, 4)\n    def forward(self, x):\n        return self.rnn(x)[0]\n"
                      "m = M()\nm.rnn = nn.GRU(3, 4)",
    "formatted_getattr": "w = [getattr(rnn, f'weight_ih_l{k}') for k in range(2)]",
    "read_a_file": "text = open('notes.txt').read()",
    "setattr_self": "class A:\n    def __init__(self):\n        setattr(self, 'x', 1)",
    "type_name": "print(type(x).__name__)",
    "own_eq": "class P:\n    def __eq__(self, other):\n        return True",
    "checks_call": "checks.a02_rnn_forward(rnn_forward, part='single')",
    "syntax_error": "def broken(:\n    pass",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_tampering_is_found(name):
    found = tampering(Program([(SETUP, False), (ATTACKS[name], True)]))
    assert found and all(f.startswith("cell 2, line ") for f in found), found


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_code_is_not_flagged(name):
    assert tampering(Program([(SETUP, False), (HONEST[name], True)])) == []


def test_locked_cells_are_not_the_students():
    assert tampering(Program([("import subprocess", False)])) == []


@pytest.mark.parametrize("path", sorted((ROOT / "source").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_no_solution_and_no_course_cell_is_flagged(path):
    """Every solution (and every locked cell, read as if a student had written it) is honest code."""
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        cells.append((strip_markers(cell.source), True))
    assert tampering(Program(cells)) == []


def test_reaches_follows_helpers_aliases_and_imports():
    from course.checks.rules import RNN_KERNELS
    cells = [(SETUP, False),
             ("R = nn.RNN\ndef helper(m, x):\n    return R(m.input_size, m.hidden_size)(x)", True),
             ("def rnn_forward(rnn, x, h0=None):\n    return helper(rnn, x)", True)]
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS)
    cells[1] = ("from torch.nn import RNN as Twin\ndef helper(m, x):\n    return Twin(3, 4)(x)", True)
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS)
    cells[1] = ("def helper(m, x):\n    return x @ m.weight_ih_l0.T", True)
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS) == []
    # a later cell that rebinds the helper is read too (the grader reads every definition)
    cells.append(("helper = lambda m, x: torch.rnn_tanh(x)", True))
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS)
    # annotations and isinstance only mention the class
    ok = [("def rnn_forward(rnn: nn.RNN, x):\n    assert isinstance(rnn, nn.RNN)\n    return x", True)]
    assert Program(ok).reaches("rnn_forward", RNN_KERNELS) == []


def test_one_import_statement_is_read_name_by_name():
    from course.checks.rules import RNN_KERNELS
    cells = [("from torch.nn import RNN, Linear", False),
             ("def rnn_forward(rnn, x, h0=None):\n    return Linear(3, 4)(x)", True)]
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS) == []
    cells[1] = ("def rnn_forward(rnn, x, h0=None):\n    return RNN(3, 4)(x)", True)
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS)


def test_a_local_that_shadows_a_notebook_name_is_not_that_name():
    """A scratch cell `rnn = nn.RNN(3, 5)` does not make rnn_forward's parameter `rnn` that layer."""
    from course.checks.rules import RNN_KERNELS
    cells = [(SETUP, False), ("rnn = nn.RNN(3, 5)\nx = torch.randn(2, 4, 3)\nout, h = rnn(x)", True),
             ("def rnn_forward(rnn, x, h0=None):\n    for k in range(rnn.num_layers):\n"
              "        W = getattr(rnn, f'weight_ih_l{k}')\n    return x @ W.T, None", True)]
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS, module_param=True) == []
    # but a global the function really reads is followed
    cells.append(("def rnn_forward(module, x, h0=None):\n    return rnn(x)", True))
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS, module_param=True)


@pytest.mark.parametrize("hide", ["    _ = [helper for helper in ()]\n", "    def unused(helper):\n        pass\n",
                                  "    f = lambda helper: 1\n"])
def test_a_nested_scope_does_not_hide_a_global_helper(hide):
    from course.checks.rules import RNN_KERNELS
    cells = [(SETUP, False), ("def helper(m, x):\n    return torch.rnn_tanh(x)", True),
             ("def rnn_forward(rnn, x, h0=None):\n" + hide + "    return helper(rnn, x)", True)]
    assert Program(cells).reaches("rnn_forward", RNN_KERNELS)


def test_a_parameter_named_like_a_kernel_is_not_the_kernel():
    from course.checks.rules import GRU_KERNELS
    cells = [("def gru_forward(gru, x, h0=None):\n    return x @ gru.weight_ih_l0.T", True)]
    assert Program(cells).reaches("gru_forward", GRU_KERNELS, module_param=True) == []


@pytest.mark.parametrize("code", ["c = checks\nR = getattr(c, 'REG' + 'ISTRY')", "f = print\nf(checks)",
                                  "def patch(m):\n    return m\npatch(checks)", "x = checks.REGISTRY",
                                  "import torch.testing as tt\nt2 = tt\nt2.assert_close = None"])
def test_the_checks_module_and_module_aliases(code):
    assert tampering(Program([(SETUP, False), (code, True)]))


def test_calling_a_check_in_a_students_own_cell_is_honest():
    code = "checks.a02_rnn_forward(rnn_forward, part='single')\nchecks.choice(q, label='q')"
    assert tampering(Program([(SETUP, False), (code, True)])) == []
    code = "names = ['weight_ih_l0', 'bias_ih_l0']\nparams = [getattr(rnn, n) for n in names if hasattr(rnn, n)]"
    assert tampering(Program([(SETUP, False), (code, True)])) == []


# ---- the course's stand-ins for stuck students ------------------------------------------------------
STAND_IN_SETUP = ("from course import checks, practice\n"
                  "from course.assignments.a03_sequence_classifier import reference, trace")
HONEST_FIT = "def fit(model, train_loader, val_loader, epochs=30, lr=1e-2):\n    return train(model)"


@pytest.mark.parametrize("answer_cell, extra", [
    ("fit = reference.fit", None),
    ("from course.assignments.a03_sequence_classifier.reference import fit", None),
    (HONEST_FIT.replace("return train(model)", "return reference.fit(model, train_loader, val_loader)"), None),
    (HONEST_FIT, "run_fit = practice.working('a03_fit', fit, reference.fit, seed=1)\nfit = run_fit"),
])
def test_an_answer_that_borrows_the_course_stand_in_gets_no_credit(answer_cell, extra):
    from course.checks import REGISTRY
    cells = [(STAND_IN_SETUP, False), (answer_cell, True)] + ([(extra, True)] if extra else [])
    found = REGISTRY["a03_fit"].scan(Program(cells), "fit")
    assert found and "the course's stand-in" in found[0], found


def test_own_code_next_to_the_stand_ins_is_not_blamed():
    from course.checks import REGISTRY
    demo = ("run_fit = practice.working('a03_fit', fit, reference.fit, seed=1)\n"
            "order_model = reference.SequenceClassifier(5, 8, 3)\nrun_fit(order_model, None, None)")
    cells = [(STAND_IN_SETUP, False), (HONEST_FIT, True), (demo, False)]
    assert REGISTRY["a03_fit"].scan(Program(cells), "fit") == []
    # the trained model comes from a locked demonstration; its cell checks the student's fit first
    assert REGISTRY["a03_accuracy"].scan(Program(cells), "order_model") == []


def test_an_assignments_checks_reached_through_a_module_alias_is_flagged():
    found = tampering(Program([("import course.assignments.a05_gru_and_packing as p\n"
                                "gru_cell = p.checks.gru_step", True)]))
    assert any("grader's internals" in f for f in found), found
