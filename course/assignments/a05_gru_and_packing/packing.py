"""Variable-length batches (assignment 05): the packed layout, padding vs packing side by side.

    packing.draw_packed_layout(lengths)             # padded grid + batch_sizes per time step
    packing.side_by_side(gru, sequences)            # output[:, -1] vs the real last step, in numbers
    packing.fit(model, collate_fn, train, test)     # train any model(padded, lengths) -> logits
"""
from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ...plots import SAMPLE_COLOURS


def draw_packed_layout(lengths):
    """Left: the right-padded batch, sorted longest first as packing does, each real step numbered
    by its position in the packed data. Right: ``batch_sizes``, the sequences still running at
    each time step."""
    lengths = torch.as_tensor(lengths, dtype=torch.int64)
    T = int(lengths.max())
    dummy = torch.zeros(len(lengths), T, 1)
    packed = pack_padded_sequence(dummy, lengths, batch_first=True, enforce_sorted=False)
    batch_sizes = packed.batch_sizes.tolist()
    order = packed.sorted_indices.tolist()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.45 * len(lengths) + 2.2),
                                      gridspec_kw={"width_ratios": [3, 2]})
    position = 0
    slots = {}
    for t, size in enumerate(batch_sizes):  # packed data: time step by time step, longest first
        for row in range(size):
            slots[(row, t)] = position
            position += 1
    for row, b in enumerate(order):
        for t in range(T):
            real = t < lengths[b]
            left.add_patch(Rectangle((t, -row), 1, 1, ec="white",
                                     fc=SAMPLE_COLOURS[b % 10] if real else "0.9"))
            left.text(t + 0.5, -row + 0.5, str(slots[(row, t)]) if real else "pad", ha="center",
                      va="center", fontsize=7 if real else 6, color="black" if real else "0.5")
        left.text(-0.3, -row + 0.5, f"seq {b} (L={int(lengths[b])})", ha="right", va="center",
                  fontsize=8)
    left.set_xlim(-3.5, T)
    left.set_xticks(np.arange(T) + 0.5, [str(t) for t in range(T)])
    left.set_ylim(-len(lengths) + 1, 1.2)
    left.set_title("right-padded batch, longest first; numbers = position in packed.data", fontsize=9)
    left.set_xlabel("time step")
    left.set_yticks([])
    left.set_frame_on(False)
    right.bar(range(T), batch_sizes, color="tab:blue")
    for t, size in enumerate(batch_sizes):
        right.text(t, size + 0.05, str(size), ha="center", va="bottom", fontsize=7)
    right.set_xlabel("time step")
    right.set_yticks(range(len(lengths) + 1))
    right.set_ylabel("sequences still running")
    right.set_title(f"packed.batch_sizes: {sum(batch_sizes)} real steps instead of "
                    f"{len(lengths) * T} padded", fontsize=9)
    fig.tight_layout()
    return fig


@torch.no_grad()
def side_by_side(gru: nn.GRU, sequences, units=3) -> str:
    """For each sequence: h after its last real step (run alone), output[:, -1] of the right-padded
    batch, and the batch output at lengths − 1. Returns the table as text."""
    lengths = torch.tensor([len(s) for s in sequences])
    padded = nn.utils.rnn.pad_sequence(list(sequences), batch_first=True)
    output, _ = gru(padded)
    rows = torch.arange(len(sequences))
    last_padded, last_real = output[:, -1], output[rows, lengths - 1]
    fmt = lambda v: " ".join(f"{x:+.3f}" for x in v[:units].tolist())  # noqa: E731
    lines = [f"{'seq':>3} {'len':>3} | {'alone: h after last frame':^26} | {'batch: output[:, -1]':^24} "
             f"| {'batch: output[b, L-1]':^24}"]
    for b, s in enumerate(sequences):
        alone = gru(s[None])[1][-1, 0]
        lines.append(f"{b:>3} {len(s):>3} | {fmt(alone):^26} | {fmt(last_padded[b]):^24} | "
                     f"{fmt(last_real[b]):^24}")
    return "\n".join(lines)


class PaddingOnlyGRU(nn.Module):
    """Right-padded batch straight into nn.GRU, no packing. ``read``: "last_step" takes
    output[:, -1] (the common bug), "last_valid" takes each sequence's output at lengths − 1."""

    def __init__(self, num_features, hidden_size, num_classes, read="last_valid"):
        super().__init__()
        self.read = read
        self.gru = nn.GRU(num_features, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, padded, lengths):
        output, _ = self.gru(padded)
        if self.read == "last_step":
            return self.head(output[:, -1])
        return self.head(output[torch.arange(len(lengths)), lengths - 1])


def fit(model, collate_fn, train, test, epochs=40, lr=1e-2, seed=0):
    """Full-batch Adam on ``train`` = (sequences, labels); accuracy on ``test``.

    ``model(padded, lengths) -> logits``; ``collate_fn(list of (sequence, label))`` builds the batch.
    Returns {"accuracy", "seconds"} (seconds = training time only).
    """
    torch.manual_seed(seed)
    x, lengths, y = collate_fn(list(zip(train[0], train[1].tolist())))
    x_test, lengths_test, y_test = collate_fn(list(zip(test[0], test[1].tolist())))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(x, lengths), y)
        loss.backward()
        optimiser.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test, lengths_test).argmax(1) == y_test).float().mean().item()
    return {"accuracy": accuracy, "seconds": seconds}


def results_table(results: dict) -> str:
    lines = [f"{'model':<34} {'test accuracy':>13} {'training time':>14}"]
    for name, r in results.items():
        lines.append(f"{name:<34} {r['accuracy']:>13.1%} {r['seconds']:>12.2f} s")
    return "\n".join(lines)


def length_histogram(sequences):
    lengths = np.array([len(s) for s in sequences])
    fig, ax = plt.subplots(figsize=(6, 2.4))
    ax.hist(lengths, bins=np.arange(lengths.min(), lengths.max() + 2) - 0.5, color="tab:blue")
    ax.set_xlabel("frames per utterance")
    ax.set_ylabel("utterances")
    ax.set_title(f"{len(lengths)} utterances, {lengths.min()}–{lengths.max()} frames", fontsize=9)
    fig.tight_layout()
    return fig
