"""Step-by-step animations: a Play button and a slider over time steps, redrawing a figure.

    widgets.step_player(draw, n_steps)     # draw(t) -> matplotlib Figure for step t

With JupyterLab attached you get Play + IntSlider + the figure. Without a widget frontend (nbval,
nbclient, CI, an exported HTML) the same call shows a static figure of the last step instead, so
every notebook still runs and shows something meaningful.
"""
from __future__ import annotations

import matplotlib.pyplot as plt


def frontend_attached() -> bool:
    """True when a widget frontend (JupyterLab, Notebook 7) talks to this kernel.

    ipywidgets 8 frontends open a comm on the "jupyter.widget.control" target when they connect;
    headless runners (nbclient, nbval, nbgrader) never do.
    """
    try:
        from comm import get_comm_manager
        comms = get_comm_manager().comms.values()
    except Exception:
        return False
    return any(getattr(c, "target_name", "") == "jupyter.widget.control" for c in comms)


def step_player(draw, n_steps: int, description: str = "step", interval_ms: int = 700,
                start: int | None = None, static: bool | None = None):
    """Animate ``draw(t)`` for t = 0 .. n_steps-1. Returns the widget box (or None when static)."""
    last = n_steps - 1 if start is None else start
    if static is None:
        static = not frontend_attached()
    if static:
        fig = draw(last)
        plt.show()
        return None
    import ipywidgets as w
    from IPython.display import display

    play = w.Play(value=last, min=0, max=n_steps - 1, step=1, interval=interval_ms,
                  description="Play")
    slider = w.IntSlider(value=last, min=0, max=n_steps - 1, description=description)
    w.jslink((play, "value"), (slider, "value"))
    out = w.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            fig = draw(slider.value)
            plt.show()
            plt.close(fig)

    slider.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox([play, slider]), out])
    display(box)
    return box
