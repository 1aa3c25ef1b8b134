"""Pictures the notebooks draw: tensor layouts, unrolled and stacked RNNs, training curves."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle

SAMPLE_COLOURS = plt.cm.tab10.colors


def _arrow(ax, start, end, **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=kw.pop("color", "0.3"), lw=kw.pop("lw", 1.4), **kw))


def tensor_layout(seq_len=4, batch=3, input_size=5, batch_first=False):
    """Draw an input tensor slice by slice, one colour per sequence in the batch.

    Time-major (batch_first=False): x[t] is a (batch, input_size) matrix, one per time step.
    Batch-first: x[b] is a (seq_len, input_size) matrix, one per sequence.
    """
    outer, inner = (batch, seq_len) if batch_first else (seq_len, batch)
    fig, ax = plt.subplots(figsize=(1.9 * outer + 1, 0.45 * inner + 1.6))
    for o in range(outer):
        x0 = o * (input_size + 2)
        for i in range(inner):
            sample = o if batch_first else i
            step = i if batch_first else o
            for f in range(input_size):
                ax.add_patch(Rectangle((x0 + f, inner - 1 - i), 1, 1, ec="white",
                                       fc=SAMPLE_COLOURS[sample % 10], alpha=0.35 + 0.6 * (step + 1) / seq_len))
            ax.text(x0 - 0.3, inner - 0.5 - i, f"t={step}" if batch_first else f"b={sample}",
                    ha="right", va="center", fontsize=8)
        ax.text(x0 + input_size / 2, inner + 0.4, f"x[{o}]", ha="center", fontsize=10, weight="bold")
        ax.text(x0 + input_size / 2, -0.6, ("sequence" if batch_first else "time step") + f" {o}",
                ha="center", fontsize=8)
    shape = (batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)
    names = "(batch, seq_len, input_size)" if batch_first else "(seq_len, batch, input_size)"
    ax.set_title(f"batch_first={batch_first}: shape {shape} = {names}\n"
                 "colour = which sequence, shade = later time step, columns = features", fontsize=9)
    ax.set_xlim(-1.5, outer * (input_size + 2))
    ax.set_ylim(-1, inner + 1)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def unrolled_rnn(steps=4, label="RNN"):
    """One RNN cell, unrolled over time: the same weights at every step, h carries the memory."""
    fig, ax = plt.subplots(figsize=(2.2 * steps + 1.5, 3))
    for t in range(steps):
        x = 1 + 2.2 * t
        ax.add_patch(Rectangle((x, 1), 1.2, 1, fc="#cfe3f7", ec="#2f6db5", lw=1.5))
        ax.text(x + 0.6, 1.5, label, ha="center", va="center", fontsize=9)
        ax.text(x + 0.6, 0.05, f"$x_{t + 1}$", ha="center", fontsize=12)
        _arrow(ax, (x + 0.6, 0.35), (x + 0.6, 1))
        ax.text(x + 0.6, 2.75, f"$h_{t + 1}$", ha="center", fontsize=12)
        _arrow(ax, (x + 0.6, 2), (x + 0.6, 2.65))
        start = (x - 1.0, 1.5) if t else (x - 0.9, 1.5)
        _arrow(ax, start, (x, 1.5), color="#c0392b", lw=2)
        ax.text(x - 0.5, 1.62, f"$h_{t}$", ha="center", fontsize=9,
                color="#c0392b")
    ax.text(1 + 2.2 * steps - 0.4, 1.5, "→ $h_n$", va="center", fontsize=12, color="#c0392b")
    ax.set_title("Unrolled in time: one cell, the same weights at every step; the red arrow is the "
                 "memory ($h_0$ = initial state)", fontsize=9)
    ax.set_xlim(-0.2, 2.2 * steps + 1.5)
    ax.set_ylim(-0.2, 3.1)
    ax.axis("off")
    return fig


def stacked_rnn(num_layers=3, steps=4):
    """num_layers stacked: layer k reads layer k-1's outputs; output = top layer; h_n = last column."""
    fig, ax = plt.subplots(figsize=(1.8 * steps + 3, 1.2 * num_layers + 1.6))
    for k in range(num_layers):
        for t in range(steps):
            x, y = 1.8 * t, 1.2 * k + 0.6
            last = t == steps - 1
            ax.add_patch(Rectangle((x, y), 1, 0.6, fc="#fde2c4" if last else "#cfe3f7",
                                   ec="#2f6db5", lw=1.2))
            ax.text(x + 0.5, y + 0.3, f"layer {k}", ha="center", va="center", fontsize=7)
            if t:
                _arrow(ax, (x - 0.8, y + 0.3), (x, y + 0.3), color="#c0392b")
            _arrow(ax, (x + 0.5, y - 0.6 + (0.6 if k == 0 else 0)), (x + 0.5, y)) if k else \
                _arrow(ax, (x + 0.5, 0.1), (x + 0.5, y))
        ax.text(1.8 * steps - 0.5, 1.2 * k + 0.9, f"h_n[{k}]", va="center", fontsize=9,
                color="#b35900")
    top = 1.2 * (num_layers - 1) + 1.2
    for t in range(steps):
        _arrow(ax, (1.8 * t + 0.5, top), (1.8 * t + 0.5, top + 0.4))
        ax.text(1.8 * t + 0.5, top + 0.5, f"output[{t}]", ha="center", fontsize=8)
        ax.text(1.8 * t + 0.5, -0.15, f"$x_{t}$", ha="center", fontsize=10)
    ax.set_title(f"num_layers={num_layers}: output comes from the top layer only; "
                 f"h_n has one slice per layer (orange)", fontsize=9)
    ax.set_xlim(-0.3, 1.8 * steps + 1.2)
    ax.set_ylim(-0.4, top + 0.9)
    ax.axis("off")
    return fig


def loss_curves(history, best_epoch=None, title="Training and validation loss"):
    """history: dict with lists 'train_loss' and 'val_loss' (and optionally accuracies)."""
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(epochs, history["train_loss"], label="training loss")
    ax.plot(epochs, history["val_loss"], label="validation loss")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="0.5", ls="--", lw=1)
        ax.annotate(f"lowest validation loss\n(epoch {best_epoch})", (best_epoch, max(history["val_loss"])),
                    xytext=(5, -5), textcoords="offset points", va="top", fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    return fig
