"""Pictures the notebooks draw: tensor layouts, unrolled and stacked RNNs, training curves, the GRU
and LSTM cells and the layout of h0."""
from __future__ import annotations

from .lazy import patches, plt

SAMPLE_COLOURS = [f"C{i}" for i in range(10)]  # the default cycle (tab10), without importing pyplot


def _arrow(ax, start, end, **kw):
    ax.add_patch(patches.FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
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
                ax.add_patch(patches.Rectangle((x0 + f, inner - 1 - i), 1, 1, ec="white",
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
        ax.add_patch(patches.Rectangle((x, 1), 1.2, 1, fc="#cfe3f7", ec="#2f6db5", lw=1.5))
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
            ax.add_patch(patches.Rectangle((x, y), 1, 0.6, fc="#fde2c4" if last else "#cfe3f7",
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


# ---- gated cells and the layout of h0 (assignment 05) ---------------------------------------------
# Colours of the cell diagrams: one per gate, the memory line in the red of unrolled_rnn's h.
GATE_STYLE = {"r": ("#fde0c5", "#c8641a"), "z": ("#e3d9f7", "#6a4bbd"), "n": ("#d4ebf7", "#1d6fa5"),
              "i": ("#fde0c5", "#c8641a"), "f": ("#e3d9f7", "#6a4bbd"), "g": ("#d4ebf7", "#1d6fa5"),
              "o": ("#d8f0d2", "#3c8d2f"), "lin": ("#f2f2f2", "#7f7f7f")}
MEMORY, INPUT = "#c0392b", "#555555"


def _path(ax, points, color="0.3", lw=1.6, arrow=True, zorder=1):
    """A polyline through ``points``; an arrow head on the last segment."""
    xs, ys = zip(*points)
    if len(points) > 2:
        ax.plot(xs[:-1], ys[:-1], color=color, lw=lw, solid_capstyle="round", zorder=zorder)
    start = points[-2]
    if arrow:
        ax.add_patch(patches.FancyArrowPatch(start, points[-1], arrowstyle="-|>", mutation_scale=13,
                                             color=color, lw=lw, shrinkA=0, shrinkB=0, zorder=zorder))
    else:
        ax.plot([start[0], points[-1][0]], [start[1], points[-1][1]], color=color, lw=lw, zorder=zorder)


def _box(ax, centre, text, style, width=1.45, height=0.8, fontsize=10):
    from matplotlib.patches import FancyBboxPatch
    face, edge = GATE_STYLE[style]
    x, y = centre
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.12", fc=face, ec=edge, lw=1.8,
                                zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4, color="0.1")


def _node(ax, centre, text, colour="0.25", radius=0.24, fontsize=12):
    from matplotlib.patches import Circle
    ax.add_patch(Circle(centre, radius, fc="white", ec=colour, lw=1.6, zorder=3))
    ax.text(centre[0], centre[1] - 0.01, text, ha="center", va="center", fontsize=fontsize, zorder=4,
            color=colour)


def _dot(ax, point, colour):
    ax.plot(*point, "o", ms=4.5, color=colour, zorder=2)


def _buses(ax, h_from, h_y, x_start, x_y, feeds, h_feeds):
    """h_{t−1} and x_t running under the boxes: arrows up into every box in ``feeds`` (x_t) and
    ``h_feeds`` (h_{t−1}), each (box centre x, box bottom y)."""
    right = max(x for x, _ in feeds + h_feeds)
    h_right = max(x for x, _ in h_feeds)
    _path(ax, [h_from, (h_from[0], h_y), (h_right - 0.22, h_y)], color=MEMORY, arrow=False, lw=1.4)
    ax.text(x_start[0] - 0.15, x_start[1] + 0.02, "$x_t$", ha="right", va="center", fontsize=13)
    _path(ax, [x_start, (x_start[0], x_y), (right + 0.25, x_y)], color=INPUT, arrow=False, lw=1.4)
    for cx, bottom in h_feeds:
        _dot(ax, (cx - 0.22, h_y), MEMORY)
        _path(ax, [(cx - 0.22, h_y), (cx - 0.22, bottom)], color=MEMORY, lw=1.3)
    for cx, bottom in feeds:
        _dot(ax, (cx + 0.22, x_y), INPUT)
        _path(ax, [(cx + 0.22, x_y), (cx + 0.22, bottom)], color=INPUT, lw=1.3)


def gru_cell_diagram():
    """One step of PyTorch's GRU: gates r, z (sigmoid) and the candidate n (tanh) computed from x_t and
    h_{t−1}; r multiplies (W_hn h + b_hn) after the matrix product; h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}."""
    fig, ax = plt.subplots(figsize=(11, 5.6))
    top, gate_y, mid = 5.0, 2.4, 3.55
    z_x, r_x, hn_x, in_x = 2.3, 3.9, 5.6, 7.4
    # the memory line: h_{t-1} -> z ⊙ h -> + -> h_t
    ax.text(0.15, top, "$h_{t-1}$", ha="right", va="center", fontsize=13, color=MEMORY)
    _path(ax, [(0.25, top), (z_x - 0.25, top)], color=MEMORY, lw=2.4)
    _node(ax, (z_x, top), "⊙", MEMORY)
    _path(ax, [(z_x + 0.25, top), (9.75, top)], color=MEMORY, lw=2.4)
    _node(ax, (10.0, top), "+", MEMORY)
    _path(ax, [(10.25, top), (11.3, top)], color=MEMORY, lw=2.4)
    ax.text(11.4, top, "$h_t$", ha="left", va="center", fontsize=13, color=MEMORY)
    ax.text(11.4, top - 0.42, "output[t] and\nthe next step's state", ha="left", va="top", fontsize=8,
            color="0.35")
    ax.text((z_x + 10) / 2, top + 0.2, "$z \\odot h_{t-1}$: what the unit keeps", ha="center",
            va="bottom", fontsize=9, color=MEMORY)
    # inputs under the boxes
    _buses(ax, (0.7, top), 1.25, (1.2, -0.15), 0.6,
           feeds=[(r_x, gate_y - 0.4), (z_x, gate_y - 0.4), (in_x, gate_y - 0.4)],
           h_feeds=[(r_x, gate_y - 0.4), (z_x, gate_y - 0.4), (hn_x, gate_y - 0.4)])
    _dot(ax, (0.7, top), MEMORY)
    # the gates and the two linear parts of the candidate
    _box(ax, (r_x, gate_y), "$\\sigma$\nreset $r$", "r")
    _box(ax, (z_x, gate_y), "$\\sigma$\nupdate $z$", "z")
    _box(ax, (hn_x, gate_y), "$W_{hn}h_{t-1} + b_{hn}$", "lin", width=1.7, fontsize=9)
    _box(ax, (in_x, gate_y), "$W_{in}x_t + b_{in}$", "lin", width=1.55, fontsize=9)
    # r multiplies (W_hn h + b_hn): after the matrix product
    _node(ax, (hn_x, mid), "⊙", GATE_STYLE["r"][1])
    _path(ax, [(r_x, gate_y + 0.4), (r_x, mid), (hn_x - 0.25, mid)], color=GATE_STYLE["r"][1])
    ax.text((r_x + hn_x) / 2, mid + 0.1, "$r$", ha="center", va="bottom", fontsize=11,
            color=GATE_STYLE["r"][1])
    _path(ax, [(hn_x, gate_y + 0.4), (hn_x, mid - 0.25)], color="0.35")
    # the candidate n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    n_x = in_x
    _box(ax, (n_x, mid), "tanh\ncandidate $n$", "n", width=1.45, height=0.78)
    _path(ax, [(hn_x + 0.25, mid), (n_x - 0.73, mid)], color="0.35")
    _path(ax, [(in_x, gate_y + 0.4), (in_x, mid - 0.39)], color="0.35")
    # z: keeps the old state (top) and lets (1 - z) of the candidate in
    z_colour = GATE_STYLE["z"][1]
    _path(ax, [(z_x, gate_y + 0.4), (z_x, top - 0.25)], color=z_colour)
    ax.text(z_x - 0.1, mid, "$z$", ha="right", va="center", fontsize=11, color=z_colour)
    _dot(ax, (z_x, 4.3), z_colour)
    _path(ax, [(z_x, 4.3), (8.95, 4.3)], color=z_colour, arrow=False)
    _node(ax, (9.2, 4.3), "1−", z_colour, radius=0.26, fontsize=9)
    _node(ax, (9.2, mid), "⊙", GATE_STYLE["n"][1])
    _path(ax, [(9.2, 4.04), (9.2, mid + 0.25)], color=z_colour)
    _path(ax, [(n_x + 0.73, mid), (9.2 - 0.25, mid)], color=GATE_STYLE["n"][1])
    ax.text(8.55, mid + 0.08, "$n$", ha="center", va="bottom", fontsize=11, color=GATE_STYLE["n"][1])
    _path(ax, [(9.45, mid), (10.0, mid), (10.0, top - 0.25)], color=GATE_STYLE["n"][1])
    ax.text(10.1, 4.25, "$(1-z)\\odot n$", ha="left", va="center", fontsize=9, color=GATE_STYLE["n"][1])
    # what to read from the picture
    ax.annotate("r multiplies $(W_{hn}h_{t-1} + b_{hn})$, after the matrix\nproduct and bias "
                "(PyTorch). The original paper and d2l.ai\nput r on $h_{t-1}$ before $W_{hn}$: "
                "other numbers.", xy=(hn_x + 0.2, mid + 0.2), xytext=(5.1, 6.15), fontsize=8.5,
                ha="left", va="center", color="0.25",
                arrowprops=dict(arrowstyle="->", color="0.45", lw=1, connectionstyle="arc3,rad=0.2"))
    ax.text(0.0, -0.65, "Each gate box computes $\\sigma(W_{i\\cdot}x_t + b_{i\\cdot} + W_{h\\cdot}h_{t-1} + "
            "b_{h\\cdot})$ with its own rows of weight_ih / weight_hh (chunks in the order r, z, n).  "
            "⊙ = element-wise product.", fontsize=8.5, color="0.3", ha="left")
    ax.set_title("One GRU step in PyTorch: $h_t = (1 - z)\\odot n + z\\odot h_{t-1}$", fontsize=11)
    ax.set_xlim(-0.7, 12.8)
    ax.set_ylim(-0.9, 6.6)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


def lstm_cell_diagram():
    """One step of PyTorch's LSTM: gates i, f, o (sigmoid) and the cell candidate g (tanh), chunks
    in the order i, f, g, o; c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)."""
    fig, ax = plt.subplots(figsize=(11, 5.6))
    top, gate_y, mid = 5.0, 2.4, 3.55
    f_x, i_x, g_x, o_x = 2.3, 3.9, 5.5, 7.3
    c_colour = "#8e44ad"
    # the cell state line: c_{t-1} -> f ⊙ c -> + i ⊙ g -> c_t
    ax.text(0.15, top, "$c_{t-1}$", ha="right", va="center", fontsize=13, color=c_colour)
    _path(ax, [(0.25, top), (f_x - 0.25, top)], color=c_colour, lw=2.4)
    _node(ax, (f_x, top), "⊙", c_colour)
    _path(ax, [(f_x + 0.25, top), ((i_x + g_x) / 2 - 0.25, top)], color=c_colour, lw=2.4)
    _node(ax, ((i_x + g_x) / 2, top), "+", c_colour)
    _path(ax, [((i_x + g_x) / 2 + 0.25, top), (11.3, top)], color=c_colour, lw=2.4)
    ax.text(11.4, top, "$c_t$", ha="left", va="center", fontsize=13, color=c_colour)
    ax.text(7.3, top + 0.2, "cell state $c$: the long-term memory", ha="center", va="bottom",
            fontsize=9, color=c_colour)
    # the hidden state enters at the bottom left, the input from below
    ax.text(0.15, 1.25, "$h_{t-1}$", ha="right", va="center", fontsize=13, color=MEMORY)
    _path(ax, [(0.25, 1.25), (0.7, 1.25)], color=MEMORY, arrow=False, lw=1.4)
    _buses(ax, (0.7, 1.25), 1.25, (1.2, -0.15), 0.6,
           feeds=[(x, gate_y - 0.4) for x in (f_x, i_x, g_x, o_x)],
           h_feeds=[(x, gate_y - 0.4) for x in (f_x, i_x, g_x, o_x)])
    for x, key, text in ((f_x, "f", "$\\sigma$\nforget $f$"), (i_x, "i", "$\\sigma$\ninput $i$"),
                         (g_x, "g", "tanh\ncandidate $g$"), (o_x, "o", "$\\sigma$\noutput $o$")):
        _box(ax, (x, gate_y), text, key)
    for x, chunk in ((f_x, 1), (i_x, 0), (g_x, 2), (o_x, 3)):
        ax.text(x, gate_y - 0.62, f"chunk {chunk}", ha="center", va="top", fontsize=7.5, color="0.35",
                zorder=5, bbox=dict(fc="white", ec="none", pad=0.5))
    # f ⊙ c_{t-1}
    _path(ax, [(f_x, gate_y + 0.4), (f_x, top - 0.25)], color=GATE_STYLE["f"][1])
    ax.text(f_x - 0.1, mid, "$f$", ha="right", va="center", fontsize=11, color=GATE_STYLE["f"][1])
    # i ⊙ g, added to the cell state
    ig_x = (i_x + g_x) / 2
    _node(ax, (ig_x, mid + 0.35), "⊙", GATE_STYLE["g"][1])
    _path(ax, [(i_x, gate_y + 0.4), (i_x, mid + 0.35), (ig_x - 0.25, mid + 0.35)], color=GATE_STYLE["i"][1])
    _path(ax, [(g_x, gate_y + 0.4), (g_x, mid + 0.35), (ig_x + 0.25, mid + 0.35)], color=GATE_STYLE["g"][1])
    ax.text(i_x - 0.1, mid, "$i$", ha="right", va="center", fontsize=11, color=GATE_STYLE["i"][1])
    ax.text(g_x + 0.1, mid, "$g$", ha="left", va="center", fontsize=11, color=GATE_STYLE["g"][1])
    _path(ax, [(ig_x, mid + 0.6), (ig_x, top - 0.25)], color=GATE_STYLE["g"][1])
    ax.text(ig_x + 0.1, 4.5, "$i\\odot g$", ha="left", va="center", fontsize=9, color=GATE_STYLE["g"][1])
    # h_t = o ⊙ tanh(c_t)
    t_x = 9.1
    _dot(ax, (t_x, top), c_colour)
    _box(ax, (t_x, 4.15), "tanh", "lin", width=0.9, height=0.5, fontsize=9)
    _path(ax, [(t_x, top), (t_x, 4.4)], color=c_colour)
    _node(ax, (t_x, mid - 0.35), "⊙", GATE_STYLE["o"][1])
    _path(ax, [(t_x, 3.9), (t_x, mid - 0.1)], color="0.35")
    _path(ax, [(o_x, gate_y + 0.4), (o_x, mid - 0.35), (t_x - 0.25, mid - 0.35)], color=GATE_STYLE["o"][1])
    ax.text((o_x + t_x) / 2, mid - 0.25, "$o$", ha="center", va="bottom", fontsize=11,
            color=GATE_STYLE["o"][1])
    _path(ax, [(t_x + 0.25, mid - 0.35), (11.3, mid - 0.35)], color=MEMORY, lw=2.4)
    ax.text(11.4, mid - 0.35, "$h_t$", ha="left", va="center", fontsize=13, color=MEMORY)
    ax.text(11.4, mid - 0.77, "output[t] and\nthe next step's $h$", ha="left", va="top", fontsize=8,
            color="0.35")
    ax.text(0.0, -0.65, "Each box computes its function of $W_{i\\cdot}x_t + b_{i\\cdot} + W_{h\\cdot}h_{t-1} "
            "+ b_{h\\cdot}$; weight_ih_l0 stacks the four chunks in the order i, f, g, o "
            "(CS231n: i, f, o, g).", fontsize=8.5, color="0.3", ha="left")
    ax.set_title("One LSTM step in PyTorch: $c_t = f\\odot c_{t-1} + i\\odot g$,   "
                 "$h_t = o\\odot \\tanh(c_t)$", fontsize=11)
    ax.set_xlim(-0.7, 12.8)
    ax.set_ylim(-0.9, 6.0)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


def h0_layout(num_layers=2, directions=2, batch=3, hidden=8):
    """The initial (and final) hidden state of a recurrent layer: one (batch, hidden_size) slice per
    layer and direction, h0[k] with k = layer × directions + direction — batch_first never changes it."""
    size, gap = 0.32, 0.45
    slices = num_layers * directions
    height = slices * (batch * size + gap) - gap
    left = -4.7
    right = max(hidden * size + 2.4, left + 13.5)
    fig, ax = plt.subplots(figsize=(0.62 * (right - left), 0.62 * (height + 2.0) + 0.5))
    for k in range(slices):
        layer, direction = divmod(k, directions)
        cmap = plt.cm.Blues if direction == 0 else plt.cm.Oranges
        shade = 0.35 + 0.45 * (layer + 1) / num_layers
        y0 = height - (k + 1) * batch * size - k * gap
        for b in range(batch):
            for j in range(hidden):
                ax.add_patch(patches.Rectangle((j * size, y0 + (batch - 1 - b) * size), size, size,
                                               fc=cmap(shade), ec="white", lw=0.8))
            ax.text(-0.1, y0 + (batch - 0.5 - b) * size, f"b={b}", ha="right", va="center", fontsize=7,
                    color="0.35")
        ax.text(-0.7, y0 + batch * size / 2, f"h0[{k}]", ha="right", va="center", fontsize=10,
                weight="bold", color=cmap(0.85))
        name = f"layer {layer}" + {1: "", 2: (", forward", ", backward")[direction]}.get(directions, "")
        ax.text(hidden * size + 0.2, y0 + batch * size / 2, name, ha="left", va="center", fontsize=9,
                color=cmap(0.85))
    ax.annotate("", xy=(hidden * size, height + 0.25), xytext=(0, height + 0.25),
                arrowprops=dict(arrowstyle="<->", color="0.4", lw=1))
    ax.text(hidden * size / 2, height + 0.35, f"dim 2: hidden_size = {hidden}", ha="center",
            va="bottom", fontsize=9)
    brace = -1.85
    ax.annotate("", xy=(brace, -0.05), xytext=(brace, height + 0.05),
                arrowprops=dict(arrowstyle="<->", color="0.4", lw=1))
    ax.text(brace - 0.15, height / 2, f"dim 0:\nnum_layers × directions\n= {num_layers} × {directions}"
            f" = {slices}", ha="right", va="center", fontsize=9)
    order = ("h0[k]: k = layer × 2 + direction (0 forward, 1 backward)" if directions == 2 else
             "h0[k]: layer k")
    ax.text((left + right) / 2, -0.45, f"dim 1: one row per sequence (b = 0 … {batch - 1}).  {order}.",
            fontsize=8.5, color="0.3", ha="center", va="top")
    ax.set_title(f"h0 and h_n: (num_layers × directions, batch, hidden_size) = ({slices}, {batch}, "
                 f"{hidden}),\nthe same whether batch_first is True or False", fontsize=10)
    ax.set_xlim(left, right)
    ax.set_ylim(-1.0, height + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig
