"""The course's own answers to assignment 06, for the demonstrations while an exercise is unfinished
(``practice.working`` hands them out with a note). A graded answer may not use them: the trusted scan
refuses any answer that reaches this module."""
from __future__ import annotations

import torch
from torch.nn import functional as F

from .text import CharRNN, generate, sample_next, train_chunk  # noqa: F401  (Part E's live with its training code)


def rnn_backward(d_output, cache):
    """Gradients of a one-layer tanh RNN (see bptt.rnn_forward_cached), walking back from t = T-1 to 0."""
    x, h = cache["x"], cache["h"]                       # (T, B, I), (T+1, B, H)
    W_ih, W_hh = cache["W_ih"], cache["W_hh"]
    dout = d_output.transpose(0, 1) if cache["batch_first"] else d_output
    dx = torch.zeros_like(x)
    dW_ih, dW_hh = torch.zeros_like(W_ih), torch.zeros_like(W_hh)
    db = torch.zeros(W_hh.shape[0], dtype=x.dtype)
    dh_next = torch.zeros_like(h[0])                    # what step t+1 sends back into h_t
    for t in reversed(range(x.shape[0])):
        dh = dout[t] + dh_next
        da = dh * (1 - h[t + 1] ** 2)                   # through tanh: 1 - tanh^2
        dx[t] = da @ W_ih
        dW_ih += da.T @ x[t]
        dW_hh += da.T @ h[t]
        db += da.sum(0)
        dh_next = da @ W_hh
    has_bias = cache["b_ih"] is not None
    return {"x": dx.transpose(0, 1) if cache["batch_first"] else dx, "h0": dh_next,
            "W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db.clone() if has_bias else None,
            "b_hh": db.clone() if has_bias else None}


def train_step(model, batch, optimizer, max_norm):
    """One clipped step: zero_grad → forward → loss → backward → clip → step. Returns (loss, norm)."""
    x, y = batch
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item(), float(norm)
