"""Part E of assignment 06: a character model that writes.

    corpus = text.load_corpus()                        # The Tempest, 98,320 characters
    vocab = text.Vocab(corpus)                         # encode / decode, 70 characters
    for x, y in text.tbptt_chunks(ids, batch_size=32, chunk_len=64): ...
    model, vocab, history = text.train_char_rnn(CharRNN, train_chunk)   # 10–14 s, one thread
    text.generation_player(model, vocab, "PROSPERO.\\n")          # temperature slider + top-5 bars

Truncated backpropagation through time (TBPTT) cuts the text into B contiguous streams read side by
side; each training step reads the next chunk of L characters of every stream, starting from the
hidden state where the previous chunk left it, but detached from that chunk's graph.

The course's own answers to Part E's exercises live here too (``CharRNN``, ``train_chunk``,
``sample_next``, ``generate``): the notebook reaches them only through ``reference`` (which re-exports
them) for its demonstrations while an exercise is unfinished. Their names are ``REFERENCE_NAMES``: a
graded answer that reaches them gets no credit (checks_text.py).
"""
from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ... import widgets
from ...lazy import plt

CORPUS = Path(__file__).resolve().parents[2] / "data_files" / "tempest.txt"
REFERENCE_NAMES = frozenset({"CharRNN", "train_chunk", "sample_next", "generate"})


# ---------------------------------------------------------------------------------------------
# The corpus and its characters
# ---------------------------------------------------------------------------------------------
def load_corpus() -> str:
    """Shakespeare's *The Tempest* as one string (see course/data_files/README.md)."""
    return CORPUS.read_text(encoding="ascii")


class Vocab:
    """The distinct characters of a text, sorted: character ↔ id (0 .. len − 1)."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.ids = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def to_ids(self, text: str) -> torch.Tensor:
        """A 1-D int64 tensor of ids."""
        return torch.tensor([self.ids[c] for c in text], dtype=torch.int64)

    def to_text(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def streams(ids: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), each (batch_size, n): the text cut into batch_size contiguous pieces, one per
    row; targets are the inputs shifted by one character (row b's target at t is its input at t + 1)."""
    n = (len(ids) - 1) // batch_size
    inputs = ids[:n * batch_size].view(batch_size, n)
    targets = ids[1:n * batch_size + 1].view(batch_size, n)
    return inputs, targets


def tbptt_chunks(ids: torch.Tensor, batch_size: int, chunk_len: int):
    """Yield (x, y), each (batch_size, chunk_len), chunk after chunk along the streams: row b of a chunk
    continues row b of the previous one, so the hidden state can be carried from chunk to chunk."""
    inputs, targets = streams(ids, batch_size)
    for start in range(0, inputs.shape[1] - chunk_len + 1, chunk_len):
        yield inputs[:, start:start + chunk_len], targets[:, start:start + chunk_len]


# ---------------------------------------------------------------------------------------------
# The course's answers (reached by the notebook through reference.py only)
# ---------------------------------------------------------------------------------------------
class CharRNN(nn.Module):
    """nn.Embedding → nn.GRU (batch_first) → nn.Linear on every time step."""

    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.GRU(embed_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, h=None):
        output, h_n = self.rnn(self.embedding(x), h)   # output: (batch, seq, hidden)
        return self.head(output), h_n                   # logits: (batch, seq, vocab)


def train_chunk(model, x, y, h, optimizer, max_norm):
    """One TBPTT step on a chunk: returns (mean loss as a float, the final state detached)."""
    if h is not None:
        h = h.detach()                                  # the gradient stops at the chunk's start
    logits, h_n = model(x, h)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item(), h_n.detach()


def sample_next(logits, temperature=1.0, generator=None):
    """One id drawn from softmax(logits / temperature); temperature 0: the argmax."""
    if temperature == 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def generate(model, prompt_ids, n_chars, temperature=1.0, generator=None):
    """n_chars new ids after the prompt, each fed back as the next input, the state carried along."""
    with torch.no_grad():
        logits, h = model(torch.as_tensor(prompt_ids, dtype=torch.int64)[None], None)
        new = []
        for _ in range(n_chars):
            new.append(sample_next(logits[0, -1], temperature, generator))
            logits, h = model(torch.tensor([[new[-1]]]), h)
    return new


# ---------------------------------------------------------------------------------------------
# Training with truncated BPTT
# ---------------------------------------------------------------------------------------------
# Calibrated on the course machine, one thread: 65–90 ms per step, 10–14 s in all; the loss falls
# from ln 70 ≈ 4.25 to ≈ 1.8 nats per character, and samples at temperature 0.8 hold English words.
SETTINGS = dict(embed_dim=32, hidden_size=128, batch_size=32, chunk_len=64, steps=160, lr=0.01,
                max_norm=1.0, validation=0.1)


def split(ids: torch.Tensor, validation: float):
    """(training ids, validation ids): the last ``validation`` share of the text is held out."""
    cut = int(len(ids) * (1 - validation))
    return ids[:cut], ids[cut:]


def validation_loss(model, ids: torch.Tensor, batch_size: int = 16) -> float:
    """Mean cross-entropy per character on ``ids``, read as ``batch_size`` streams side by side."""
    inputs, targets = streams(ids, batch_size)
    model.eval()
    with torch.no_grad():
        logits, _ = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)).item()
    model.train()
    return loss


def train_char_rnn(model_cls=CharRNN, step=train_chunk, corpus: str | None = None, seed: int = 0,
                   log_every: int = 20, **settings):
    """Train ``model_cls(vocab, embed_dim, hidden_size)`` with Adam, one ``step(model, x, y, h,
    optimizer, max_norm)`` per chunk, the state carried between chunks (reset at the end of the text).

    Returns (model, vocab, history): history holds the step numbers, the mean training loss of the
    last ``log_every`` steps, the validation loss at those steps, and the seconds taken."""
    cfg = dict(SETTINGS, **settings)
    corpus = load_corpus() if corpus is None else corpus
    vocab = Vocab(corpus)
    train_ids, val_ids = split(vocab.to_ids(corpus), cfg["validation"])
    torch.manual_seed(seed)
    model = model_cls(len(vocab), cfg["embed_dim"], cfg["hidden_size"])
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    history = {"step": [], "train_loss": [], "val_loss": [], "seconds": 0.0}
    chunks, h, recent = None, None, []
    start = time.perf_counter()
    model.train()
    for i in range(1, cfg["steps"] + 1):
        pair = next(chunks, None) if chunks is not None else None
        if pair is None:                                # the end of the text: start again, fresh state
            chunks, h = tbptt_chunks(train_ids, cfg["batch_size"], cfg["chunk_len"]), None
            pair = next(chunks)
        loss, h = step(model, pair[0], pair[1], h, optimizer, cfg["max_norm"])
        recent.append(float(loss))
        if i % log_every == 0 or i == cfg["steps"]:
            history["step"].append(i)
            history["train_loss"].append(float(np.mean(recent)))
            history["val_loss"].append(validation_loss(model, val_ids))
            recent = []
    history["seconds"] = time.perf_counter() - start
    model.eval()
    return model, vocab, history


def loss_table(history: dict) -> str:
    """The run as plain text: step, training loss (mean of the last steps), validation loss."""
    lines = ["  step   training loss   validation loss   (nats per character)"]
    for s, tr, va in zip(history["step"], history["train_loss"], history["val_loss"]):
        lines.append(f"  {s:4d}   {tr:13.3f}   {va:15.3f}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Generation, step by step: the widget
# ---------------------------------------------------------------------------------------------
def generation_trace(model, vocab: Vocab, prompt: str, n_chars: int = 120, temperature: float = 0.8,
                     seed: int = 0, sample=sample_next, k: int = 5) -> dict:
    """Generate ``n_chars`` after ``prompt`` and keep, for each step, the top-k next characters and their
    probabilities (softmax(logits / temperature); at temperature 0, softmax(logits), whose tallest
    bar greedy decoding takes). ``sample(logits, temperature, generator)`` draws each character."""
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    chosen, top_chars, top_probs, p_chosen = [], [], [], []
    with torch.no_grad():
        logits, h = model(vocab.to_ids(prompt)[None], None)
        for _ in range(n_chars):
            last = logits[0, -1]
            probs = torch.softmax(last / (temperature if temperature > 0 else 1.0), dim=-1)
            values, indices = probs.topk(min(k, len(vocab)))
            c = int(sample(last, temperature, generator))
            chosen.append(c)
            top_chars.append([vocab.chars[int(i)] for i in indices])
            top_probs.append(values.numpy().copy())
            p_chosen.append(float(probs[c]))
            logits, h = model(torch.tensor([[c]]), h)
    return {"prompt": prompt, "text": vocab.to_text(chosen), "temperature": float(temperature),
            "top_chars": top_chars, "top_probs": np.array(top_probs), "p_chosen": np.array(p_chosen)}


def _shown(c: str) -> str:
    return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(c, c)


def draw_generation_step(trace: dict, t: int, width: int = 60):
    """The text up to step t (the character chosen at t in brackets) and the top-k bars at step t."""
    fig, (ax_text, ax_bars) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [2.2, 1]})
    before = trace["prompt"] + trace["text"][:t]
    shown = before[-6 * width:] + "[" + _shown(trace["text"][t]) + "]"
    lines = []
    for paragraph in shown.split("\n"):
        lines.extend(textwrap.wrap(paragraph, width, replace_whitespace=False, drop_whitespace=False) or [""])
    ax_text.text(0, 1, "\n".join(lines[-10:]), family="monospace", fontsize=10, va="top", ha="left",
                 transform=ax_text.transAxes)
    ax_text.set_axis_off()
    ax_text.set_title(f"temperature {trace['temperature']:g}: step {t + 1} of {len(trace['text'])}",
                      fontsize=10, loc="left")
    chars, probs = trace["top_chars"][t], trace["top_probs"][t]
    colours = ["tab:orange" if c == trace["text"][t] else "tab:blue" for c in chars]
    ax_bars.barh(range(len(chars))[::-1], probs, color=colours)
    ax_bars.set_yticks(range(len(chars))[::-1], [repr(c)[1:-1] if c != " " else "space" for c in chars],
                       family="monospace")
    ax_bars.set_xlim(0, 1)
    ax_bars.set_xlabel("probability of the next character")
    ax_bars.set_title("top 5 (orange: the one drawn)", fontsize=10)
    fig.tight_layout()
    return fig


def generation_player(model, vocab: Vocab, prompt: str = "PROSPERO.\n", n_chars: int = 120,
                      temperature: float = 0.8, seed: int = 0, sample=sample_next, static: bool | None = None):
    """A temperature slider, a Play button and a step slider over a generated text, with the top-5
    next-character probabilities at each step. Without a widget frontend: the text and the figure of
    the last step, for the given temperature (as course.widgets.step_player does). Returns the trace shown (static) or the widget box."""
    trace = generation_trace(model, vocab, prompt, n_chars, temperature, seed, sample)
    if static is None:
        static = not widgets.frontend_attached()
    if static:
        print(f"temperature {temperature:g}: {prompt}{trace['text']}")
        draw_generation_step(trace, n_chars - 1)
        plt.show()
        return trace
    import ipywidgets as w
    from IPython.display import display

    temp = w.FloatSlider(value=temperature, min=0.0, max=1.5, step=0.1, description="temperature",
                         continuous_update=False)
    play = w.Play(value=0, min=0, max=n_chars - 1, step=1, interval=400, description="Play")
    step = w.IntSlider(value=0, min=0, max=n_chars - 1, description="step")
    w.jslink((play, "value"), (step, "value"))
    text_out, fig_out = w.Output(), w.Output()
    state = {"trace": trace}

    def redraw(change=None):
        with fig_out:
            fig_out.clear_output(wait=True)
            fig = draw_generation_step(state["trace"], step.value)
            plt.show()
            plt.close(fig)

    def regenerate(change=None):
        state["trace"] = generation_trace(model, vocab, prompt, n_chars, temp.value, seed, sample)
        with text_out:
            text_out.clear_output(wait=True)
            print(prompt + state["trace"]["text"])
        redraw()

    temp.observe(regenerate, names="value")
    step.observe(redraw, names="value")
    regenerate()
    box = w.VBox([temp, text_out, w.HBox([play, step]), fig_out])
    display(box)
    return box
