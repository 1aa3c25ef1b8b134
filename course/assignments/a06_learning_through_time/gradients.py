"""Assignment 06, Parts B–D: gradients through time measured, long memory shown, clipping seen.

    x, y, delay = recall_task(8, seed=0)           # Part C's task: a symbol, distractors, then "recall"
    model = build("GRU")                           # recurrent layer → last step → nn.Linear
    norms = hidden_state_gradients(model, x, y)    # ‖∂L/∂h_t‖ for t = 0 .. seq_len-1
    measured = measure_gradients()                 # Part B: four layers, at initialisation and trained
    gradient_table(measured["init"]); plot_gradients(measured); gradient_player(measured["init"])
    result = memory_experiment()                   # Part C: RNN vs GRU vs LSTM, accuracy per delay
    memory_table(result); plot_memory(result)
    curves = clipping_demo(train_step)             # Part D: the same run with and without clipping
    plot_clipping(curves)

Every layer here is PyTorch's own (nn.RNN, nn.GRU, nn.LSTM); nothing re-implements them. The loss
reads only the last time step, so the "distance from the loss" of h_t is seq_len - 1 - t.
"""
from __future__ import annotations

import math
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ... import widgets
from ...lazy import plt, ticker
from ...training import Table

SEQ_LEN = 31            # delays 1 .. 30 between the symbol and the recall step
NUM_SYMBOLS = 4         # what must be remembered (chance: 1 in 4)
NUM_DISTRACTORS = 4     # what fills the other steps
HIDDEN_SIZE = 32
SPECTRAL_RADIUS = 3.0   # "RNN ρ=3": weight_hh_l0 rescaled so that its largest |eigenvalue| is 3
TEST_SEED = 2024        # the evaluation sequences, the same for every model and seed
KINDS = ("RNN", "RNN ρ=3", "GRU", "LSTM")
LAYERS = {"RNN": nn.RNN, "RNN ρ=3": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}
COLOURS = {"RNN": "C0", "RNN ρ=3": "C3", "GRU": "C1", "LSTM": "C2"}
LABELS = {"RNN": "nn.RNN (tanh)", "RNN ρ=3": f"nn.RNN, W_hh scaled to spectral radius {SPECTRAL_RADIUS:g}",
          "GRU": "nn.GRU", "LSTM": "nn.LSTM"}


# ---------------------------------------------------------------------------------------------
# Part C's task: remember a symbol over a delay
# ---------------------------------------------------------------------------------------------
def recall_task(n: int, seq_len: int = SEQ_LEN, num_symbols: int = NUM_SYMBOLS,
                num_distractors: int = NUM_DISTRACTORS, seed: int = 0):
    """``n`` delayed-recall sequences, batch first: ``(x, y, delay)``.

    Each sequence shows one of ``num_symbols`` symbols at one step, distractor symbols at every
    other step, and the recall marker at the last step; the label is the symbol. ``delay`` (1 ..
    seq_len - 1) is how many steps before the recall step the symbol came, drawn uniformly, so every
    batch mixes easy (short) and hard (long) delays. One-hot inputs: x is
    (n, seq_len, num_symbols + num_distractors + 1) float32, y and delay are int64 of shape (n,).
    The same seed always gives the same sequences.
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(num_symbols, (n,), generator=g)
    delay = torch.randint(1, seq_len, (n,), generator=g)
    tokens = torch.randint(num_distractors, (n, seq_len), generator=g) + num_symbols
    tokens[torch.arange(n), seq_len - 1 - delay] = y
    tokens[:, -1] = num_symbols + num_distractors                   # the recall marker
    return F.one_hot(tokens, num_symbols + num_distractors + 1).float(), y, delay


def show_sequence(x: torch.Tensor, y: torch.Tensor, num_symbols: int = NUM_SYMBOLS) -> str:
    """One sequence as text: symbols A, B, ..., distractors a, b, ..., the recall marker "?"."""
    tokens = x.argmax(-1).tolist()
    last = x.shape[-1] - 1
    text = "".join("?" if k == last else chr(65 + k) if k < num_symbols else chr(97 + k - num_symbols)
                   for k in tokens)
    return f"{text}  → {chr(65 + int(y))}"


class Recaller(nn.Module):
    """A recurrent layer (batch first) → its output at the last step → nn.Linear (symbol scores)."""

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_classes: int):
        super().__init__()
        self.kind = kind
        self.rnn = LAYERS[kind](input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def spectral_radius(weight: torch.Tensor) -> float:
    """Largest |eigenvalue| of a square matrix (for a GRU/LSTM weight_hh_l0: of each gate's block)."""
    return float(torch.linalg.eigvals(weight.detach().double()).abs().max())


def build(kind: str, hidden_size: int = HIDDEN_SIZE, seed: int = 0,
          num_symbols: int = NUM_SYMBOLS, num_distractors: int = NUM_DISTRACTORS) -> Recaller:
    """A Recaller with PyTorch's default initialisation (seeded); "RNN ρ=3" then rescales weight_hh_l0."""
    if kind not in LAYERS:
        raise ValueError(f"kind must be one of {', '.join(LAYERS)}; got {kind!r}")
    torch.manual_seed(seed)
    model = Recaller(kind, num_symbols + num_distractors + 1, hidden_size, num_symbols)
    if kind == "RNN ρ=3":
        with torch.no_grad():
            W = model.rnn.weight_hh_l0
            W *= SPECTRAL_RADIUS / spectral_radius(W)
    return model


def train_recall(model: nn.Module, steps: int = 200, batch: int = 32, lr: float = 1e-2,
                 max_norm: float = 1.0, seq_len: int = SEQ_LEN, seed: int = 0) -> list[float]:
    """Adam on fresh batches of the recall task (clipped at ``max_norm``); returns the loss per step.

    Batch ``s`` of seed ``k`` is always the same sequences, so models compared at one seed see the
    same data.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        x, y, _ = recall_task(batch, seq_len, model.head.out_features,
                              model.rnn.input_size - model.head.out_features - 1,
                              seed=100_003 * (seed + 1) + step)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def accuracy_by_delay(model: nn.Module, n: int = 3000, seq_len: int = SEQ_LEN) -> np.ndarray:
    """Test accuracy for each delay 1 .. seq_len-1 (index 0 is delay 1), on TEST_SEED's sequences."""
    x, y, delay = recall_task(n, seq_len, model.head.out_features,
                              model.rnn.input_size - model.head.out_features - 1, seed=TEST_SEED)
    correct = (model(x).argmax(1) == y).float()
    return np.array([correct[delay == d].mean().item() for d in range(1, seq_len)])


# ---------------------------------------------------------------------------------------------
# Part B: ‖∂L/∂h_t‖, step by step
# ---------------------------------------------------------------------------------------------
def hidden_state_gradients(model: Recaller, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """‖∂L/∂h_t‖ for t = 0 .. seq_len-1, averaged over the batch (a NumPy array of length seq_len).

    The layer runs one step at a time on its own weights, so every h_t is a tensor of the graph, and
    torch.autograd.grad returns the gradient of the loss with respect to each of them. The loss is
    the cross-entropy of the last step, summed over the batch: sequence b's gradient is then the
    gradient of its own loss, and its norm is averaged over b. (For an LSTM, h_t is the hidden state
    and the cell state c_t is held fixed: the gradient that reaches h_t has travelled back through c.)
    """
    rnn = model.rnn
    state, hidden = None, []
    for t in range(x.shape[1]):
        _, state = rnn(x[:, t:t + 1], state)
        hidden.append(state[0] if isinstance(state, tuple) else state)   # LSTM: (h, c)
    loss = F.cross_entropy(model.head(hidden[-1][-1]), y, reduction="sum")
    grads = torch.autograd.grad(loss, hidden)
    return np.array([g[-1].norm(dim=-1).mean().item() for g in grads])


def gradient_profiles(models: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
    """{name: ‖∂L/∂h‖ by distance from the loss}: entry d is the norm at h_{seq_len-1-d}."""
    return {name: hidden_state_gradients(model, x, y)[::-1].copy() for name, model in models.items()}


def measure_gradients(kinds=KINDS, hidden_size: int = HIDDEN_SIZE, seed: int = 0, train_steps: int = 100,
                      n: int = 256, seq_len: int = SEQ_LEN) -> dict:
    """Part B: gradient profiles of each kind at initialisation and after ``train_steps`` of training.

    Returns {"init": profiles, "trained": profiles, "accuracy": {kind: test accuracy after training},
    "seconds": wall time}. The profiles are measured on the same ``n`` recall sequences (TEST_SEED).
    """
    start = time.perf_counter()
    x, y, _ = recall_task(n, seq_len, seed=TEST_SEED)
    models = {kind: build(kind, hidden_size, seed) for kind in kinds}
    result = {"init": gradient_profiles(models, x, y)}
    accuracy = {}
    for kind, model in models.items():
        train_recall(model, steps=train_steps, seq_len=seq_len, seed=seed)
        accuracy[kind] = float(accuracy_by_delay(model, seq_len=seq_len).mean())
    result["trained"] = gradient_profiles(models, x, y)
    result.update(accuracy=accuracy, train_steps=train_steps, seconds=time.perf_counter() - start)
    return result


def _power(value: float) -> str:
    return f"{value:.1e}"


def gradient_table(profiles: dict, distances=(1, 10, 20, 30)) -> Table:
    """‖∂L/∂h‖ at a few distances from the loss, and how far it moved between the first and last."""
    first, last = distances[0], distances[-1]
    lines = ["| layer | " + " | ".join(f"distance {d}" for d in distances) +
             f" | distance {last} ÷ distance {first} |",
             "|---|" + "---:|" * (len(distances) + 1)]
    for name, norms in profiles.items():
        cells = [_power(norms[d]) for d in distances]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_power(norms[last] / norms[first])} |")
    return Table("\n".join(lines))


def plot_gradients(measured: dict):
    """‖∂L/∂h_t‖ against the distance from the loss (log scale): at initialisation and trained."""
    panels = [("init", "at initialisation")]
    if "trained" in measured:
        panels.append(("trained", f"after {measured.get('train_steps', '')} training steps"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), sharey=True,
                             squeeze=False)
    for ax, (key, title) in zip(axes[0], panels):
        for name, norms in measured[key].items():
            ax.semilogy(np.arange(len(norms)), norms, marker=".", ms=4, color=COLOURS.get(name),
                        label=LABELS.get(name, name))
        ax.set(xlabel="distance from the loss (steps back from the last step)", title=title)
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("‖∂L/∂h_t‖  (log scale)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("How much of the loss's gradient reaches each hidden state", fontsize=10)
    fig.tight_layout()
    return fig


def gradient_flow_figure(profiles: dict, step: int, lo: float | None = None, hi: float | None = None):
    """Heat map: rows = layers, columns = time steps, colour = log10 ‖∂L/∂h_t‖.

    Only the last ``step + 1`` columns are filled in: the gradient has travelled ``step`` steps back
    from the loss (which reads the last column).
    """
    names = list(profiles)
    T = len(profiles[names[0]])
    logs = np.array([np.log10(profiles[name][::-1]) for name in names])       # rows by time step t
    lo = np.floor(logs.min()) if lo is None else lo
    hi = np.ceil(logs.max()) if hi is None else hi
    shown = np.full_like(logs, np.nan)
    shown[:, T - 1 - step:] = logs[:, T - 1 - step:]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(names) + 1.6))
    image = ax.imshow(shown, aspect="auto", cmap="magma", vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_yticks(range(len(names)), names)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("time step t (the loss reads the last one)")
    t = T - 1 - step
    ax.axvline(t - 0.5, color="white", lw=1.5)
    fig.colorbar(image, ax=ax, label="log10 ‖∂L/∂h_t‖", fraction=0.03, pad=0.02)
    values = ", ".join(f"{name} {profiles[name][step]:.0e}" for name in names)
    ax.set_title(f"{step} steps back from the loss (h_{t}): {values}", fontsize=9)
    fig.tight_layout()
    return fig


def gradient_player(profiles: dict):
    """Play + slider: the gradient flows back one time step per frame (a static last frame without a
    widget frontend). The colour scale is the same in every frame."""
    logs = np.log10(np.array([norms for norms in profiles.values()]))
    lo, hi = np.floor(logs.min()), np.ceil(logs.max())
    T = len(next(iter(profiles.values())))
    return widgets.step_player(lambda step: gradient_flow_figure(profiles, step, lo, hi), T,
                               description="steps back")


# ---------------------------------------------------------------------------------------------
# Part C: long memory, RNN vs GRU vs LSTM
# ---------------------------------------------------------------------------------------------
DELAY_BINS = ((1, 10), (11, 20), (21, 30))


def memory_experiment(kinds=("RNN", "GRU", "LSTM"), seeds=(0, 1, 2), steps: int = 150,
                      hidden_size: int = HIDDEN_SIZE, lr: float = 1e-2, seq_len: int = SEQ_LEN) -> dict:
    """Train each kind on the recall task for ``steps`` Adam steps per seed; test accuracy per delay.

    Returns {"accuracy": {kind: array (len(seeds), seq_len - 1)}, "seeds", "steps", "seconds":
    {kind: wall time}}: row i is seed i's accuracy for delays 1 .. seq_len-1.
    """
    accuracy, seconds = {}, {}
    for kind in kinds:
        start, rows = time.perf_counter(), []
        for seed in seeds:
            model = build(kind, hidden_size, seed)
            train_recall(model, steps=steps, lr=lr, seq_len=seq_len, seed=seed)
            rows.append(accuracy_by_delay(model, seq_len=seq_len))
        accuracy[kind], seconds[kind] = np.array(rows), time.perf_counter() - start
    return {"accuracy": accuracy, "seeds": tuple(seeds), "steps": steps, "seconds": seconds}


def _mean_spread(values) -> str:
    values = list(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.0f} ± {100 * spread:.0f} %"


def memory_table(result: dict, bins=DELAY_BINS) -> Table:
    """Accuracy (mean ± standard deviation over seeds) per range of delays, and each seed's overall."""
    lines = ["| layer | " + " | ".join(f"delay {a}–{b}" for a, b in bins) +
             " | all delays | each seed (all delays) |", "|---|" + "---:|" * (len(bins) + 1) + "---|"]
    for kind, acc in result["accuracy"].items():
        cells = [_mean_spread(acc[:, a - 1:b].mean(1)) for a, b in bins]
        overall = acc.mean(1)
        seeds = ", ".join(f"{100 * a:.0f} %" for a in overall)
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {_mean_spread(overall)} | {seeds} |")
    return Table("\n".join(lines))


def plot_memory(result: dict, chance: float = 1 / NUM_SYMBOLS):
    """Accuracy against the delay: the mean over seeds, a band from the worst to the best seed."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for kind, acc in result["accuracy"].items():
        delays = np.arange(1, acc.shape[1] + 1)
        ax.plot(delays, acc.mean(0), color=COLOURS.get(kind), label=f"{LABELS.get(kind, kind)}")
        ax.fill_between(delays, acc.min(0), acc.max(0), color=COLOURS.get(kind), alpha=0.15, lw=0)
    ax.axhline(chance, color="0.5", ls=":", lw=1, label="chance")
    ax.set(xlabel="delay: steps between the symbol and the recall step", ylabel="test accuracy",
           ylim=(0, 1.03), title=f"After {result['steps']} training steps, {len(result['seeds'])} seeds "
                                  "(line: mean, band: worst to best seed)")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Part D: the same run with and without gradient clipping
# ---------------------------------------------------------------------------------------------
def clipping_demo(train_step=None, kind: str = "RNN", steps: int = 100, lr: float = 0.5,
                  momentum: float = 0.9, max_norm: float = 0.25, batch: int = 32, seq_len: int = SEQ_LEN,
                  seed: int = 0) -> dict:
    """The same training run twice, from the same weights on the same batches (SGD with momentum):
    once without clipping (max_norm=inf, which never rescales), once clipped at ``max_norm``.

    ``train_step(model, (x, y), optimizer, max_norm) -> (loss, gradient norm before clipping)`` is
    Part D's exercise (the course's reference when None). Returns {"unclipped": {"loss": [...],
    "norm": [...]}, "clipped": {...}, "max_norm", "lr", "momentum", "kind", "seconds"}.
    """
    if train_step is None:
        from .reference import train_step
    start, curves = time.perf_counter(), {}
    for name, limit in (("unclipped", math.inf), ("clipped", max_norm)):
        model = build(kind, seed=seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        loss_curve, norm_curve = [], []
        for step in range(steps):
            x, y, _ = recall_task(batch, seq_len, seed=100_003 * (seed + 1) + step)
            loss, norm = train_step(model, (x, y), optimizer, limit)
            loss_curve.append(float(loss))
            norm_curve.append(float(norm))
        curves[name] = {"loss": loss_curve, "norm": norm_curve}
    return dict(curves, max_norm=max_norm, lr=lr, momentum=momentum, kind=kind,
                seconds=time.perf_counter() - start)


def first_blow_up(curve: dict, factor: float = 2.0) -> int | None:
    """The first step whose loss is not finite or above ``factor`` × the first loss (None: never)."""
    first = curve["loss"][0]
    for step, loss in enumerate(curve["loss"]):
        if not math.isfinite(loss) or loss > factor * first:
            return step
    return None


def clipping_summary(curves: dict, last: int = 20) -> Table:
    """The numbers behind the clipping plot: when the runs part, their largest gradient norm, when the
    loss first doubles, and the mean loss of the last ``last`` steps."""
    u, c = curves["unclipped"], curves["clipped"]
    clipped_steps = [s for s, norm in enumerate(c["norm"]) if norm > curves["max_norm"]]
    lines = [f"Clipping rescaled the gradient on {len(clipped_steps)} of {len(c['norm'])} steps, the "
             f"first at step {clipped_steps[0]} (norm {c['norm'][clipped_steps[0]]:.3f} > max_norm="
             f"{curves['max_norm']:g}); up to that step the two runs are identical."
             if clipped_steps else "No gradient norm exceeded max_norm: the two runs are identical.", "",
             "| run | largest gradient norm | first step with loss > 2 × step 0's | "
             f"mean loss, last {last} steps |",
             "|---|---:|---:|---:|"]
    for name, curve in (("no clipping", u), ("clipped", c)):
        blow = first_blow_up(curve)
        lines.append(f"| {name} | {max(curve['norm']):.1f} | {'never' if blow is None else blow} | "
                     f"{statistics.mean(curve['loss'][-last:]):.2f} |")
    lines.append(f"\n(guessing among {NUM_SYMBOLS} symbols: loss ln {NUM_SYMBOLS} = "
                 f"{math.log(NUM_SYMBOLS):.2f})")
    return Table("\n".join(lines))


def plot_clipping(curves: dict):
    """Loss (left) and gradient norm before clipping (right, log scale) per step, both runs."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    styles = {"unclipped": ("C3", "no clipping"),
              "clipped": ("C0", f"clip_grad_norm_(..., max_norm={curves['max_norm']:g})")}
    for name in ("unclipped", "clipped"):
        colour, label = styles[name]
        steps = np.arange(len(curves[name]["loss"]))
        left.plot(steps, curves[name]["loss"], color=colour, label=label)
        right.semilogy(steps, curves[name]["norm"], color=colour, label=label)
    left.axhline(math.log(NUM_SYMBOLS), color="0.5", ls=":", lw=1, label="guessing (ln 4)")
    left.set(xlabel="training step", ylabel="cross-entropy loss", title="loss")
    right.axhline(curves["max_norm"], color="0.5", ls="--", lw=1, label="max_norm")
    right.set(xlabel="training step", ylabel="gradient norm before clipping", title="gradient norm")
    for ax in (left, right):
        ax.legend(fontsize=8)
    fig.suptitle(f"{LABELS.get(curves['kind'], curves['kind'])}, SGD (lr={curves['lr']:g}, "
                 f"momentum={curves['momentum']:g}): the same run with and without clipping", fontsize=10)
    fig.tight_layout()
    return fig
