"""Fast tests of assignment 06, Part E (course/assignments/a06_learning_through_time/text.py and
checks_text.py): the corpus and its batching, the course's answers against every check on several
seeds, each typical mistake failing with its named message, the scan refusing the course's answers,
and the generation widget without a frontend."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from course.assignments.a06_learning_through_time import checks_text, text  # noqa: E402,F401
from course.checks import REGISTRY, core  # noqa: E402
from course.checks.rules import Program  # noqa: E402

SEEDS = (1, 2, 3, 7)
MANY = range(8)  # the statistical bounds were also verified on 40 seeds (chi-square) and 30 (z-score)


def verdict(name, answer, seed):
    """The messages the grader would give (empty: pass), the probe's outcome over the wire."""
    kw = {"seed": seed}
    outcome = core.decode(*core.encode(core.run_probe(REGISTRY[name], answer, kw)))
    return REGISTRY[name].verdict(outcome, kw, "answer")


def fails_with(name, answer, phrase, seeds=(1, 2)):
    for seed in seeds:
        messages = verdict(name, answer, seed)
        assert messages and phrase in messages[0], (seed, messages)


# ---- the corpus and its batches -------------------------------------------------------------------
def test_corpus_loads_and_round_trips():
    corpus = text.load_corpus()
    assert 90_000 < len(corpus) <= 150_000 and corpus.startswith("THE TEMPEST")
    assert "PROJECT GUTENBERG" not in corpus.upper() and "Gutenberg" not in corpus
    vocab = text.Vocab(corpus)
    assert len(vocab) == len(set(corpus))
    ids = vocab.to_ids(corpus[:5000])
    assert ids.dtype == torch.int64 and vocab.to_text(ids) == corpus[:5000]


def test_tbptt_chunks_are_contiguous_streams_shifted_by_one():
    ids = torch.arange(1000)
    chunks = list(text.tbptt_chunks(ids, batch_size=4, chunk_len=10))
    n = (1000 - 1) // 4
    assert len(chunks) == n // 10
    for x, y in chunks:
        assert x.shape == y.shape == (4, 10)
        assert torch.equal(y, x + 1)                     # targets: the next character
    # row b of chunk k + 1 continues row b of chunk k
    assert torch.equal(chunks[1][0][:, 0], chunks[0][0][:, -1] + 1)
    assert torch.equal(chunks[0][0][:, 0], torch.arange(4) * n)


# ---- the course's answers pass ---------------------------------------------------------------------
ANSWERS = {"a06_char_rnn": text.CharRNN, "a06_tbptt_step": text.train_chunk,
           "a06_sample_next": text.sample_next, "a06_generate": text.generate}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_reference_passes_on_several_seeds(name):
    for seed in SEEDS:
        assert verdict(name, ANSWERS[name], seed) == [], seed


def test_results_meet_their_contract():
    for name, answer in ANSWERS.items():
        got = REGISTRY[name].probe(answer, seed=4)
        assert REGISTRY[name].result(seed=4).validate(core.decode(*core.encode(got))) is None, name


# ---- CharRNN mistakes ------------------------------------------------------------------------------
def char_rnn(batch_first=True, head="all", use_h=True, softmax=False, rnn_cls=nn.GRU):
    class Model(nn.Module):
        def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_dim)
            self.rnn = rnn_cls(embed_dim, hidden_size, num_layers=num_layers, batch_first=batch_first)
            self.head = nn.Linear(hidden_size, vocab_size)

        def forward(self, x, h=None):
            output, h_n = self.rnn(self.embedding(x), h if use_h else None)
            logits = self.head({"last": output[:, -1], "last_kept": output[:, -1:]}.get(head, output))
            return (logits.softmax(-1) if softmax else logits), h_n

    return Model


def test_char_rnn_mistakes_are_named():
    fails_with("a06_char_rnn", char_rnn(batch_first=False), "batch_first=True")
    fails_with("a06_char_rnn", char_rnn(head="last"), "head to the last step only")
    fails_with("a06_char_rnn", char_rnn(head="last_kept"), "head to the last step only")
    fails_with("a06_char_rnn", char_rnn(use_h=False), "forward ignores h")
    fails_with("a06_char_rnn", char_rnn(softmax=True), "returns probabilities")
    fails_with("a06_char_rnn", char_rnn(rnn_cls=nn.LSTM), "should be an nn.GRU")

    class Swapped(char_rnn()):
        def forward(self, x, h=None):
            logits, h_n = super().forward(x, h)
            return logits.transpose(0, 1), h_n

    fails_with("a06_char_rnn", Swapped, "(seq, batch, vocab)")

    class WrongHead(char_rnn()):
        def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1):
            super().__init__(vocab_size, embed_dim, hidden_size, num_layers)
            self.head = nn.Linear(embed_dim, vocab_size)

    fails_with("a06_char_rnn", WrongHead, "nn.Linear(hidden_size, vocab_size)")


# ---- train_chunk mistakes --------------------------------------------------------------------------
def train_chunk(detach=True, clip="before", zero_grad=True, item=True, detach_out=True):
    def step(model, x, y, h, optimizer, max_norm):
        if detach and h is not None:
            h = h.detach()
        if zero_grad:
            optimizer.zero_grad()
        logits, h_n = model(x, h)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        if clip == "before":
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        if clip == "after":
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        return (loss.item() if item else loss), (h_n.detach() if detach_out else h_n)
    return step


def test_tbptt_mistakes_are_named():
    fails_with("a06_tbptt_step", train_chunk(detach=False), "crossed the chunk boundary")
    fails_with("a06_tbptt_step", train_chunk(detach=False, detach_out=False), "h = h.detach()")
    fails_with("a06_tbptt_step", train_chunk(clip=None), "not clipped")
    fails_with("a06_tbptt_step", train_chunk(clip="after"), "not clipped")
    fails_with("a06_tbptt_step", train_chunk(zero_grad=False), "zero_grad")
    fails_with("a06_tbptt_step", train_chunk(item=False), "loss.item()")
    fails_with("a06_tbptt_step", train_chunk(detach_out=False), "return h_n.detach()")

    def flat_loss_missing(model, x, y, h, optimizer, max_norm):
        logits, h_n = model(x, h.detach())
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item(), h_n.detach()

    fails_with("a06_tbptt_step", flat_loss_missing, "raised")

    def always_detach(model, x, y, h, optimizer, max_norm):
        return text.train_chunk(model, x, y, h.detach(), optimizer, max_norm)

    fails_with("a06_tbptt_step", always_detach, "h is None")


def test_tbptt_judge_sees_the_boundary():
    """The replayed mistake moves the parameters differently: the gradient through the previous chunk
    is not negligible on the probe's cases."""
    for case in checks_text.tbptt_cases(5)[:1]:
        right = checks_text.replay(case)[2][0]
        crossed = checks_text.replay(case, "no_detach")[2][0]
        assert not checks_text._same(right, crossed)


# ---- sample_next and generate mistakes -----------------------------------------------------------------
def sampler(scale="divide", greedy_zero=True, use_generator=True):
    def sample_next(logits, temperature=1.0, generator=None):
        if temperature == 0 and greedy_zero:
            return int(torch.argmax(logits))
        scaled = {"divide": logits / temperature, "ignore": logits, "multiply": logits * temperature}[scale]
        probs = torch.softmax(scaled, -1)
        return int(torch.multinomial(probs, 1, generator=generator if use_generator else None))
    return sample_next


def inverse_cdf(logits, temperature=1.0, generator=None):
    """Another right answer: inverse-CDF sampling with the generator's uniform draw."""
    if temperature == 0:
        return int(logits.argmax())
    cdf = torch.softmax(logits / temperature, -1).cumsum(-1)
    return min(int((cdf < torch.rand((), generator=generator)).sum()), len(cdf) - 1)


def test_sample_next_statistics_hold_on_many_seeds():
    for seed in MANY:
        assert verdict("a06_sample_next", text.sample_next, seed) == [], seed
        assert verdict("a06_sample_next", inverse_cdf, seed) == [], seed


def test_sample_next_mistakes_are_named():
    fails_with("a06_sample_next", sampler(scale="ignore"), "temperature is ignored", seeds=range(3))
    fails_with("a06_sample_next", sampler(scale="multiply"), "multiplied by the temperature", seeds=range(3))
    fails_with("a06_sample_next", sampler(use_generator=False), "generator", seeds=range(3))
    fails_with("a06_sample_next", sampler(greedy_zero=False), "temperature=0")


def generator_fn(sample=text.sample_next, feed="prediction", carry=True, rerun=False, with_prompt=False):
    def generate(model, prompt_ids, n_chars, temperature=1.0, generator=None):
        out = []
        with torch.no_grad():
            logits, h = model(torch.tensor([prompt_ids]))
            for _ in range(n_chars):
                out.append(sample(logits[0, -1], temperature, generator))
                if rerun:                               # no state, but the whole text again: same result
                    logits, _ = model(torch.tensor([list(prompt_ids) + out]))
                    continue
                fed = out[-1] if feed == "prediction" else prompt_ids[-1]
                logits, h = model(torch.tensor([[fed]]), h if carry else None)
        return list(prompt_ids) + out if with_prompt else out
    return generate


def test_generate_statistics_hold_on_many_seeds():
    for seed in MANY:
        assert verdict("a06_generate", text.generate, seed) == [], seed
        assert verdict("a06_generate", generator_fn(sample=inverse_cdf), seed) == [], seed


def test_generate_mistakes_are_named():
    assert verdict("a06_generate", generator_fn(rerun=True), 1) == []
    fails_with("a06_generate", generator_fn(feed="prompt"), "prompt's last character")
    fails_with("a06_generate", generator_fn(carry=False), "fresh state")
    fails_with("a06_generate", generator_fn(with_prompt=True), "without the prompt")
    fails_with("a06_generate", generator_fn(sample=sampler(scale="ignore")), "pass the temperature on")
    greedy = generator_fn(sample=lambda logits, temperature, generator: int(logits.argmax()))
    fails_with("a06_generate", greedy, "is greedy")


# ---- the trusted scan --------------------------------------------------------------------------------
SETUP = "import torch\nfrom course.assignments.a06_learning_through_time import text"


@pytest.mark.parametrize("name, cell, answer", [
    ("a06_char_rnn", "class CharRNN(text.CharRNN):\n    pass", "CharRNN"),
    ("a06_generate", "def generate(model, p, n, t=1.0, g=None):\n    return text.generate(model, p, n, t, g)",
     "generate"),
    ("a06_sample_next", "from course.assignments.a06_learning_through_time.text import sample_next", "sample_next"),
])
def test_scan_refuses_the_course_answers(name, cell, answer):
    found = REGISTRY[name].scan(Program([(SETUP, False), (cell, True)]), answer)
    assert found and "course's own answer" in found[0]


def test_scan_accepts_an_own_answer():
    cell = ("def sample_next(logits, temperature=1.0, generator=None):\n"
            "    return int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator))\n"
            "def generate(model, prompt_ids, n_chars, temperature=1.0, generator=None):\n"
            "    return [sample_next(model(torch.tensor([prompt_ids]))[0][0, -1], temperature, generator)]")
    assert REGISTRY["a06_generate"].scan(Program([(SETUP, False), (cell, True)]), "generate") == []


# ---- training and the widget --------------------------------------------------------------------------
def test_short_training_lowers_the_loss():
    model, vocab, history = text.train_char_rnn(steps=6, log_every=3, hidden_size=16, batch_size=4,
                                                chunk_len=16, corpus=text.load_corpus()[:4000])
    assert history["step"] == [3, 6] and len(history["val_loss"]) == 2
    assert history["train_loss"][-1] < np.log(len(vocab)) + 0.1
    assert "step" in text.loss_table(history)


def test_generation_widget_falls_back_without_a_frontend(monkeypatch, capsys):
    import matplotlib.pyplot as plt
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    corpus = text.load_corpus()[:3000]
    vocab = text.Vocab(corpus)
    torch.manual_seed(0)
    model = text.CharRNN(len(vocab), 8, 16)
    trace = text.generation_player(model, vocab, "MIRANDA.\n", n_chars=30, temperature=0.8)
    assert isinstance(trace, dict) and len(trace["text"]) == 30
    assert trace["top_probs"].shape == (30, 5) and np.all(np.diff(trace["top_probs"], axis=1) <= 0)
    assert "temperature 0.8: MIRANDA." in capsys.readouterr().out
    greedy = text.generation_trace(model, vocab, "MIRANDA.\n", 20, temperature=0)
    assert all(t[0] == c for t, c in zip(greedy["top_chars"], greedy["text"]))   # the tallest bar
    plt.close("all")


def test_generation_widget_interactive_builds_its_controls():
    import ipywidgets as w
    import matplotlib.pyplot as plt
    corpus = text.load_corpus()[:3000]
    vocab = text.Vocab(corpus)
    model = text.CharRNN(len(vocab), 8, 16)
    box = text.generation_player(model, vocab, "MIRANDA.\n", n_chars=10, static=False)
    assert isinstance(box.children[0], w.FloatSlider)
    assert isinstance(box.children[2].children[0], w.Play)
    box.children[0].value = 0.3                       # a new temperature regenerates the text
    plt.close("all")


def test_scan_accepts_the_solution_cells():
    cells = [
        "class CharRNN(nn.Module):\n"
        "    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1):\n"
        "        super().__init__()\n"
        "        self.embedding = nn.Embedding(vocab_size, embed_dim)\n"
        "        self.rnn = nn.GRU(embed_dim, hidden_size, num_layers=num_layers, batch_first=True)\n"
        "        self.head = nn.Linear(hidden_size, vocab_size)\n"
        "    def forward(self, x, h=None):\n"
        "        output, h_n = self.rnn(self.embedding(x), h)\n"
        "        return self.head(output), h_n",
        "def train_chunk(model, x, y, h, optimizer, max_norm):\n"
        "    if h is not None:\n        h = h.detach()\n"
        "    logits, h_n = model(x, h)\n"
        "    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))\n"
        "    optimizer.zero_grad()\n    loss.backward()\n"
        "    nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n    optimizer.step()\n"
        "    return loss.item(), h_n.detach()",
    ]
    program = Program([(SETUP + "\nfrom torch import nn\nfrom torch.nn import functional as F", False),
                       *[(c, True) for c in cells]])
    assert REGISTRY["a06_char_rnn"].scan(program, "CharRNN") == []
    assert REGISTRY["a06_tbptt_step"].scan(program, "train_chunk") == []


# ---- the review's findings: return types, named step mistakes, the log_softmax hint ------------------
def no_raised(messages):
    """A message about what the code returned never says it raised."""
    assert messages and "raised" not in messages[0], messages
    return messages[0]


@pytest.mark.parametrize("wrap", [int, np.int64, np.int32, torch.tensor, lambda i: torch.tensor([i])],
                         ids=["int", "np.int64", "np.int32", "0-dim tensor", "1-element tensor"])
def test_sample_next_accepts_any_integer_id(wrap):
    def sample_next(logits, temperature=1.0, generator=None):
        return wrap(int(text.sample_next(logits, temperature, generator)))
    assert verdict("a06_sample_next", sample_next, 1) == []


@pytest.mark.parametrize("returned", [
    lambda ids: ids, lambda ids: [np.int64(i) for i in ids], lambda ids: tuple(ids),
    lambda ids: [torch.tensor(i) for i in ids], lambda ids: [torch.tensor([i]) for i in ids],
    lambda ids: torch.tensor(ids), lambda ids: np.array(ids)],
    ids=["ints", "np.int64s", "tuple", "0-dim tensors", "1-element tensors", "1-D tensor", "1-D array"])
def test_generate_accepts_any_integer_ids(returned):
    def generate(model, prompt_ids, n_chars, temperature=1.0, generator=None):
        return returned(text.generate(model, prompt_ids, n_chars, temperature, generator))
    assert verdict("a06_generate", generate, 1) == []


def test_returning_a_non_id_is_named_without_saying_raised():
    as_float = lambda logits, temperature=1.0, generator=None: float(text.sample_next(logits, temperature, generator))  # noqa: E731
    assert "sample_next returned a float, not a character id" in no_raised(verdict("a06_sample_next", as_float, 1))

    def floats(model, prompt_ids, n_chars, temperature=1.0, generator=None):
        return [float(i) for i in text.generate(model, prompt_ids, n_chars, temperature, generator)]
    assert "returned a list holding a float" in no_raised(verdict("a06_generate", floats, 1))

    def row(model, prompt_ids, n_chars, temperature=1.0, generator=None):
        return torch.tensor([text.generate(model, prompt_ids, n_chars, temperature, generator)])
    assert "one-dimensional" in no_raised(verdict("a06_generate", row, 1))

    def one_value(model, x, y, h, optimizer, max_norm):
        return text.train_chunk(model, x, y, h, optimizer, max_norm)[0]
    assert "train_chunk returned a float, not a pair" in no_raised(verdict("a06_tbptt_step", one_value, 1))

    class LogitsOnly(char_rnn()):
        def forward(self, x, h=None):
            return super().forward(x, h)[0]
    assert "returned a float32 tensor" in no_raised(verdict("a06_char_rnn", LogitsOnly, 1))
    assert "returned an int64 tensor of shape" in no_raised(verdict("a06_generate", row, 1))


def test_tbptt_partial_clip_and_last_step_loss_are_named():
    def clip_rnn_only(model, x, y, h, optimizer, max_norm):
        h = None if h is None else h.detach()
        optimizer.zero_grad()
        logits, h_n = model(x, h)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.rnn.parameters(), max_norm)
        optimizer.step()
        return loss.item(), h_n.detach()

    def last_step_loss(model, x, y, h, optimizer, max_norm):
        h = None if h is None else h.detach()
        optimizer.zero_grad()
        logits, h_n = model(x, h)
        loss = F.cross_entropy(logits[:, -1], y[:, -1])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        return loss.item(), h_n.detach()

    fails_with("a06_tbptt_step", clip_rnn_only,
               "only part of the model was clipped: clip model.parameters(), all of them together")
    fails_with("a06_tbptt_step", last_step_loss,
               "the loss reads only the last step: a many-to-many model is trained on every step's "
               "prediction (flatten batch and time)")


def test_log_softmax_sampling_gets_its_hint():
    def log_softmax_sampler(logits, temperature=1.0, generator=None):
        if temperature == 0:
            return int(torch.argmax(logits))
        return int(torch.multinomial(torch.log_softmax(logits / temperature, -1), 1, generator=generator))

    hint = "log_softmax gives log-probabilities (≤ 0); torch.multinomial needs probabilities: softmax"
    fails_with("a06_sample_next", log_softmax_sampler, hint)
    fails_with("a06_generate", generator_fn(sample=log_softmax_sampler), hint)
    # dividing by temperature 0 raises the same error from torch.multinomial: that one is the greedy hint
    no_greedy = generator_fn(sample=sampler(greedy_zero=False))
    fails_with("a06_generate", no_greedy, "temperature 0 means greedy")
    assert hint not in verdict("a06_generate", no_greedy, 1)[0]
