"""Variable-length batches (assignment 05): the packed layout, padding vs packing side by side.

    packing.draw_packed_layout(lengths)             # padded grid + batch_sizes per time step
    packing.side_by_side(gru, sequences)            # output[:, -1] vs the real last step, in numbers
    packing.bidirectional_gap(sequences)            # a bidirectional GRU: padded vs packed, in numbers
    packing.fit(model, collate_fn, train, test)     # train any model(padded, lengths) -> logits
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ...lazy import patches, plt
from ...plots import SAMPLE_COLOURS


def draw_packed_layout(lengths):
    """Top: the right-padded batch, sorted longest first as packing does, each real step numbered
    by its position in ``packed.data``. Bottom, on the same time axis: ``batch_sizes``, the sequences
    still running at each time step."""
    lengths = torch.as_tensor(lengths, dtype=torch.int64)
    T = int(lengths.max())
    dummy = torch.zeros(len(lengths), T, 1)
    packed = pack_padded_sequence(dummy, lengths, batch_first=True, enforce_sorted=False)
    batch_sizes = packed.batch_sizes.tolist()
    order = packed.sorted_indices.tolist()
    fig, (grid, bars) = plt.subplots(2, 1, figsize=(max(7.0, 0.42 * T + 2.6), 0.42 * len(lengths) + 3.4),
                                     sharex=True, gridspec_kw={"height_ratios": [len(lengths), 2.6]})
    position = 0
    slots = {}
    for t, size in enumerate(batch_sizes):  # packed data: time step by time step, longest first
        for row in range(size):
            slots[(row, t)] = position
            position += 1
    for row, b in enumerate(order):
        for t in range(T):
            real = t < lengths[b]
            grid.add_patch(patches.Rectangle((t - 0.5, -row - 0.5), 1, 1, ec="white",
                                             fc=SAMPLE_COLOURS[b % 10] if real else "0.92"))
            grid.text(t, -row, str(slots[(row, t)]) if real else "pad", ha="center", va="center",
                      fontsize=7 if real else 5.5, color="black" if real else "0.6")
        grid.text(-0.8, -row, f"seq {b} (L={int(lengths[b])})", ha="right", va="center", fontsize=8)
    grid.set_xlim(-0.5, T - 0.5)
    grid.set_ylim(-len(lengths) + 0.5, 0.5)
    grid.set_title("right-padded batch, sorted longest first; number = position of that step in "
                   "packed.data (grey: padding, never stored)", fontsize=9)
    grid.set_yticks([])
    for side in grid.spines.values():
        side.set_visible(False)
    bars.bar(range(T), batch_sizes, color="tab:blue", width=0.8)
    for t, size in enumerate(batch_sizes):
        bars.text(t, size + 0.05, str(size), ha="center", va="bottom", fontsize=7)
    bars.set_xlabel("time step")
    bars.set_xticks(range(T))
    bars.tick_params(axis="x", labelsize=7)
    bars.set_yticks(range(len(lengths) + 1))
    bars.set_ylim(0, len(lengths) + 0.8)
    bars.set_ylabel("sequences\nstill running", fontsize=9)
    bars.set_title(f"packed.batch_sizes: {sum(batch_sizes)} real steps instead of "
                   f"{len(lengths) * T} padded", fontsize=9)
    for side in ("top", "right"):
        bars.spines[side].set_visible(False)
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


@torch.no_grad()
def bidirectional_gap(sequences, hidden_size=8, seed=0) -> str:
    """A bidirectional GRU (random weights) on a right-padded batch of ``sequences``, with and without
    packing: how far each sequence's outputs at its real steps are from the same sequence run alone,
    per direction (largest absolute difference; 0.000 = the same numbers). Returns the table as text."""
    torch.manual_seed(seed)
    gru = nn.GRU(sequences[0].shape[1], hidden_size, bidirectional=True, batch_first=True)
    lengths = torch.tensor([len(s) for s in sequences])
    padded = nn.utils.rnn.pad_sequence(list(sequences), batch_first=True)
    plain, _ = gru(padded)
    packed, _ = gru(pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False))
    packed, _ = nn.utils.rnn.pad_packed_sequence(packed, batch_first=True)
    H = hidden_size
    lines = [f"{'seq':>3} {'len':>3} | {'padded: forward':>15} {'backward':>9} | {'packed: forward':>15} "
             f"{'backward':>9}"]
    for b, s in enumerate(sequences):
        alone = gru(s[None])[0][0]  # (L, 2H): forward half, then backward half
        L = len(s)
        g = [(out[b, :L, half] - alone[:, half]).abs().max().item()
             for out in (plain, packed) for half in (slice(0, H), slice(H, 2 * H))]
        lines.append(f"{b:>3} {L:>3} | {g[0]:>15.3f} {g[1]:>9.3f} | {g[2]:>15.3f} {g[3]:>9.3f}")
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
