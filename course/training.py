"""Small training utilities the notebooks share: a progress bar, a history dict, an epoch table,
training curves and a confusion matrix.

    for epoch in training.progress(range(epochs), desc="training"):   # a notebook progress bar
        ...
        training.record(history, train_loss=..., val_loss=..., val_acc=...)
    training.epoch_table(history)                                      # epoch | loss | ... | observation
    training.history_curves(history)                                   # loss and accuracy side by side

Nothing here knows about a particular model or data set.
"""
from __future__ import annotations

import contextlib
import math
import sys
import warnings

import numpy as np

from .lazy import plt

_QUIET = False


def progress(iterable, desc: str = "", **kwargs):
    """Wrap ``iterable`` in a tqdm progress bar: the notebook widget in Jupyter, text elsewhere.

    The bar always writes to stdout (tqdm's text bar writes to stderr by default, and nbgrader scores
    a test cell with any stderr output 0). Inside :func:`quiet` it shows nothing.
    """
    if _QUIET:
        return iterable
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*IProgress.*")
        warnings.filterwarnings("ignore", module="tqdm")
        try:
            from tqdm.auto import tqdm
            return tqdm(iterable, desc=desc, file=sys.stdout, **kwargs)
        except Exception:  # no widget frontend libraries: plain text bar
            from tqdm.std import tqdm
            return tqdm(iterable, desc=desc, file=sys.stdout, **kwargs)


@contextlib.contextmanager
def quiet():
    """No progress bars inside this block (e.g. while a check trains a model)."""
    global _QUIET
    before, _QUIET = _QUIET, True
    try:
        yield
    finally:
        _QUIET = before


def new_history(*keys: str) -> dict:
    """An empty history: one list per quantity, e.g. new_history("train_loss", "val_loss", "val_acc")."""
    return {key: [] for key in (keys or ("train_loss", "val_loss", "val_acc"))}


def record(history: dict, **values) -> dict:
    """Append one epoch's numbers (plain floats) to the history's lists; returns the history."""
    for key, value in values.items():
        history.setdefault(key, []).append(float(value))
    return history


def observe(history: dict, epoch: int, chance: float | None = None, since: int | None = None) -> str:
    """A short comment on one epoch (1-based), read off the numbers in the history.

    ``since``: the earlier epoch to compare with (default: the one before), e.g. the previous row of
    a table that skips epochs.
    """
    loss = history["train_loss"]
    acc = history.get("val_acc")
    val = history.get("val_loss")
    i = epoch - 1
    notes = []
    if i == 0:
        notes.append("starting point" + (f" (chance accuracy ≈ {chance:.2f})" if chance else ""))
    else:
        j = (since or epoch - 1) - 1
        # change per epoch, as a share of the starting loss: rows of a table can be many epochs
        # apart, and a loss near zero that halves has still flattened out
        drop = (loss[j] - loss[i]) / max(loss[0], 1e-12) / max(i - j, 1)
        if drop > 0.03:
            notes.append("loss falls fast")
        elif drop > 0.005:
            notes.append("loss still falling")
        elif drop < -0.005:
            notes.append("training loss went up (a noisy step)")
        else:
            notes.append("little change: a plateau")
        if val and val[i] > min(val[:i]) * 1.05 and loss[i] < loss[j]:
            notes.append("validation loss rises while training loss falls: watch for overfitting")
        if acc:
            for level in (0.5, 0.9, 0.95):
                if acc[i] >= level > max(acc[:j + 1]):
                    notes.append(f"validation accuracy passes {level:.0%}")
                    break
    if acc and i == int(np.argmax(acc)) and len(acc) > 1:
        notes.append("best validation accuracy")
    return "; ".join(notes)


def pick_epochs(n: int, rows: int = 10) -> list[int]:
    """About ``rows`` 1-based epochs to show: the first few, then evenly spaced, always the last."""
    if n <= rows:
        return list(range(1, n + 1))
    head = [1, 2, 3]
    rest = np.linspace(4, n, rows - len(head)).round().astype(int).tolist()
    return sorted(set(head + rest))


class Table(str):
    """A Markdown table: shows as a table in Jupyter, as text elsewhere."""

    def _repr_markdown_(self):
        return str(self)


def epoch_table(history: dict, epochs: list[int] | None = None, chance: float | None = None) -> Table:
    """The run as a table: epoch, training loss, validation loss and accuracy, an observation."""
    n = len(history["train_loss"])
    columns = [k for k in ("train_loss", "val_loss", "train_acc", "val_acc") if history.get(k)]
    names = {"train_loss": "training loss ↓", "val_loss": "validation loss ↓",
             "train_acc": "training accuracy ↑", "val_acc": "validation accuracy ↑"}
    lines = ["| epoch | " + " | ".join(names[c] for c in columns) + " | observation |",
             "|---:|" + "---:|" * len(columns) + "---|"]
    previous = None
    for epoch in epochs or pick_epochs(n):
        cells = [f"{history[c][epoch - 1]:.3f}" for c in columns]
        note = observe(history, epoch, chance, since=previous)
        lines.append(f"| {epoch} | " + " | ".join(cells) + f" | {note} |")
        previous = epoch
    return Table("\n".join(lines))


def history_curves(history: dict, title: str = "", chance: float | None = None):
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for key, label in (("train_loss", "training"), ("val_loss", "validation")):
        if history.get(key):
            left.plot(epochs, history[key], label=label)
    left.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    for key, label in (("train_acc", "training"), ("val_acc", "validation")):
        if history.get(key):
            right.plot(epochs, history[key], label=label)
    if chance:
        right.axhline(chance, color="0.5", ls=":", lw=1, label="chance")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    for ax in (left, right):
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """counts[i, j] = how many examples of true class i were predicted as class j."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (labels, predictions), 1)
    return counts


def plot_confusion(counts: np.ndarray, class_names=None, title: str = "confusion matrix"):
    """Draw a confusion matrix: rows are true classes, columns predicted ones, counts in the cells."""
    n = len(counts)
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    fig, ax = plt.subplots(figsize=(0.45 * n + 2.2, 0.45 * n + 1.6))
    ax.imshow(counts, cmap="Blues")
    top = counts.max() or 1
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=8,
                        color="white" if counts[i, j] > top / 2 else "black")
    ax.set_xticks(range(n), names, fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig


def chance_level(num_classes: int) -> float:
    """Accuracy of guessing uniformly among ``num_classes`` balanced classes."""
    return 1 / num_classes


def uniform_loss(num_classes: int) -> float:
    """Cross-entropy of a model that gives every class the same probability: ln(num_classes)."""
    return math.log(num_classes)
