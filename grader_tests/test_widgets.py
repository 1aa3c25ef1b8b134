"""course.widgets (the step player) and assignment 02's RNN step widget, without a browser: the static
fallback, the frontend guess, the RNN step data."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

from course import widgets
from course.assignments.a02_rnn_from_scratch import widgets as rnn_widgets


class FakeKernel:
    def __init__(self, metadata):
        self.metadata = metadata

    def get_parent(self, channel=None):
        return {"header": {}, "metadata": self.metadata}


def _with_kernel(monkeypatch, metadata):
    import IPython

    shell = type("Shell", (), {"kernel": FakeKernel(metadata)})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)


def test_headless_means_static(monkeypatch):
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    assert widgets.frontend_attached() is False


def test_jupyterlab_execute_metadata_means_attached(monkeypatch):
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    _with_kernel(monkeypatch, {"cellId": "abc", "deletedCells": [], "recordTiming": False})
    assert widgets.frontend_attached() is True
    _with_kernel(monkeypatch, {})          # what nbclient (nbval, nbgrader) sends
    assert widgets.frontend_attached() is False


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "interactive")
    assert widgets.frontend_attached() is True
    monkeypatch.setenv("COURSE_WIDGETS", "static")
    _with_kernel(monkeypatch, {"cellId": "abc"})
    assert widgets.frontend_attached() is False


def test_step_player_static_draws_the_last_step(monkeypatch):
    drawn = []

    def draw(t):
        drawn.append(t)
        return plt.figure()

    assert widgets.step_player(draw, 5, static=True) is None
    assert drawn == [4]
    plt.close("all")


def test_step_player_interactive_builds_play_and_slider():
    import ipywidgets as w

    box = widgets.step_player(lambda t: plt.figure(), 3, static=False)
    controls = box.children[0].children
    assert isinstance(controls[0], w.Play) and isinstance(controls[1], w.IntSlider)
    assert controls[1].max == 2 and controls[1].value == 2
    plt.close("all")


@pytest.mark.parametrize("batch_first,num_layers", [(False, 1), (True, 1), (False, 2)])
def test_rnn_step_data_follows_nn_rnn(batch_first, num_layers):
    torch.manual_seed(0)
    rnn = nn.RNN(3, 5, num_layers=num_layers, batch_first=batch_first)
    x = torch.randn(2, 6, 3) if batch_first else torch.randn(6, 2, 3)
    data = rnn_widgets.rnn_step_data(x, rnn, sample=1)
    layer0 = nn.RNN(3, 5, batch_first=batch_first)
    layer0.load_state_dict({k: v for k, v in rnn.state_dict().items() if k.endswith("_l0")})
    with torch.no_grad():
        out, _ = layer0(x)
    want = (out[1] if batch_first else out[:, 1]).numpy()
    np.testing.assert_allclose(data["h"], want, atol=1e-6)
    pre = data["term_ih"] + data["term_hh"]
    np.testing.assert_allclose(np.tanh(pre), data["h"], atol=1e-6)
    assert data["x"].shape == (6, 3) and data["source"] == "nn.RNN"


def test_rnn_step_data_with_a_cell_and_the_figure():
    torch.manual_seed(0)
    rnn = nn.RNN(3, 4, nonlinearity="relu")
    x = torch.randn(5, 1, 3)

    def my_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
        return torch.relu(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)

    data = rnn_widgets.rnn_step_data(x, rnn, cell=my_cell)
    np.testing.assert_allclose(data["h"], rnn_widgets.rnn_step_data(x, rnn)["h"], atol=1e-6)
    assert data["source"] == "my_cell"
    fig = rnn_widgets.draw_rnn_step(data, 2)
    assert len(fig.axes) == 5
    plt.close(fig)
    assert rnn_widgets.rnn_steps(x, rnn, static=True) is None
    plt.close("all")
