"""Fast tests of assignment 06's Parts B–D helpers
(course/assignments/a06_learning_through_time/gradients.py): the delayed-recall task, the ‖∂L/∂h_t‖
measurement (against autograd computed another way), the scaled-up RNN's growing gradients, the
tables, plots and the widget's static fallback, the clipping demo."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from course.assignments.a06_learning_through_time import gradients


# -- the task -------------------------------------------------------------------------------------
def test_recall_task_is_deterministic_per_seed():
    a, b = gradients.recall_task(20, seed=3), gradients.recall_task(20, seed=3)
    c = gradients.recall_task(20, seed=4)
    for first, second in zip(a, b):
        assert torch.equal(first, second)
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize("seq_len, symbols, distractors", [(31, 4, 4), (7, 3, 5)])
def test_recall_task_labels_are_right(seq_len, symbols, distractors):
    x, y, delay = gradients.recall_task(500, seq_len, symbols, distractors, seed=1)
    assert x.shape == (500, seq_len, symbols + distractors + 1) and x.dtype == torch.float32
    assert y.shape == delay.shape == (500,)
    assert torch.equal(x.sum(-1), torch.ones(500, seq_len))              # one-hot at every step
    tokens = x.argmax(-1)
    assert (tokens[:, -1] == symbols + distractors).all()                 # the recall marker, last
    is_symbol = tokens < symbols
    assert (is_symbol.sum(1) == 1).all()                                  # exactly one symbol
    position = is_symbol.float().argmax(1)
    assert torch.equal(position, seq_len - 1 - delay)                     # delay steps before recall
    assert torch.equal(tokens[torch.arange(500), position], y)            # ... and it is the label
    assert delay.min() == 1 and delay.max() == seq_len - 1                # every delay occurs
    assert set(y.tolist()) == set(range(symbols))


def test_show_sequence_marks_symbol_and_recall():
    x, y, delay = gradients.recall_task(1, 6, seed=0)
    text = gradients.show_sequence(x[0], y[0])
    assert text.split()[0][-1] == "?" and text.endswith(chr(65 + int(y[0])))
    assert text[5 - int(delay[0])] == chr(65 + int(y[0]))


def test_build_scales_only_the_big_rnn():
    scaled = gradients.spectral_radius(gradients.build("RNN ρ=3").rnn.weight_hh_l0)
    assert scaled == pytest.approx(3.0, rel=1e-5)
    default = gradients.spectral_radius(gradients.build("RNN").rnn.weight_hh_l0)
    assert 0.4 < default < 0.8                        # U(±1/√H) init: about 1/√3
    torch.testing.assert_close(gradients.build("GRU", seed=5).rnn.weight_hh_l0,
                               gradients.build("GRU", seed=5).rnn.weight_hh_l0)
    with pytest.raises(ValueError, match="kind must be one of"):
        gradients.build("Transformer")


# -- the measurement ------------------------------------------------------------------------------
def _by_restarting(model, x, y):
    """∂L/∂h_t another way: run the whole module on x[:, t+1:] from a leaf h_t (for an LSTM, c_t as
    a constant), so that autograd's gradient of that leaf is the gradient the loss sends to h_t."""
    with torch.no_grad():
        states = []
        state = None
        for t in range(x.shape[1]):
            _, state = model.rnn(x[:, t:t + 1], state)
            states.append(state)
    norms = []
    for t, state in enumerate(states):
        if isinstance(state, tuple):
            h = state[0].clone().requires_grad_()
            start = (h, state[1])
        else:
            h = start = state.clone().requires_grad_()
        if t == x.shape[1] - 1:
            last = h[-1]
        else:
            rest, _ = model.rnn(x[:, t + 1:], start)
            last = rest[:, -1]
        loss = F.cross_entropy(model.head(last), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, h)
        norms.append(grad[-1].norm(dim=-1).mean().item())
    return np.array(norms)


@pytest.mark.parametrize("kind", ["RNN", "RNN ρ=3", "GRU", "LSTM"])
def test_hidden_state_gradients_match_autograd_from_each_state(kind):
    model = gradients.build(kind, hidden_size=5, seed=1).double()
    x, y, _ = gradients.recall_task(3, seq_len=6, seed=2)
    mine = gradients.hidden_state_gradients(model, x.double(), y)
    assert mine.shape == (6,)
    np.testing.assert_allclose(mine, _by_restarting(model, x.double(), y), rtol=1e-9)


def test_rnn_gradient_is_the_product_of_jacobians():
    """For a tanh RNN: ∂L/∂h_t = (∂L/∂h_{t+1} ⊙ (1 − h_{t+1}²)) W_hh, sequence by sequence."""
    model = gradients.build("RNN", hidden_size=4, seed=0).double()
    x, y, _ = gradients.recall_task(2, seq_len=5, seed=0)
    x = x.double()
    with torch.no_grad():
        h, _ = model.rnn(x)                                               # (batch, T, H)
    last = h[:, -1].clone().requires_grad_()
    (g,) = torch.autograd.grad(F.cross_entropy(model.head(last), y, reduction="sum"), last)
    want = [g.norm(dim=-1).mean().item()]
    for t in range(3, -1, -1):
        g = (g * (1 - h[:, t + 1] ** 2)) @ model.rnn.weight_hh_l0
        want.append(g.norm(dim=-1).mean().item())
    np.testing.assert_allclose(gradients.hidden_state_gradients(model, x, y), want[::-1], rtol=1e-9)


def test_scaled_rnn_norms_grow_with_distance_and_default_ones_vanish():
    x, y, _ = gradients.recall_task(64, seed=gradients.TEST_SEED)
    for seed in range(5):
        models = {kind: gradients.build(kind, seed=seed) for kind in gradients.KINDS}
        profiles = gradients.gradient_profiles(models, x, y)
        big = profiles["RNN ρ=3"]
        assert big[30] > 100 * big[10] > 100 * big[1], seed
        for kind in ("RNN", "GRU", "LSTM"):
            assert profiles[kind][30] < 1e-4 * profiles[kind][1], (seed, kind)


def test_gradient_table_and_plot():
    profiles = {"RNN": np.logspace(0, -6, 31), "RNN ρ=3": np.logspace(0, 3, 31)}
    table = gradients.gradient_table(profiles)
    assert "| RNN ρ=3 | 1.3e+00 | 1.0e+01 | 1.0e+02 | 1.0e+03 | 7.9e+02 |" in table
    fig = gradients.plot_gradients({"init": profiles, "trained": profiles, "train_steps": 7})
    assert len(fig.axes) == 2 and "7 training steps" in fig.axes[1].get_title()
    assert fig.axes[0].get_yscale() == "log"
    plt.close(fig)


def test_flow_figure_reveals_one_more_step_per_frame():
    profiles = {"RNN": np.logspace(0, -6, 31), "GRU": np.logspace(0, -2, 31)}
    fig = gradients.gradient_flow_figure(profiles, 4)
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (2, 31)
    assert np.ma.getmaskarray(shown)[:, :26].all() or np.isnan(np.ma.filled(shown, np.nan)[:, :26]).all()
    assert np.isfinite(np.ma.filled(shown, np.nan)[:, 26:]).all()
    assert "4 steps back" in fig.axes[0].get_title()
    plt.close(fig)


def test_player_falls_back_to_a_static_figure_without_a_frontend(monkeypatch):
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    profiles = {"RNN": np.logspace(0, -6, 31), "LSTM": np.logspace(0, -3, 31)}
    before = plt.get_fignums()
    assert gradients.gradient_player(profiles) is None        # no widget box: pytest has no frontend
    assert len(plt.get_fignums()) >= len(before)
    plt.close("all")


# -- training, the memory experiment and the clipping demo -----------------------------------------
def test_train_recall_learns_a_short_delay():
    model = gradients.build("GRU", hidden_size=16, seed=0)
    losses = gradients.train_recall(model, steps=80, seq_len=4, lr=3e-2)
    assert len(losses) == 80 and losses[-1] < losses[0]
    accuracy = gradients.accuracy_by_delay(model, n=600, seq_len=4)
    assert accuracy.shape == (3,) and accuracy.mean() > 0.9


def test_memory_experiment_table_and_plot():
    result = gradients.memory_experiment(seeds=(0, 1), steps=3, hidden_size=4, seq_len=7)
    for kind in ("RNN", "GRU", "LSTM"):
        acc = result["accuracy"][kind]
        assert acc.shape == (2, 6) and ((0 <= acc) & (acc <= 1)).all()
    table = gradients.memory_table(result, bins=((1, 3), (4, 6)))
    assert table.count("\n") == 4 and "delay 4–6" in table and " ± " in table
    fig = gradients.plot_memory(result)
    assert "3 training steps" in fig.axes[0].get_title()
    plt.close(fig)


def test_clipping_demo_runs_part_only_where_clipping_acts():
    calls = []

    def step(model, batch, optimizer, max_norm):
        calls.append(max_norm)
        x, y = batch
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        return loss.item(), float(norm)

    curves = gradients.clipping_demo(step, steps=12, seq_len=6, lr=0.5, max_norm=0.3)
    assert calls == [math.inf] * 12 + [0.3] * 12
    u, c = curves["unclipped"], curves["clipped"]
    assert len(u["loss"]) == len(c["norm"]) == 12
    acts = next(s for s, n in enumerate(c["norm"]) if n > 0.3)
    assert u["loss"][:acts + 1] == c["loss"][:acts + 1]
    summary = gradients.clipping_summary(curves, last=5)
    assert f"the first at step {acts} " in summary and "| no clipping |" in summary
    fig = gradients.plot_clipping(curves)
    assert fig.axes[1].get_yscale() == "log"
    plt.close(fig)


def test_clipping_demo_with_the_reference_step_explodes_only_unclipped():
    pytest.importorskip("course.assignments.a06_learning_through_time.reference")
    curves = gradients.clipping_demo(steps=60)
    u, c = curves["unclipped"], curves["clipped"]
    assert gradients.first_blow_up(u) is not None
    assert np.mean(u["loss"][-10:]) > 2 * np.mean(c["loss"][-10:])
