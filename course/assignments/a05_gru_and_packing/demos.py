"""Small demonstrations of assignment 05 that take the student's function, and the keys of its practice
questions (PRACTICE).

    demos.compare_gru_cell(gru_cell)          # "try it": nn.GRUCell vs your gru_cell
    demos.compare_gru_forward(gru_forward)    # nn.GRU (2 layers, batch_first) vs your gru_forward
    demos.compare_lstm_cell(lstm_cell)        # nn.LSTMCell vs your lstm_cell

The comparisons print, and never raise: an unanswered exercise says so, and an error in your code is
shown as its traceback (your code's lines only), so the notebook reads on. The graded check under each
one names the mistake.
"""
from __future__ import annotations

import sys
import traceback

import torch
from torch import nn


class _Failed:
    """What ``_attempt`` returns when the student's function did not return."""


def _attempt(fn, name, *args):
    try:
        with torch.no_grad():
            return fn(*args)
    except NotImplementedError:
        print(f"{name}: not answered yet (it still raises NotImplementedError).")
    except Exception as exc:  # the student's bug: show where it is, on stdout, and read on
        print(f"{name} raised {type(exc).__name__}:")
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next, file=sys.stdout, limit=-4)
    return _Failed


def _compare(name, mine, want):
    if not isinstance(mine, torch.Tensor):
        return f"{name} should be a tensor, got {type(mine).__name__}."
    if mine.shape != want.shape:
        return f"{name} has shape {tuple(mine.shape)}, PyTorch's {tuple(want.shape)}."
    if torch.allclose(mine.to(want.dtype), want, atol=1e-6):
        return f"{name}: equal ✓"
    gap = (mine.to(want.dtype) - want).abs().max().item()
    return f"{name}: differs by up to {gap:.3g} ✗"


def compare_gru_cell(fn, seed=0):
    """nn.GRUCell(4, 3) and ``fn`` on the same batch of 2, with the cell's own weights."""
    torch.manual_seed(seed)
    cell = nn.GRUCell(4, 3)
    x_t, h_prev = torch.randn(2, 4), torch.randn(2, 3).tanh()
    with torch.no_grad():
        want = cell(x_t, h_prev)
    print("nn.GRUCell:", want)
    mine = _attempt(fn, "gru_cell", x_t, h_prev, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    if mine is not _Failed:
        print("gru_cell:  ", mine)
        print(_compare("h_t", mine, want))


def compare_gru_forward(fn, seed=0):
    """nn.GRU(4, 3, num_layers=2, batch_first=True) and ``fn`` on a batch of 2 sequences of 6 steps."""
    torch.manual_seed(seed)
    net = nn.GRU(4, 3, num_layers=2, batch_first=True)
    x = torch.randn(2, 6, 4)
    with torch.no_grad():
        output, h_n = net(x)
    print(f"nn.GRU: output {tuple(output.shape)}, h_n {tuple(h_n.shape)}")
    mine = _attempt(fn, "gru_forward", net, x)
    if mine is _Failed:
        return
    if not (isinstance(mine, (tuple, list)) and len(mine) == 2):
        print(f"gru_forward should return the pair (output, h_n), got {type(mine).__name__}.")
        return
    print(_compare("output", mine[0], output))
    print(_compare("h_n", mine[1], h_n))


def compare_lstm_cell(fn, seed=0):
    """nn.LSTMCell(4, 3) and ``fn`` on the same batch of 2, with the cell's own weights."""
    torch.manual_seed(seed)
    cell = nn.LSTMCell(4, 3)
    x_t, h, c = torch.randn(2, 4), torch.randn(2, 3).tanh(), torch.randn(2, 3)
    with torch.no_grad():
        want_h, want_c = cell(x_t, (h, c))
    print("nn.LSTMCell h:", want_h)
    mine = _attempt(fn, "lstm_cell", x_t, (h, c), cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    if mine is _Failed:
        return
    if not (isinstance(mine, (tuple, list)) and len(mine) == 2):
        print(f"lstm_cell should return the pair (h_t, c_t), got {type(mine).__name__}.")
        return
    print("lstm_cell h:  ", mine[0])
    print(_compare("h_t", mine[0], want_h))
    print(_compare("c_t", mine[1], want_c))


# The notebook's practice questions (never graded; the graded keys stay in the hidden tests):
# name -> (key, why each option is or is not right), for course.practice.quiz(answer, key, why).
PRACTICE = {
    "p1": ("D", {
        "A": "by position the first size is input_size: this GRU reads 32 features and keeps 12.",
        "B": "the keywords swap the sizes: it reads 32 features and keeps a state of 12.",
        "C": "hidden_size has no default: nn.GRU(12) raises a TypeError.",
        "D": "by position the sizes are input_size, then hidden_size.",
    }),
    "p2": ("B", {
        "A": "without batch_first nothing is transposed: time stays first, (seq_len, batch, ·).",
        "B": "time-major in, time-major out: (seq_len 5, batch 10, hidden_size 4).",
        "C": "each step's 8 input features become a hidden vector of 4 numbers.",
        "D": "the default layout is time first, and only the last dimension (8 = input_size) is checked.",
    }),
    "p3": ("D", {
        "A": "nn.GRU takes one tensor (or a PackedSequence), not a list of tensors of different lengths.",
        "B": "cutting every utterance to the shortest length throws away most frames of the long ones.",
        "C": "output[:, -1] of a right-padded batch is the state after the padding for every shorter "
             "utterance: the rest of this part shows what that costs.",
        "D": "packing stores only the real steps, and h_n holds each utterance's state after its own last "
             "frame.",
    }),
}
