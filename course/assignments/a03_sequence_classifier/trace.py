"""The prediction trace: follow one sequence through input → RNN → last hidden state → linear →
softmax, and watch the class probabilities change as the RNN reads each time step.

    trace.prediction_trace(model, x, label=2, class_names=["A first", "B first", "together"])

``model`` is any ``nn.Module`` made of one unidirectional recurrent layer (nn.RNN, nn.GRU or nn.LSTM)
followed by one ``nn.Linear`` head that reads the last layer's final hidden state; ``x`` is one
sequence of shape (seq_len, input_size). At time step t the trace feeds the head the hidden state
h_t, i.e. it shows what the model would answer if the sequence stopped at step t. At the last step
that is exactly the model's own forward pass (the trace checks this).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...lazy import plt
from ...widgets import step_player

STAGES = ("1 input", "2 RNN", "3 last hidden state", "4 linear", "5 softmax")


def find_layers(model: nn.Module):
    """The model's recurrent layer and its linear head, found by type."""
    rnns = [m for m in model.modules() if isinstance(m, nn.RNNBase)]
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(rnns) != 1 or not heads:
        raise ValueError("the trace needs a model with exactly one nn.RNN/GRU/LSTM and an nn.Linear "
                         f"head; found {len(rnns)} recurrent layer(s) and {len(heads)} linear layer(s).")
    if rnns[0].bidirectional:
        raise ValueError("a bidirectional layer reads the future too: its state at step t is not "
                         "'the sequence so far', so this trace does not apply.")
    return rnns[0], heads[-1]


@dataclass
class Readout:
    """Everything the trace shows, as NumPy arrays."""
    x: np.ndarray          # (T, input_size)
    states: np.ndarray     # (T, hidden_size): the last layer's hidden state after each step
    logits: np.ndarray     # (T, num_classes): head(h_t)
    probs: np.ndarray      # (T, num_classes): softmax(head(h_t))
    model_probs: np.ndarray  # (num_classes,): softmax of the model's own forward pass


def readout(model: nn.Module, x: torch.Tensor) -> Readout:
    """Run one sequence (seq_len, input_size) and read the head after every time step."""
    rnn, head = find_layers(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            batch = x.unsqueeze(0) if rnn.batch_first else x.unsqueeze(1)
            output, _ = rnn(batch)
            states = output[0] if rnn.batch_first else output[:, 0]
            logits = head(states)
            forward = model(x.unsqueeze(0))
    finally:
        model.train(was_training)
    if forward.shape != (1, logits.shape[1]):
        raise ValueError(f"the model returns shape {tuple(forward.shape)} for one sequence; expected "
                         f"(1, {logits.shape[1]}) class scores.")
    model_probs = forward if _looks_like_probabilities(forward) else forward.softmax(dim=1)
    return Readout(x.numpy(), states.numpy(), logits.numpy(), logits.softmax(dim=1).numpy(),
                   model_probs[0].numpy())


def _looks_like_probabilities(values: torch.Tensor) -> bool:
    return bool((values >= 0).all() and torch.allclose(values.sum(dim=1), torch.ones(len(values))))


def stage_of(step: int, seq_len: int) -> tuple[int, int]:
    """(stage index 0..4, time step 1..T read so far) for a player step in 0 .. T + 3."""
    if step == 0:
        return 0, 0
    if step <= seq_len:
        return 1, step
    return min(1 + step - seq_len, 4), seq_len


def draw_step(r: Readout, step: int, label=None, class_names=None):
    """One frame of the trace: five panels, the current stage highlighted."""
    seq_len, num_classes = len(r.x), r.probs.shape[1]
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    stage, t = stage_of(step, seq_len)
    fig, axes = plt.subplots(1, 5, figsize=(14, 3.4),
                             gridspec_kw={"width_ratios": [1.3, 1.3, 0.8, 1, 1]})
    for k, ax in enumerate(axes):
        ax.set_title(STAGES[k], fontsize=10, weight="bold" if k == stage else "normal",
                     color="#c0392b" if k == stage else "0.2")

    # 1: the input, one column per time step; the step the RNN is reading is framed.
    ax = axes[0]
    ax.imshow(r.x.T, aspect="auto", cmap="coolwarm", vmin=-1.2, vmax=1.2)
    ax.set(xlabel="time step", ylabel="feature")
    if 1 <= t and stage == 1:
        ax.add_patch(plt.Rectangle((t - 1.5, -0.5), 1, r.x.shape[1], fill=False, ec="k", lw=2))

    # 2: the RNN's hidden states h_1 .. h_t (the output tensor, filled in step by step).
    ax = axes[1]
    shown = np.full_like(r.states.T, np.nan)
    shown[:, :t] = r.states.T[:, :t]
    ax.imshow(shown, aspect="auto", cmap="PuOr", vmin=-1, vmax=1)
    ax.set(xlabel="time step", ylabel="hidden unit", xlim=(-0.5, seq_len - 0.5))

    # 3-5: what the head makes of h_t. Faint while the RNN is still reading ("if it stopped here").
    final = stage >= 2
    alpha = 1.0 if final else 0.45
    h = r.states[t - 1] if t else np.zeros(r.states.shape[1])
    axes[2].barh(range(len(h)), h, color="#8e44ad", alpha=alpha if t else 0.1)
    axes[2].set(xlim=(-1.05, 1.05), xlabel=f"h_{t}" if t else "h_0 = 0", ylabel="hidden unit")
    axes[2].invert_yaxis()
    logits = r.logits[t - 1] if t else np.zeros(num_classes)
    axes[3].bar(range(num_classes), logits, color="#2f6db5", alpha=alpha if (t and stage != 2) else 0.1)
    span = max(1.0, float(np.abs(r.logits).max()) * 1.1)
    axes[3].set(ylim=(-span, span), xticks=range(num_classes), ylabel="score (logit)")
    axes[3].set_xticklabels(names, fontsize=8, rotation=20)
    axes[3].axhline(0, color="0.5", lw=0.8)
    probs = r.probs[t - 1] if t else np.full(num_classes, 1 / num_classes)
    colours = ["#27ae60" if label is not None and c == label else "#7f8c8d" for c in range(num_classes)]
    visible = t and stage not in (2, 3)
    axes[4].bar(range(num_classes), probs, color=colours, alpha=alpha if visible else 0.1)
    for c, p in enumerate(probs):
        if visible:
            axes[4].text(c, p + 0.02, f"{p:.2f}", ha="center", fontsize=8)
    axes[4].set(ylim=(0, 1.12), xticks=range(num_classes), ylabel="probability")
    axes[4].set_xticklabels(names, fontsize=8, rotation=20)

    caption = {
        0: f"the sequence: {seq_len} time steps × {r.x.shape[1]} features",
        1: f"the RNN has read {t} of {seq_len} steps — faint bars: what the head makes of h_{t}, as if the sequence "
           f"stopped at step {t}",
        2: f"only the last hidden state h_{seq_len} (= h_n[-1]) goes on to the head",
        3: "the linear layer turns it into one score per class",
        4: f"softmax turns the scores into probabilities: prediction "
           f"'{names[int(np.argmax(r.model_probs))]}'"
           + (f", true class '{names[label]}'" if label is not None else ""),
    }[stage]
    fig.suptitle(caption, fontsize=10)
    fig.tight_layout()
    return fig


def prediction_trace(model: nn.Module, x: torch.Tensor, label=None, class_names=None):
    """Step through the five stages, and the RNN's time steps, for one sequence (a player widget;
    a static picture of the last frame where no widget frontend is attached)."""
    r = readout(model, x)
    if not np.allclose(r.probs[-1], r.model_probs, atol=1e-5):
        raise ValueError("reading the head after the last step does not reproduce the model's "
                         "prediction: does its forward use the final hidden state of the last layer?")
    return step_player(lambda step: draw_step(r, step, label, class_names), len(r.x) + 4)


def probability_path(model: nn.Module, x: torch.Tensor, label=None, class_names=None, title=""):
    """One static picture: each class's probability after every time step, and the input below."""
    r = readout(model, x)
    seq_len, num_classes = r.probs.shape
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.2), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1.2]})
    steps = np.arange(1, seq_len + 1)
    for c in range(num_classes):
        top.plot(steps, r.probs[:, c], marker="o", ms=3, lw=2.5 if c == label else 1.2,
                 label=names[c] + (" (true)" if c == label else ""))
    top.axhline(1 / num_classes, color="0.6", ls=":", lw=1)
    top.set(ylabel="probability", ylim=(0, 1.02), title=title or "class probabilities as the RNN reads")
    top.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    bottom.imshow(r.x.T, aspect="auto", cmap="coolwarm", vmin=-1.2, vmax=1.2,
                  extent=(0.5, seq_len + 0.5, r.x.shape[1] - 0.5, -0.5))
    bottom.set(xlabel="time step (the head reads h_t after step t)", ylabel="feature")
    fig.tight_layout()
    return fig


def show_examples(x: torch.Tensor, y: torch.Tensor, class_names, per_class: int = 1):
    """A few sequences of each class as (feature × time) pictures, class names as titles."""
    picks = [int(i) for c in range(len(class_names))
             for i in torch.nonzero(y == c).flatten()[:per_class]]
    fig, axes = plt.subplots(1, len(picks), figsize=(3.2 * len(picks), 2.4), squeeze=False)
    for ax, i in zip(axes[0], picks):
        ax.imshow(x[i].T.numpy(), aspect="auto", cmap="coolwarm", vmin=-1.2, vmax=1.2)
        ax.set(title=f"#{i}: {class_names[int(y[i])]}", xlabel="time step", ylabel="feature")
    fig.tight_layout()
    return fig
