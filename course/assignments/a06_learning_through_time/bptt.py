"""Part A's provided forward pass: a one-layer tanh RNN that keeps what the backward pass needs.

``rnn_forward_cached(x, h0, W_ih, W_hh, b_ih, b_hh, batch_first)`` computes exactly what
``nn.RNN(input_size, hidden_size)`` computes (one layer, tanh) and returns ``(output, cache)``. The
cache holds the time-major input and every hidden state, h_0 to h_T, so that ``rnn_backward`` can walk
back through time without recomputing anything. Nothing here records an autograd graph: the backward
pass is the student's.
"""
from __future__ import annotations

import torch


def rnn_forward_cached(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, batch_first=False):
    """(output, cache) of a one-layer tanh RNN; output is laid out like x (batch_first or not)."""
    with torch.no_grad():
        seq = x.transpose(0, 1) if batch_first else x          # (seq_len, batch, input_size)
        h = h0
        states = [h0]
        for t in range(seq.shape[0]):
            pre = seq[t] @ W_ih.T + h @ W_hh.T
            if b_ih is not None:
                pre = pre + b_ih + b_hh
            h = torch.tanh(pre)
            states.append(h)
        h = torch.stack(states)                                  # (seq_len + 1, batch, hidden): h_0..h_T
        output = h[1:].transpose(0, 1) if batch_first else h[1:]
    cache = {"x": seq.clone(), "h": h.clone(), "W_ih": W_ih.detach().clone(), "W_hh": W_hh.detach().clone(),
             "b_ih": None if b_ih is None else b_ih.detach().clone(),
             "b_hh": None if b_hh is None else b_hh.detach().clone(), "batch_first": bool(batch_first)}
    return output.clone(), cache


def from_module(rnn, x, h0=None):
    """rnn_forward_cached with the parameters of a one-layer nn.RNN (tanh): the same (output, cache)."""
    if rnn.num_layers != 1 or rnn.nonlinearity != "tanh" or rnn.bidirectional:
        raise ValueError("rnn_forward_cached covers one layer, tanh, one direction")
    batch = x.shape[0] if rnn.batch_first else x.shape[1]
    if h0 is None:
        h0 = torch.zeros(batch, rnn.hidden_size, dtype=x.dtype)
    elif h0.dim() == 3:                                          # nn.RNN's (num_layers, batch, hidden)
        h0 = h0[0]
    return rnn_forward_cached(x, h0, rnn.weight_ih_l0, rnn.weight_hh_l0,
                              getattr(rnn, "bias_ih_l0", None), getattr(rnn, "bias_hh_l0", None),
                              batch_first=rnn.batch_first)


def backward_picture(steps=4):
    """The unrolled RNN with the backward pass drawn over it: each h_t gets d_output[t] from above and
    dh_next from step t+1 on its right, and sends da_t @ W_hh on to h_{t-1} on its left."""
    from ...lazy import patches, plt

    def arrow(start, end, colour, **kw):
        ax.add_patch(patches.FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                             color=colour, lw=kw.pop("lw", 1.5), **kw))

    fig, ax = plt.subplots(figsize=(2.4 * steps + 1.6, 3.6))
    red, grey = "#c0392b", "0.55"
    for t in range(steps):
        x = 1 + 2.4 * t
        ax.add_patch(patches.Rectangle((x, 1), 1.2, 1, fc="#cfe3f7", ec="#2f6db5", lw=1.5))
        ax.text(x + 0.6, 1.5, f"tanh\nstep {t}", ha="center", va="center", fontsize=8)
        ax.text(x + 0.6, 0.0, f"$x_{t}$", ha="center", fontsize=11)
        arrow((x + 0.45, 0.35), (x + 0.45, 1), grey)
        arrow((x + 0.75, 1), (x + 0.75, 0.35), red, linestyle="--")
        ax.text(x + 0.95, 0.55, f"$dx_{{{t}}}$", color=red, fontsize=9)
        ax.text(x + 0.6, 3.2, f"loss: d_output[{t}]", ha="center", fontsize=8, color=red)
        arrow((x + 0.45, 2), (x + 0.45, 2.9), grey)
        arrow((x + 0.75, 3.1), (x + 0.75, 2), red, linestyle="--")
        ax.text(x + 0.3, 2.4, f"$h_{{{t + 1}}}$", ha="right", fontsize=9, color=grey)
        arrow((x - 1.2, 1.35), (x, 1.35), grey)
        arrow((x, 1.7), (x - 1.2, 1.7), red, linestyle="--")
        ax.text(x - 0.6, 1.8, f"$da_{{{t}}} W_{{hh}}$", ha="center", fontsize=8, color=red)
        ax.text(x - 0.6, 1.05, f"$h_{{{t}}}$", ha="center", fontsize=9, color=grey)
    ax.text(1, -0.75, "grey: the forward pass (step t reads $x_t$ and $h_t$, writes $h_{t+1}$)\nred, dashed: "
            "the backward pass (the gradient on $h_{t+1}$ = d_output[t] + what step t+1 sends back)",
            fontsize=8.5)
    ax.set_title("Backpropagation through time: the gradient walks the unrolled loop right to left",
                 fontsize=10)
    ax.set_xlim(-0.6, 2.4 * steps + 1.2)
    ax.set_ylim(-1.0, 3.5)
    ax.axis("off")
    return fig
