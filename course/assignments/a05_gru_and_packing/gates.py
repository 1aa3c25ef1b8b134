"""Watching a GRU's gates: r_t, z_t and n_t over one utterance, next to h_t (assignment 05).

    gru, head, acc = gates.train_speaker_gru()       # a few seconds on a CPU
    trace = gates.gate_trace(gru, sequence)          # numbers: r, z, n, h as (T, hidden) arrays
    gates.gate_player(trace)                         # Play + slider (a static last step without a frontend)

The trace is computed from the module's own weights with PyTorch's equations (gate order r, z, n;
r multiplies W_hn h + b_hn), layer 0 only, and checked against the module's output.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from ... import data, widgets
from ...lazy import plt, ticker

GATES = ("z", "r", "n", "h")
TITLES = {"z": "update gate $z_t$  (1 = keep the old $h$)",
          "r": "reset gate $r_t$  (0 = ignore the old $h$ in $n_t$)",
          "n": "candidate $n_t$  (the proposed new memory)",
          "h": "hidden state $h_t = (1 - z_t) n_t + z_t h_{t-1}$"}
CMAPS = {"z": "viridis", "r": "viridis", "n": "coolwarm", "h": "coolwarm"}


class SpeakerGRU(nn.Module):
    """nn.GRU (batch-first) → last hidden state → nn.Linear; left-padded input, so h_n is valid."""

    def __init__(self, hidden_size=8, num_features=data.JAPANESE_VOWELS_FEATURES,
                 num_classes=data.JAPANESE_VOWELS_CLASSES):
        super().__init__()
        self.gru = nn.GRU(num_features, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        return self.head(self.gru(x)[1][-1])


def vowels():
    """Japanese Vowels, standardised with the training statistics: (train, y_train, test, y_test)."""
    train, y_train = data.load_japanese_vowels("train")
    test, y_test = data.load_japanese_vowels("test")
    train, mean, std = data.standardize(train)
    test, _, _ = data.standardize(test, mean, std)
    return train, y_train, test, y_test


def train_speaker_gru(hidden_size=8, epochs=50, lr=1e-2, seed=0):
    """Train a small GRU speaker classifier on Japanese Vowels (full batch, left padding).

    Returns ``(model, test_accuracy, seconds)``; ``model.gru`` is the trained nn.GRU.
    """
    torch.manual_seed(seed)
    train, y_train, test, y_test = vowels()
    x_train, _ = data.pad_left(train)
    x_test, _ = data.pad_left(test)
    model = SpeakerGRU(hidden_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(x_train), y_train)
        loss.backward()
        optimiser.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    return model, accuracy, seconds


@torch.no_grad()
def gate_trace(gru: nn.GRU, sequence: torch.Tensor) -> dict:
    """Gates of layer 0 of ``gru`` while it reads one sequence of shape (T, input_size).

    Returns a dict of NumPy arrays of shape (T, hidden_size): "r", "z", "n", "h".
    """
    H = gru.hidden_size
    W_ih, W_hh = gru.weight_ih_l0, gru.weight_hh_l0
    b_ih = gru.bias_ih_l0 if gru.bias else W_ih.new_zeros(3 * H)
    b_hh = gru.bias_hh_l0 if gru.bias else W_ih.new_zeros(3 * H)
    h = W_ih.new_zeros(H)
    trace = {k: [] for k in ("r", "z", "n", "h")}
    for x_t in sequence.to(W_ih.dtype):
        r_i, z_i, n_i = (W_ih @ x_t + b_ih).chunk(3)
        r_h, z_h, n_h = (W_hh @ h + b_hh).chunk(3)
        r = torch.sigmoid(r_i + r_h)
        z = torch.sigmoid(z_i + z_h)
        n = torch.tanh(n_i + r * n_h)
        h = (1 - z) * n + z * h
        for k, v in zip(("r", "z", "n", "h"), (r, z, n, h)):
            trace[k].append(v.clone())
    trace = {k: torch.stack(v).numpy() for k, v in trace.items()}
    if gru.num_layers == 1:  # the same numbers as the real module, or this picture would lie
        real = gru(sequence[None].to(W_ih.dtype) if gru.batch_first else
                   sequence[:, None].to(W_ih.dtype))[0].reshape(len(sequence), H).numpy()
        assert np.allclose(real, trace["h"], atol=1e-5), "gate_trace disagrees with the module"
    return trace


def gate_figure(trace: dict, t: int, title: str = ""):
    """Four heat maps (hidden unit × time) of z, r, n and h, filled in up to step t."""
    T, H = trace["h"].shape
    fig, axes = plt.subplots(2, 2, figsize=(11, 4.6), sharex=True, sharey=True)
    for ax, key in zip(axes.flat, GATES):
        values = np.full((H, T), np.nan)
        values[:, :t + 1] = trace[key][:t + 1].T
        vmin, vmax = (0, 1) if key in ("z", "r") else (-1, 1)
        image = ax.imshow(values, aspect="auto", cmap=CMAPS[key], vmin=vmin, vmax=vmax,
                          interpolation="nearest")
        ax.axvline(t, color="black", lw=1.2)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # steps and units are whole numbers
        ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_title(TITLES[key], fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    for ax in axes[1]:
        ax.set_xlabel("time step (frame)")
    for ax in axes[:, 0]:
        ax.set_ylabel("hidden unit")
    z = trace["z"][t]
    keep, overwrite = int((z > 0.8).sum()), int((z < 0.2).sum())
    fig.suptitle(f"{title}  t = {t}: {keep} of {H} units keep their memory (z > 0.8), "
                 f"{overwrite} overwrite it (z < 0.2)", fontsize=10)
    fig.tight_layout()
    return fig


def gate_player(trace: dict, title: str = ""):
    """Play + slider over the time steps of a trace (static last step without a widget frontend)."""
    return widgets.step_player(lambda t: gate_figure(trace, t, title), len(trace["h"]),
                               description="time step")


def memory_summary(trace: dict) -> str:
    """One line per unit: how often it keeps (z > 0.8) or overwrites (z < 0.2) its memory."""
    z = trace["z"]
    lines = ["unit  mean z  steps kept (z > 0.8)  steps overwritten (z < 0.2)"]
    for unit in range(z.shape[1]):
        lines.append(f"{unit:4d}  {z[:, unit].mean():6.2f}  {int((z[:, unit] > 0.8).sum()):18d}  "
                     f"{int((z[:, unit] < 0.2).sum()):27d}")
    return "\n".join(lines)
