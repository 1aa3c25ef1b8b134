"""The course's own rnn_cell and rnn_forward, used ONLY by the demonstrations after an exercise when the
student's answer does not pass its check yet (``course.practice.working``). An answer that reaches this module (or a
name made with practice.working) gets no credit: Check.own_work in course/checks/core.py."""
from __future__ import annotations

import torch


def rnn_cell(x_t, h_prev, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    pre = x_t @ W_ih.T + h_prev @ W_hh.T
    for b in (b_ih, b_hh):
        if b is not None:
            pre = pre + b
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def rnn_forward(rnn, x, h0=None):
    if rnn.batch_first:
        x = x.transpose(0, 1)
    if h0 is None:
        h0 = x.new_zeros(rnn.num_layers, x.shape[1], rnn.hidden_size)
    finals = []
    for k in range(rnn.num_layers):
        weights = [getattr(rnn, f"{name}_l{k}", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h, steps = h0[k], []
        for x_t in x:
            h = rnn_cell(x_t, h, *weights, nonlinearity=rnn.nonlinearity)
            steps.append(h)
        x = torch.stack(steps)
        finals.append(h)
    return (x.transpose(0, 1) if rnn.batch_first else x), torch.stack(finals)
