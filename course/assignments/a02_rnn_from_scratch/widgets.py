"""Assignment 02's widget: one RNN time step at a time (the student's rnn_cell or nn.RNN's own),
played by the shared step player."""
from __future__ import annotations

import numpy as np

from ...lazy import plt
from ...widgets import step_player


def rnn_step_data(x, rnn, cell=None, sample: int = 0) -> dict:
    """Run layer 0 of ``rnn`` over one sequence of ``x``, one step at a time.

    x: a batch laid out as ``rnn`` expects it (3-D) or one sequence (seq_len, input_size).
    cell: None runs nn.RNN itself one step at a time; otherwise ``cell(x_t, h_prev, W_ih, W_hh,
    b_ih, b_hh, nonlinearity=...)`` (the student's rnn_cell) with the layer's weights.
    Returns NumPy arrays: x (T, input), term_ih (T, H) = W_ih x_t + b_ih, term_hh (T, H) =
    W_hh h_{t-1} + b_hh, h (T, H) = h_t, plus the nonlinearity and who computed h ("nn.RNN" or
    the cell's name).
    """
    import torch
    from torch.nn import functional as F

    x = torch.as_tensor(x)
    if x.dim() == 3:
        x = x[sample] if rnn.batch_first else x[:, sample]
    W_ih, W_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    b_ih = rnn.bias_ih_l0 if rnn.bias else None
    b_hh = rnn.bias_hh_l0 if rnn.bias else None
    h = x.new_zeros(1, rnn.hidden_size)
    rows = {"term_ih": [], "term_hh": [], "h": []}
    with torch.no_grad():
        for t in range(x.shape[0]):
            x_t = x[t:t + 1]
            rows["term_ih"].append(F.linear(x_t, W_ih, b_ih)[0])
            rows["term_hh"].append(F.linear(h, W_hh, b_hh)[0])
            if cell is None:  # the real layer, fed one step (seq_len 1) and the previous state
                step_in = x_t.unsqueeze(1 if rnn.batch_first else 0)
                state = h.unsqueeze(0).expand(rnn.num_layers, 1, rnn.hidden_size).contiguous()
                out, _ = rnn(step_in, state) if rnn.num_layers == 1 else _layer0(rnn, step_in, h)
                h = out.reshape(1, rnn.hidden_size)
            else:
                h = cell(x_t, h, W_ih, W_hh, b_ih, b_hh, nonlinearity=rnn.nonlinearity)
            rows["h"].append(h[0])
    data = {k: torch.stack(v).detach().cpu().numpy() for k, v in rows.items()}
    data["x"] = x.detach().cpu().numpy()
    data["nonlinearity"] = rnn.nonlinearity
    data["source"] = "nn.RNN" if cell is None else getattr(cell, "__name__", "your cell")
    return data


def _layer0(rnn, step_in, h):
    import torch
    from torch import nn

    single = nn.RNN(rnn.input_size, rnn.hidden_size, nonlinearity=rnn.nonlinearity, bias=rnn.bias,
                    batch_first=rnn.batch_first, dtype=rnn.weight_ih_l0.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if rnn.bias else ()):
            getattr(single, name + "_l0").copy_(getattr(rnn, name + "_l0"))
    return single(step_in, h.unsqueeze(0))


def draw_rnn_step(data: dict, t: int):
    """The figure for step t: x with x_t marked, the two terms, h_t, and output filling in."""
    x, T = data["x"], data["x"].shape[0]
    H = data["h"].shape[1]
    lim = max(1e-6, float(np.abs(np.concatenate([data["term_ih"], data["term_hh"]])).max()))
    fig = plt.figure(figsize=(11.5, 3.9))
    grid = fig.add_gridspec(1, 6, width_ratios=[T, 2.2, 2.2, 2.2, 0.2, T], wspace=0.6)
    ax = fig.add_subplot(grid[0])
    ax.imshow(x.T, cmap="PuOr", aspect="auto", vmin=-np.abs(x).max(), vmax=np.abs(x).max())
    ax.add_patch(plt.Rectangle((t - 0.5, -0.5), 1, x.shape[1], fill=False, ec="black", lw=2.5))
    ax.set(title=f"input x (x_{t} boxed)", xlabel="time step", ylabel="input feature",
           yticks=range(x.shape[1]) if x.shape[1] <= 12 else [])
    columns = [("input term\nW_ih x_t + b_ih", data["term_ih"][t], lim, "RdBu_r"),
               ("recurrent term\nW_hh h_t-1 + b_hh", data["term_hh"][t], lim, "RdBu_r"),
               (f"new state\nh_t = {data['nonlinearity']}(sum)", data["h"][t], None, "viridis")]
    for k, (title, column, vlim, cmap) in enumerate(columns):
        ax = fig.add_subplot(grid[1 + k])
        kw = dict(vmin=-vlim, vmax=vlim) if vlim else dict(vmin=-1 if data["nonlinearity"] == "tanh" else 0,
                                                          vmax=1)
        ax.imshow(column[:, None], cmap=cmap, aspect="auto", **kw)
        ax.set_xticks([])
        ax.set_yticks(range(H) if H <= 12 else [])
        ax.set_title(title, fontsize=8.5)
        if k < 2:
            ax.text(1.45, 0.5, "+" if k == 0 else "→", transform=ax.transAxes, fontsize=15,
                    ha="center", va="center")
    ax = fig.add_subplot(grid[5])
    shown = np.full((H, T), np.nan)
    shown[:, :t + 1] = data["h"][:t + 1].T
    ax.imshow(shown, cmap="viridis", aspect="auto",
              vmin=-1 if data["nonlinearity"] == "tanh" else 0, vmax=1)
    ax.add_patch(plt.Rectangle((t - 0.5, -0.5), 1, H, fill=False, ec="red", lw=2.5))
    ax.set(title=f"output: h_0 … h_{t} ({data['source']})", xlabel="time step",
           ylabel="hidden unit")
    fig.suptitle(f"step t = {t} of {T - 1}", fontsize=11, y=1.02)
    return fig


def rnn_steps(x, rnn, cell=None, sample: int = 0, interval_ms: int = 900, static: bool | None = None):
    """Play an RNN's layer 0 step by step (see ``rnn_step_data`` and ``draw_rnn_step``)."""
    data = rnn_step_data(x, rnn, cell=cell, sample=sample)
    return step_player(lambda t: draw_rnn_step(data, t), data["x"].shape[0], description="t",
                       interval_ms=interval_ms, static=static)
