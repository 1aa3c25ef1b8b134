"""Assignment 04, "Overfitting and its cures": the data, the baseline model and the experiment helpers.

The training loop, the early stopper and the regularised model are the student's (they are graded);
this module only prepares the data, runs the student's code over several settings and draws/prints
the results, so that every number the notebook shows is measured in the notebook itself.

The task: Japanese Vowels (9 speakers, 12 features per frame), standardised with the training
statistics and **left-padded** to 29 frames, so that ``output[:, -1]`` is the last real frame of every
utterance. A fixed, seeded 20 % of the *training* labels are wrong (annotation errors); validation
and held-out labels are clean. The official test split is cut in two stratified halves: one is the
validation set (early stopping and model choice), the other is held out for grading only.
"""
from __future__ import annotations

import statistics
import sys
import time

import torch
from torch import nn

from ...data import (JAPANESE_VOWELS_CLASSES, JAPANESE_VOWELS_FEATURES, load_japanese_vowels,
                     noisy_labels, pad_left, standardize, train_val_split)
from ...lazy import plt
from ...nets import LastStepClassifier

SEQ_LEN = 29          # the longest utterance in either split
LABEL_NOISE = 0.2     # share of wrong training labels
NOISE_SEED = 0
SPLIT_SEED = 0
HISTORY_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc")

# What seed 003 ("nn.RNN layer in PyTorch - ML Experiment: Train & Evaluate") reports, on random toy
# data: printed next to our measurements, never used as one.
SEED_003_REPORTED = {
    "before": {"train_acc": 0.98, "val_acc": 0.70, "train_loss": 0.05, "val_loss": 0.85},
    "after": {"train_acc": 0.90, "val_acc": 0.87, "train_loss": 0.25, "val_loss": 0.40},
}


def percent(share: float, digits: int = 0) -> str:
    """0.2 -> "20 %": a share written as the notebook's text writes it."""
    return f"{100 * share:.{digits}f} %"


def split_test(seed: int = SPLIT_SEED):
    """The official test split, standardised with the training statistics, cut into two stratified
    halves: ``(x_val, y_val, x_heldout, y_heldout)``."""
    train_x, _ = load_japanese_vowels("train")
    test_x, test_y = load_japanese_vowels("test")
    _, mean, std = standardize(train_x)
    test_x, _, _ = standardize(test_x, mean, std)
    padded, _ = pad_left(test_x, SEQ_LEN)
    x_heldout, y_heldout, x_val, y_val = train_val_split(padded, test_y, val_fraction=0.5, seed=seed)
    return x_val, y_val, x_heldout, y_heldout


def load_task(label_noise: float = LABEL_NOISE, noise_seed: int = NOISE_SEED) -> dict:
    """The assignment's data, as a dict of tensors (batch_first, left-padded to 29 frames):

    x_train (270, 29, 12), y_train (noisy labels), y_train_clean, flipped (bool mask),
    x_val (185, 29, 12), y_val, and x_heldout (185, 29, 12) — held-out inputs *without* labels.
    """
    train_x, train_y = load_japanese_vowels("train")
    train_x, _, _ = standardize(train_x)
    x_train, _ = pad_left(train_x, SEQ_LEN)
    y_noisy, flipped = noisy_labels(train_y, label_noise, JAPANESE_VOWELS_CLASSES, seed=noise_seed)
    x_val, y_val, x_heldout, _ = split_test()
    return {"x_train": x_train, "y_train": y_noisy, "y_train_clean": train_y, "flipped": flipped,
            "x_val": x_val, "y_val": y_val, "x_heldout": x_heldout}


class BaselineRNN(LastStepClassifier):
    """The "before" model: one nn.RNN layer → last time step → nn.Linear, sized for Japanese Vowels."""

    def __init__(self, input_size=JAPANESE_VOWELS_FEATURES, hidden_size=128,
                 num_classes=JAPANESE_VOWELS_CLASSES):
        super().__init__(input_size, hidden_size, num_classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def progress(iterable, desc: str = "", enabled: bool = True, **kw):
    """A tqdm.auto progress bar that never writes to stderr (its text fallback would)."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, file=sys.stdout, leave=False, **kw)


def summary(history: dict, epoch: int | None = None) -> dict:
    """The four numbers of one epoch (1-based; default: the epoch whose weights the model keeps)."""
    epoch = epoch or history.get("best_epoch") or len(history["val_loss"])
    return {key: history[key][epoch - 1] for key in HISTORY_KEYS}


def results_table(rows: dict) -> str:
    """rows: {name: history or summary dict} → a text table like the seed's results: the four numbers
    of the weights each run ends with, the epoch they come from and how many epochs ran (a summary
    dict, e.g. numbers someone reported, has no epochs)."""
    width = max([28] + [len(name) for name in rows])
    lines = [f"{'':{width}s} {'train acc':>9s} {'val acc':>8s} {'train loss':>10s} {'val loss':>9s}"
             f" {'kept epoch':>10s} {'ran':>4s}"]
    for name, h in rows.items():
        ran = h["val_loss"] if isinstance(h.get("val_loss"), list) else None
        s = summary(h) if ran is not None else h
        kept = (f"{h.get('best_epoch') or len(ran):10d} {len(ran):4d}" if ran is not None
                else f"{'-':>10s} {'-':>4s}")
        lines.append(f"{name:{width}s} {percent(s['train_acc'], 1):>9s} {percent(s['val_acc'], 1):>8s} "
                     f"{s['train_loss']:10.2f} {s['val_loss']:9.2f} {kept}")
    return "\n".join(lines)


def first_epoch(values, threshold) -> int | None:
    """The first epoch (1-based) whose value is at least ``threshold``; None if there is none."""
    return next((epoch for epoch, v in enumerate(values, 1) if v >= threshold - 1e-9), None)


def milestones(history: dict, label_noise: float = LABEL_NOISE) -> str:
    """When a run without early stopping learned the speakers and when it memorised every label."""
    val_loss = history["val_loss"]
    best = min(range(len(val_loss)), key=val_loss.__getitem__) + 1
    lines = [f"lowest validation loss at epoch {best} ({val_loss[best - 1]:.2f}; validation accuracy "
             f"there {percent(history['val_acc'][best - 1], 1)}); at the last epoch, "
             f"epoch {len(val_loss)}: {val_loss[-1]:.2f}"]
    for share, what in ((1 - label_noise, "all that the correct labels allow"),
                        (1.0, "every label, the wrong ones too")):
        epoch = first_epoch(history["train_acc"], share)
        lines.append(f"training accuracy reaches {percent(share)} ({what}) "
                     + (f"at epoch {epoch}" if epoch else f"in none of the {len(val_loss)} epochs"))
    return "\n".join(lines)


def plot_history(history: dict, title: str = "", best_epoch: int | None = None):
    """Loss and accuracy curves side by side; with early stopping, the kept epoch and the stop."""
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.3))
    for ax, what, label in ((ax_loss, "loss", "cross-entropy loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, history[f"train_{what}"], label=f"training {what} (noisy labels)")
        ax.plot(epochs, history[f"val_{what}"], label=f"validation {what}")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="tab:green", ls="--", lw=1.2,
                       label=f"best weights kept (epoch {best_epoch})")
            if best_epoch < len(history["train_loss"]):
                ax.axvline(len(history["train_loss"]), color="tab:red", ls=":", lw=1.2,
                           label=f"stopped (epoch {len(history['train_loss'])})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


PATH_KEYS = ("hidden_size", "num_layers", "dropout", "lr", "seed")  # what decides how a model trains


def replay(history: dict, make_stopper=None, patience=None, epochs=None) -> dict:
    """The history ``fit`` would have returned for the same run with a budget of ``epochs`` and a fresh
    ``make_stopper(patience)`` (patience None: no early stopping).

    Exact, because early stopping never changes how a model trains: ``fit`` seeds everything at its
    start, and the stopper only watches the validation loss and decides where the loop ends and which
    weights are kept — and the numbers of those weights are already in the history. ``history`` must
    come from a run without a stopper that lasted at least until the replayed one ends."""
    ran = len(history["val_loss"])
    budget = ran if epochs is None else epochs
    stop = best = min(budget, ran)
    stopped = False
    if patience is not None:
        stopper, model = make_stopper(patience), nn.Linear(1, 1)  # the stopper copies *some* weights
        for epoch, val_loss in enumerate(history["val_loss"][:stop], 1):
            if stopper.step(val_loss, model):
                stop, stopped = epoch, True
                break
        best = stopper.best_epoch
    if budget > ran and not stopped:
        raise ValueError(f"the run lasted {ran} epochs; this replay needs more of it (budget {budget})")
    return dict({key: list(history[key][:stop]) for key in HISTORY_KEYS}, best_epoch=best)


def run_settings(settings: dict, build, fit, make_stopper, data, show_progress=True) -> dict:
    """Train every setting and return {name: history}.

    settings: {name: dict(hidden_size=, num_layers=, dropout=, lr=, epochs=, patience=, seed=)}
    build(hidden_size, num_layers, dropout) -> model; fit and make_stopper(patience) are the student's.
    patience=None trains for all epochs.

    Settings that differ only in ``epochs`` and ``patience`` follow the same training path (see
    :func:`replay`): that path is trained once, without a stopper, for the largest budget among them,
    and each of them is replayed from it. A setting alone on its path is simply trained with its stopper.
    """
    paths: dict = {}
    for name, s in settings.items():
        paths.setdefault(tuple(s.get(key, 0) for key in PATH_KEYS), []).append(name)
    results = {}
    for names in paths.values():
        s = settings[names[0]]
        shared = len(names) > 1
        seed = s.get("seed", 0)
        torch.manual_seed(seed)
        model = build(s["hidden_size"], s["num_layers"], s["dropout"])
        stopper = make_stopper(s["patience"]) if s.get("patience") and not shared else None
        history = fit(model, data, epochs=max(settings[n]["epochs"] for n in names), lr=s["lr"],
                      stopper=stopper, seed=seed, progress=show_progress)
        for name in names:
            results[name] = (replay(history, make_stopper, settings[name].get("patience"),
                                    settings[name]["epochs"]) if shared else history)
    return {name: results[name] for name in settings}


def compare_layers(build, fit, make_stopper, data, kinds=("RNN", "GRU", "LSTM"), seeds=(0, 1, 2),
                   epochs=200, lr=3e-3, patience=20, show_progress=True) -> list[dict]:
    """Train build(kind) for each kind and seed under the same budget; measure what matters.

    Returns one row per kind: mean and std of the validation accuracy of the kept weights, the
    parameter count, epochs run, and time per epoch (wall clock and CPU time of this process).
    """
    rows = []
    for kind in kinds:
        accs, epochs_run, wall, cpu, params = [], [], 0.0, 0.0, 0
        for seed in progress(seeds, desc=kind, enabled=show_progress):
            torch.manual_seed(seed)
            model = build(kind)
            params = count_parameters(model)
            w0, c0 = time.perf_counter(), time.process_time()
            history = fit(model, data, epochs=epochs, lr=lr, stopper=make_stopper(patience), seed=seed,
                          progress=False)
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            epochs_run.append(len(history["val_loss"]))
            accs.append(summary(history)["val_acc"])
        rows.append({"kind": kind, "val_acc_mean": statistics.mean(accs),
                     "val_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                     "val_accs": accs, "parameters": params, "epochs": epochs_run,
                     "ms_per_epoch": 1000 * wall / sum(epochs_run),
                     "cpu_ms_per_epoch": 1000 * cpu / sum(epochs_run)})
    return rows


def comparison_table(rows: list[dict]) -> str:
    """One line per layer; "× first" compares parameters and CPU time with the first row (the RNN)."""
    first = rows[0]
    lines = [f"{'layer':6s} {'val acc: mean ± std':>20s} {'parameters':>10s} {'× first':>7s} "
             f"{'CPU ms/epoch':>12s} {'× first':>7s} {'wall ms/epoch':>13s}  epochs run"]
    for r in rows:
        lines.append(f"{r['kind']:6s} {percent(r['val_acc_mean'], 1):>10s} ± {percent(r['val_acc_std'], 1):>7s} "
                     f"{r['parameters']:10d} {r['parameters'] / first['parameters']:6.1f}× "
                     f"{r['cpu_ms_per_epoch']:12.1f} {r['cpu_ms_per_epoch'] / first['cpu_ms_per_epoch']:6.1f}× "
                     f"{r['ms_per_epoch']:13.1f}  {r['epochs']}")
    return "\n".join(lines)


def plot_comparison(rows: list[dict]):
    kinds = [r["kind"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    colours = ["tab:blue", "tab:orange", "tab:green"][:len(rows)]
    axes[0].bar(kinds, [r["val_acc_mean"] for r in rows], yerr=[r["val_acc_std"] for r in rows],
                capsize=6, color=colours)
    for i, r in enumerate(rows):
        axes[0].scatter([i] * len(r["val_accs"]), r["val_accs"], color="k", s=12, zorder=3)
    low = min(min(r["val_accs"]) for r in rows)
    axes[0].set_ylim(max(0.0, low - 0.1), 1.0)
    axes[0].set_title("validation accuracy\n(mean ± std, dots = seeds)", fontsize=9)
    axes[1].bar(kinds, [r["parameters"] for r in rows], color=colours)
    axes[1].set_title("parameters", fontsize=9)
    axes[2].bar(kinds, [r["cpu_ms_per_epoch"] for r in rows], color=colours)
    axes[2].set_title("CPU time per epoch (ms)", fontsize=9)
    fig.tight_layout()
    return fig

