"""Malicious and broken submissions of assignment 01, each with what it may and may not score.

A case starts from the honest solution (so every untouched cell must keep full marks), plants a
mistake in the cells it attacks (``lost``: must score 0 however the attack goes) and adds the attack.
``maybe``: cells after a destructive attack (kernel death, blanked cells) that may score 0 or full.
``raw``: replace the whole file by these bytes (invalid JSON).
"""
from __future__ import annotations

INIT_HIDDEN = {"test_init_hidden_uni", "test_init_hidden_bi", "test_init_hidden_runs"}
WRONG_INIT = """
def init_hidden(batch_size, hidden_size, num_layers=1, bidirectional=False):
    return torch.zeros(1, 1, 1)
"""
AFTER_SETUP = "setup"
ORDER = ["test_q_a1", "test_q_a2", "test_long_word_lengths", "test_shout_word_lengths", "test_q_b1",
         "test_fill_num_layers", "test_rnn_b3", "test_shape_c1", "test_shape_c2", "test_shape_c3",
         "test_shape_c4", "test_fill_hidden", "test_fill_call", "test_init_hidden_uni", "test_init_hidden_bi",
         "test_init_hidden_runs", "test_q_e1", "test_q_f1", "test_build_classifier", "test_q_g1",
         "test_error_g2", "test_error_g3", "test_shape_g4", "test_rnn_g5", "test_q_h1", "test_best_epoch"]


def after(grade_id):
    return set(ORDER[ORDER.index(grade_id) + 1:])


CASES = {
    "patch_assert_close": dict(insert={AFTER_SETUP: "import torch.testing\ntorch.testing.assert_close = lambda *a, **k: None"},
                               replace={"init_hidden": WRONG_INIT}, lost=INIT_HIDDEN),
    "patch_allclose": dict(insert={AFTER_SETUP: "torch.allclose = lambda *a, **k: True\nimport numpy\nnumpy.allclose = lambda *a, **k: True"},
                           replace={"fill_call": "output, hidden = torch.zeros(8, 5, 20), torch.ones(1, 5, 20)"},
                           lost={"test_fill_call"}),
    "patch_tensor_eq": dict(insert={AFTER_SETUP: "torch.Tensor.__eq__ = lambda s, o: True\ntorch.Tensor.__ne__ = lambda s, o: False"},
                            replace={"fill_hidden": "hidden = torch.ones(1, 5, 20)"}, lost={"test_fill_hidden"}),
    "torch_function_subclass": dict(insert={AFTER_SETUP: """
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func.__name__ in ("__eq__", "allclose", "equal"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
"""}, replace={"init_hidden": WRONG_INIT.replace("return torch.zeros(1, 1, 1)", "return torch.zeros(1, 1, 1).as_subclass(Liar)")},
        lost=INIT_HIDDEN),
    "always_equal_object": dict(insert={AFTER_SETUP: """
class Yes(str):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = str.__hash__
class AnyShape(tuple):
    def __eq__(self, other): return True
"""}, replace={"q_a1": 'q_a1 = Yes("A")', "shape_c1": "shape_c1 = AnyShape((1, 1, 1))"},
        lost={"test_q_a1", "test_shape_c1"}),
    "input_transformer_blanks": dict(insert={"test_rnn_b3": """
def _blank(lines):
    return ["pass\\n"]
get_ipython().input_transformers_post.append(_blank)
"""}, lost=after("test_rnn_b3")),
    "ast_transformer_rewrites": dict(insert={AFTER_SETUP: """
import ast
class Quiet(ast.NodeTransformer):
    def visit_Raise(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(Quiet())
"""}, replace={"q_a2": "raise NotImplementedError()", "best_epoch": "def best_epoch(v):\n    raise NotImplementedError()"},
        lost={"test_q_a2", "test_best_epoch"}),
    "custom_exc_swallows": dict(insert={AFTER_SETUP: "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"},
                                replace={"q_b1": 'q_b1 = "D"', "best_epoch": "def best_epoch(v):\n    return 0"},
                                lost={"test_q_b1", "test_best_epoch"}),
    "showtraceback_silenced": dict(insert={AFTER_SETUP: "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\nip._showtraceback = lambda *a, **k: None"},
                                   replace={"shape_c2": "shape_c2 = (2, 4, 3)"}, lost={"test_shape_c2"}),
    "deleted_test_cells": dict(delete=INIT_HIDDEN, replace={"init_hidden": WRONG_INIT}, lost=INIT_HIDDEN),
    "edited_test_cell": dict(edit={"test_best_epoch": "print('✓ best_epoch: all good')",
                                   "test_q_h1": "pass"},
                             replace={"best_epoch": "def best_epoch(v):\n    return 1", "q_h1": 'q_h1 = "A"'},
                             lost={"test_best_epoch", "test_q_h1"}),
    "duplicated_test_cells": dict(duplicate={"test_q_e1": 3}, replace={"q_e1": 'q_e1 = "A"'}, lost={"test_q_e1"}),
    "edited_metadata": dict(meta={"test_q_a1": {"points": 100}, "test_q_a2": {"grade": False},
                                  "q_f1": {"grade": True, "points": 50}},
                            replace={"q_a1": 'q_a1 = "C"', "q_a2": 'q_a2 = "A"'}, lost={"test_q_a1", "test_q_a2"}),
    "prints_fake_success": dict(replace={"build_classifier": """
def build_classifier(num_features, num_classes, hidden_size=16):
    print("✓ build_classifier: a working RNN + linear head on 4 different tasks.")
    return nn.RNN(10, hidden_size, batch_first=True), nn.Linear(hidden_size, num_classes)
"""}, insert={"test_build_classifier": "print('✓ all 28 tests passed')"}, lost={"test_build_classifier"}),
    "writes_fake_results": dict(replace={"best_epoch": """
def best_epoch(val_losses):
    import sys, os, json, threading, numpy as np
    frame = sys._getframe(1)
    paths = [c for f in (frame, frame.f_back) if f for c in f.f_code.co_consts if isinstance(c, str) and c.endswith('.npz')]
    def forge():
        for _ in range(200):
            for p in paths + [os.path.join(os.getcwd(), '.fake.npz')]:
                try:
                    np.savez(open(p, 'wb'), __meta__=np.frombuffer(json.dumps({'ok': True, 'got': {'results': []}}).encode(), dtype=np.uint8))
                except Exception:
                    pass
    threading.Thread(target=forge, daemon=True).start()
    return 0
"""}, lost={"test_best_epoch"}),
    "reads_hidden_tests": dict(insert={AFTER_SETUP: """
import glob, os
found = []
for pattern in ['../../../gradebook.db', '/work/main/gradebook.db', '/work/main/source/*/*.ipynb', '../../../source/*/*',
                os.path.expanduser('~/../**/gradebook.db')]:
    found += glob.glob(pattern, recursive=True)
leak = ' '.join(found)
"""}, replace={"q_g1": 'import re\nq_g1 = (re.findall(r"key=.(\\\\w)", leak) or ["A"])[0]\nerror_g2 = "RuntimeError"'}, lost={"test_q_g1"}),
    "writes_other_students": dict(insert={AFTER_SETUP: """
import glob, os
for pattern in ['../../*/*/*.ipynb', '../../../*/*/*/*.ipynb', '/work/main/gradebook.db', '../../../gradebook.db',
                '/tmp/*/course/gradebook.db']:
    for p in glob.glob(pattern):
        try:
            open(p, 'w').write('owned')
        except Exception:
            pass
"""}, replace={"q_a1": 'q_a1 = "A"'}, lost={"test_q_a1"}),
    "infinite_loop": dict(insert={"test_shape_c4": "while True:\n    pass"}, replace={"shape_c1": "shape_c1 = (7, 4, 3)"},
                          lost={"test_shape_c1"}),
    "sys_exit_midway": dict(insert={"test_fill_call": "import sys\nsys.exit(3)"}, replace={"q_a1": 'q_a1 = "D"'},
                            lost={"test_q_a1"}),
    "os_exit_midway": dict(insert={"test_fill_call": "import os\nos._exit(0)"}, replace={"q_a1": 'q_a1 = "D"'},
                           lost={"test_q_a1"} | after("test_fill_call")),
    "memory_bomb": dict(insert={"test_q_b1": "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))"},
                        replace={"q_a2": 'q_a2 = "B"'}, lost={"test_q_a2"}, maybe=after("test_q_b1")),
    "fork_bomb": dict(insert={"test_rnn_g5": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"},
                      replace={"q_e1": 'q_e1 = "C"'}, lost={"test_q_e1"}, maybe=after("test_rnn_g5")),
    "network_access": dict(insert={AFTER_SETUP: """
import socket, urllib.request
try:
    urllib.request.urlopen('https://pypi.org', timeout=3).read(10)
    net_answer = 'B'
except Exception:
    net_answer = 'X'
"""}, replace={"q_a1": "q_a1 = net_answer.replace('B', 'B')"}, lost={"test_q_a1"}),
    "huge_output": dict(insert={"test_shape_c4": "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)"},
                        replace={"shape_c3": "shape_c3 = (4, 2, 3)"}, lost={"test_shape_c3"}),
    "invalid_json": dict(raw=b'{"cells": [ this is not json', lost=set(ORDER)),
    "foreign_kernelspec": dict(kernelspec={"name": "evil", "display_name": "Evil", "language": "python"},
                               replace={"q_f1": 'q_f1 = "A"'}, lost={"test_q_f1"}),
    "patches_checks_registry": dict(insert={AFTER_SETUP: """
from course.checks import core
for check in core.REGISTRY.values():
    check.probe = lambda answer, **kw: {"answer": "D", "results": [], "type": "RNN"}
    check.judge = lambda got, **kw: []
"""}, replace={"init_hidden": WRONG_INIT, "q_a1": 'q_a1 = "A"'}, lost=INIT_HIDDEN | {"test_q_a1"}, maybe=set(ORDER)),
}
