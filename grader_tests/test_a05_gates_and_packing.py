"""Fast tests of assignment 05's helpers (gates.py, packing.py) and checks, in course/assignments/a05_gru_and_packing/."""
import io
import contextlib

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

from course import checks
from course.assignments.a05_gru_and_packing import checks as gru_checks
from course.assignments.a05_gru_and_packing import gates, packing
from course.checks.rules import Program


def silent(fn, *args, **kw):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kw)


# -- gates.py --------------------------------------------------------------------------------------
def test_gate_trace_matches_the_module_and_stays_in_range():
    torch.manual_seed(0)
    gru = nn.GRU(12, 5, batch_first=True)
    seq = torch.randn(9, 12)
    trace = gates.gate_trace(gru, seq)
    assert set(trace) == {"r", "z", "n", "h"}
    for key in trace:
        assert trace[key].shape == (9, 5)
    assert (trace["z"] > 0).all() and (trace["z"] < 1).all()
    with torch.no_grad():
        real = gru(seq[None])[0][0].numpy()
    np.testing.assert_allclose(trace["h"], real, atol=1e-5)


def test_gate_trace_without_bias_and_time_major():
    gru = nn.GRU(3, 4, bias=False)
    trace = gates.gate_trace(gru, torch.randn(6, 3))
    assert trace["h"].shape == (6, 4)


def test_gate_figure_and_static_player():
    trace = gates.gate_trace(nn.GRU(3, 4), torch.randn(7, 3))
    fig = gates.gate_figure(trace, 3, title="demo")
    assert len(fig.axes) >= 4
    assert "t = 3" in fig._suptitle.get_text()
    plt.close(fig)
    # No widget frontend in pytest: step_player shows the last step statically and returns None.
    assert gates.gate_player(trace) is None
    plt.close("all")
    assert "unit" in gates.memory_summary(trace)


def test_train_speaker_gru_learns_quickly():
    model, accuracy, seconds = gates.train_speaker_gru(hidden_size=8, epochs=30)
    assert accuracy > 0.5  # 9 speakers: chance is 11 %
    assert isinstance(model.gru, nn.GRU)


# -- packing.py ------------------------------------------------------------------------------------
def test_draw_packed_layout_titles_the_real_batch_sizes():
    fig = packing.draw_packed_layout([5, 9, 3, 7])
    assert "24 real steps instead of 36" in fig.axes[1].get_title()
    plt.close(fig)


def test_side_by_side_shows_the_padding_bug():
    torch.manual_seed(0)
    gru = nn.GRU(4, 3, batch_first=True)
    text = packing.side_by_side(gru, [torch.randn(6, 4), torch.randn(2, 4)])
    rows = text.splitlines()[1:]
    long_row, short_row = (r.split("|") for r in rows)
    assert long_row[1].strip() == long_row[2].strip() == long_row[3].strip()
    assert short_row[1].strip() == short_row[3].strip() != short_row[2].strip()


def test_padding_only_model_reads_the_right_step():
    torch.manual_seed(0)
    model = packing.PaddingOnlyGRU(4, 3, 2, read="last_valid").eval()
    seqs = [torch.randn(5, 4), torch.randn(2, 4)]
    padded = nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    with torch.no_grad():
        batch = model(padded, torch.tensor([5, 2]))
        alone = model(seqs[1][None], torch.tensor([2]))
    torch.testing.assert_close(batch[1], alone[0])


# -- checks/gru.py: reference, mistakes and the source rules ----------------------------------------
def test_gru_step_matches_grucell_and_every_mistake_differs():
    case = gru_checks.gru_cell_cases(3, 1)[0]
    x, h, W_ih, W_hh, b_ih, b_hh = gru_checks.gru_cell_inputs(case)
    cell = nn.GRUCell(case["input_size"], case["hidden_size"]).to(torch.float32)
    with torch.no_grad():
        for p, v in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh),
                        (W_ih, W_hh, b_ih, b_hh)):
            p.copy_(v)
        want = cell(x, h)
    torch.testing.assert_close(gru_checks.gru_step(x, h, W_ih, W_hh, b_ih, b_hh), want)
    variants = [gru_checks.gru_step(x, h, W_ih, W_hh, b_ih, b_hh, m) for m in gru_checks.GRU_MISTAKES]
    for i, v in enumerate(variants):
        assert not torch.allclose(v, want, atol=1e-4)
        for w in variants[i + 1:]:
            assert not torch.allclose(v, w, atol=1e-4)


def test_reference_forward_matches_nn_gru():
    for kind in ("basic", "batch_first", "options", "deep"):
        for case in gru_checks.gru_forward_cases(5, kind):
            gru = gru_checks.build_gru(case)
            x, h0 = gru_checks.gru_forward_inputs(case)
            with torch.no_grad():
                mine, real = gru_checks.reference_forward(gru, x, h0), gru(x, h0)
            torch.testing.assert_close(mine[0], real[0])
            torch.testing.assert_close(mine[1], real[1])


def test_forward_cases_cover_the_issue_list():
    cases = [c for kind in ("basic", "batch_first", "options", "deep")
             for c in gru_checks.gru_forward_cases(7, kind)]
    assert {c["seq_len"] == 1 for c in cases} == {True, False}
    assert {c["batch"] == 1 for c in cases} == {True, False}
    assert {c["num_layers"] for c in cases} == {1, 2, 3}
    assert {c["batch_first"] for c in cases} == {True, False}
    assert {c["bias"] for c in cases} == {True, False}
    assert {c["h0"] for c in cases} == {True, False}
    assert {c["dtype"] for c in cases} == {"float32", "float64"}
    for c in cases:
        if c["batch"] > 1:
            assert len({c["batch"], c["input_size"], c["hidden_size"], c["num_layers"]}) == 4 or \
                c["num_layers"] == 1


OWN_CELL = "def gru_cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):\n    return h_prev"


@pytest.mark.parametrize("answer, source, flagged", [
    ("gru_forward", "def gru_forward(gru, x, h0=None):\n    return gru(x, h0)", True),
    ("gru_forward", "def gru_forward(gru, x, h0=None):\n    return nn.GRU.forward(gru, x)", True),
    ("gru_forward", "def gru_forward(gru, x, h0=None):\n    return torch._VF.gru(x)", True),
    ("gru_forward", "def gru_forward(gru, x, h0=None):\n    return torch.gru(x, h0)", True),
    ("gru_cell", "def gru_cell(x, h, a, b, c, d):\n    return torch.gru_cell(x, h, a, b, c, d)", True),
    ("gru_cell", "def gru_cell(x, h, a, b, c, d):\n    return nn.GRUCell(3, 4)(x, h)", True),
    ("gru_forward", "def gru_forward(gru, x, h0=None):\n    return gru_cell(x[0], h0, gru.weight_ih_l0, 1, 2, 3)",
     False),
    ("gru_forward", "def gru_forward(gru, x, h0=None):\n    return isinstance(gru, nn.GRU), gru.weight_ih_l0 @ x",
     False),
])
def test_source_rules(answer, source, flagged):
    """The kernels are refused from the submission's source (rules.py), read by the trusted side."""
    program = Program([("import torch\nfrom torch import nn", False), (OWN_CELL, True), (source, True)])
    found = checks.REGISTRY["a05_" + answer].scan(program, answer, seed=1)
    assert bool(found) is flagged, found
    if flagged:
        assert "must do the arithmetic itself" in found[0]


def test_forward_that_calls_the_module_is_refused_at_run_time():
    def sneaky(gru, x, h0=None):
        call = getattr(gru, "__call__")  # hides the call from the static scan
        return call(x, h0)

    with pytest.raises(checks.CheckFailed, match="called the module"):
        silent(checks.a05_gru_forward, sneaky, kind="basic", seed=1)


def test_last_step_check_names_the_layout_mistake():
    output = torch.randn(5, 3, 20)
    silent(checks.a05_last_step, (output, output[4]), batch_first=False)
    with pytest.raises(checks.CheckFailed, match="output\\[:, -1\\]"):
        silent(checks.a05_last_step, (output, output[-1]), batch_first=True)
    with pytest.raises(checks.CheckFailed, match="index 0"):
        silent(checks.a05_last_step, (output, output[0]), batch_first=False)


def test_collate_check_catches_left_padding():
    def left(batch):
        seqs = [s for s, _ in batch]
        padded, lengths = __import__("course.data", fromlist=["pad_left"]).pad_left(seqs)
        return padded, lengths, torch.tensor([y for _, y in batch])

    with pytest.raises(checks.CheckFailed, match="padded on the left"):
        silent(checks.a05_collate, left, seed=1)


def test_lstm_check_names_each_mistake():
    for mistake, message in gru_checks.LSTM_MISTAKES.items():
        def wrong(x, state, W_ih, W_hh, b_ih, b_hh, mistake=mistake):
            return gru_checks.lstm_step(x, *state, W_ih, W_hh, b_ih, b_hh, mistake)

        with pytest.raises(checks.CheckFailed) as info:
            silent(checks.a05_lstm_cell, wrong, seed=None)
        assert message[:30] in str(info.value)


# -- pictures and "try it" cells added for the student-tester's report ---------------------------------
def test_the_packed_layout_draws_the_batch_of_the_printout():
    fig = packing.draw_packed_layout([19, 17, 13, 24])
    assert "73 real steps instead of 96" in fig.axes[1].get_title()
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "seq 3 (L=24)" in labels and str(19 + 17 + 13 + 24 - 1) in labels
    plt.close(fig)


def test_gate_maps_have_whole_time_steps():
    trace = gates.gate_trace(nn.GRU(3, 4), torch.randn(11, 3))
    fig = gates.gate_figure(trace, 5)
    fig.canvas.draw()
    ticks = [t for ax in fig.axes[::2][:2] for t in ax.get_xticks() if 0 <= t <= 10]
    assert ticks and all(float(t).is_integer() for t in ticks)
    plt.close(fig)


def test_bidirectional_gap_shows_the_backward_direction_reading_padding():
    torch.manual_seed(0)
    seqs = [torch.randn(9, 4), torch.randn(3, 4), torch.randn(6, 4)]
    rows = [line.split("|") for line in packing.bidirectional_gap(seqs).splitlines()[1:]]
    for row, s in zip(rows, seqs):
        padded_fwd, padded_bwd = map(float, row[1].split())
        packed_fwd, packed_bwd = map(float, row[2].split())
        assert padded_fwd == packed_fwd == packed_bwd == 0.0
        assert (padded_bwd > 0) is (len(s) < 9)


@pytest.mark.parametrize("draw", ["gru_cell_diagram", "lstm_cell_diagram"])
def test_cell_diagrams_draw(draw):
    from course import plots
    fig = getattr(plots, draw)()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for word in (("reset", "update", "candidate", "W_{hn}") if draw.startswith("gru") else
                 ("forget", "input", "output", "chunk 0")):
        assert word in texts, word
    plt.close(fig)


def test_h0_layout_has_one_slice_per_layer_and_direction():
    from course import plots
    fig = plots.h0_layout(num_layers=3, directions=2, batch=2, hidden=5)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert [t for t in texts if t.startswith("h0[")] == [f"h0[{k}]" for k in range(6)]
    assert "(6, 2, 5)" in fig.axes[0].get_title() and "layer 2, backward" in texts
    plt.close(fig)


def test_try_it_cells_never_raise():
    from course.assignments.a05_gru_and_packing import demos

    def unanswered(*args):
        raise NotImplementedError()

    def broken(x, h, W_ih, W_hh, b_ih, b_hh):
        return x @ W_ih  # not transposed: a shape error

    def good(x, h, W_ih, W_hh, b_ih, b_hh):
        return gru_checks.gru_step(x, h, W_ih, W_hh, b_ih, b_hh)

    assert "not answered yet" in silent_text(demos.compare_gru_cell, unanswered)
    text = silent_text(demos.compare_gru_cell, broken)
    assert "gru_cell raised RuntimeError" in text and "x @ W_ih" in text
    assert "h_t: equal ✓" in silent_text(demos.compare_gru_cell, good)
    assert "differs by up to" in silent_text(demos.compare_gru_cell, lambda x, h, *w: h)
    assert "not answered yet" in silent_text(demos.compare_gru_forward, unanswered)
    assert "should return the pair" in silent_text(demos.compare_gru_forward, lambda gru, x: x)
    assert "output: equal ✓" in silent_text(demos.compare_gru_forward, gru_checks.reference_forward)
    assert "not answered yet" in silent_text(demos.compare_lstm_cell, unanswered)


def silent_text(fn, *args):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        fn(*args)
    return buffer.getvalue()


def test_practice_questions_have_their_own_keys_and_a_reason_for_every_option():
    import nbformat
    from pathlib import Path
    from course.assignments.a05_gru_and_packing import demos
    nb = nbformat.read(next(Path(__file__).parent.parent.glob("source/05_*/*.ipynb")), as_version=4)
    asked = [c for c in nb.cells if c.cell_type == "code" and "quiz(" in c.source]
    assert len(asked) == len(demos.PRACTICE) == 3
    for name, (key, why) in demos.PRACTICE.items():
        assert key in "ABCD" and set(why) == set("ABCD")
    for cell in asked:
        assert not cell.metadata.get("nbgrader"), "practice is never graded"
        assert cell.source.startswith("p") and "= None" in cell.source.splitlines()[0]
