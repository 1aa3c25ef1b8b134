"""Checks for Part E of assignment 06, "A character model that writes".

As everywhere (core.py): the probe builds its inputs from the literal kw, calls only the student's
code and returns plain data; ``result`` states its exact shape; the judge rebuilds the same inputs,
recomputes the reference with real PyTorch modules and names the mistake it sees.

* ``a06_char_rnn``: the student's CharRNN with seeded weights loaded by parameter name; its logits and
  h_n against nn.Embedding → nn.GRU → nn.Linear holding the same numbers.
* ``a06_tbptt_step``: ``train_chunk`` on the course's CharRNN, handed a state that is still part of
  the previous chunk's graph and stale gradients; the parameters after the step must equal one
  clipped SGD step with that state treated as a constant (the judge replays it, and each mistake).
* ``a06_sample_next``: greedy at temperature 0 exactly; at other temperatures the counts of many draws
  against softmax(logits / T) by a chi-square bound that a right answer passes on every seed.
* ``a06_generate``: greedy generation exactly equal to the reference on a seeded model; at T > 0 the
  log-probabilities of the drawn characters, recomputed by the judge, must look like draws from
  softmax(logits / T) (a z-score on their sum).
"""
from __future__ import annotations

import math
import random
import warnings
import zlib

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...checks.contract import (Array, Bool, Cases, Float, Int, ListOf, Nullable, OneOf, PerCase, Record,
                                Str, Value)
from ...checks.core import Check, to_plain, type_name
from ...checks.support import attempt, close, is_tensor, number, param_arrays, seeded_tensor
from .text import REFERENCE_NAMES, CharRNN

ATOL = 1e-5  # float32 logits of the same modules, maybe summed in another order


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------
def load_seeded(model: nn.Module, seed: int) -> None:
    """Every parameter of ``model`` overwritten with seeded numbers drawn by its name (embeddings
    larger: they play the part of the input)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(seeded_tensor(seed, name, p.shape, 1.5 if name.startswith("embedding") else 0.6))


def seeded_ids(seed: int, tag: str, shape, vocab: int) -> torch.Tensor:
    g = torch.Generator().manual_seed((int(seed) * 104729 + zlib.crc32(tag.encode())) % 2**63)
    return torch.randint(0, vocab, tuple(shape), generator=g)


def reference_model(case) -> CharRNN:
    """The course's CharRNN with the case's sizes and seeded weights (the head's scaled by the case's
    ``head_scale``: sharper next-character distributions, on which temperature visibly matters)."""
    model = CharRNN(case["vocab"], case["embed"], case["hidden"], case.get("num_layers", 1))
    load_seeded(model, case["seed"])
    if case.get("head_scale"):
        with torch.no_grad():
            model.head.weight.mul_(case["head_scale"])
    return model


class TextCheck(Check):
    """Part E's checks: besides the shared stand-ins, the course's answers in text.py count as
    borrowed (``text.CharRNN`` and friends, however imported)."""

    def scan(self, program, answer, **kw):
        borrowed = program.reaches(answer, REFERENCE_NAMES, calls=False) if answer else []
        if borrowed:
            return [f"your answer uses {', '.join(sorted(set(borrowed)))} from the course's text module: "
                    "the course's own answer, there so that the demonstrations run while an exercise "
                    "is unfinished. Write your own — no credit for this part until then."]
        return super().scan(program, answer, **kw)


def _tensor_or_type(value) -> dict:
    """Kernel side: a returned tensor as its numbers, anything else as the name of its type."""
    plain = to_plain(value)
    if is_tensor(plain):
        return {"tensor": plain["data"]}
    return {"returned": type_name(plain)[:200]}


TENSOR_OR_TYPE = OneOf(Record(tensor=Array()), Record(returned=Str(200)))


def describe(value) -> str:
    """Kernel side: what a returned value is, in words for a message ("a float", "numpy.float64",
    "a float32 tensor of shape (1,)"). Only ever shown to the student, never judged."""
    def a(word):
        return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
    if torch.is_tensor(value):
        return f"{a(str(value.dtype).replace('torch.', ''))} tensor of shape {tuple(value.shape)}"[:200]
    if isinstance(value, np.ndarray):
        return f"a NumPy {value.dtype} array of shape {value.shape}"[:200]
    if isinstance(value, np.generic):
        return f"numpy.{type(value).__name__}"[:200]
    if value is None:
        return "None"
    return a(type(value).__name__)[:200]


def id_of(value) -> int | None:
    """Kernel side: a character id as a Python int, from any integer value — a Python int, a NumPy
    integer, a one-element integer tensor or array; None for anything else (True/False, a float, ...).
    What the student returns is read by its value, so int, np.int64 and tensor(3) are all fine."""
    if torch.is_tensor(value):
        if value.numel() != 1 or value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
            return None
        return int(value.reshape(-1)[0].item())
    if isinstance(value, np.ndarray):
        return int(value.reshape(-1)[0]) if value.size == 1 and value.dtype.kind in "iu" else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)  # an int subclass loses its class
    return None


def as_int64(ids) -> np.ndarray:
    """Ids as int64 for the wire; an id beyond int64 becomes -1 (the judge calls it out of range)."""
    return np.array([i if -2**63 <= i < 2**63 else -1 for i in ids], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# CharRNN
# ---------------------------------------------------------------------------------------------
def char_rnn_cases(seed, n=3):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        vocab, embed, hidden, batch, seq_len = rng.sample(range(3, 16), 5)
        cases.append({"vocab": vocab, "embed": embed, "hidden": hidden, "batch": batch, "seq_len": seq_len,
                      "num_layers": 2 if i == n - 1 else 1, "seed": rng.randrange(2**31)})
    return cases


def char_rnn_inputs(case):
    x = seeded_ids(case["seed"], "x", (case["batch"], case["seq_len"]), case["vocab"])
    h0 = seeded_tensor(case["seed"], "h0", (case["num_layers"], case["batch"], case["hidden"]), 1.0)
    return x, h0


def _structure(model) -> dict:
    """Kernel side: what the judge reads of the model's three named parts."""
    emb, rnn, head = (getattr(model, name, None) for name in ("embedding", "rnn", "head"))
    entry = {"is_module": isinstance(model, nn.Module)}
    if isinstance(emb, nn.Embedding):
        entry["embedding"] = [int(emb.num_embeddings), int(emb.embedding_dim)]
    if isinstance(rnn, nn.RNNBase):
        entry["rnn"] = {"type": type(rnn).__name__[:100], "input_size": int(rnn.input_size),
                        "hidden_size": int(rnn.hidden_size), "num_layers": int(rnn.num_layers),
                        "batch_first": bool(rnn.batch_first), "bidirectional": bool(rnn.bidirectional)}
    if isinstance(head, nn.Linear):
        entry["head"] = [int(head.in_features), int(head.out_features)]
    return entry


def _run_char_rnn(cls, case):
    with torch.random.fork_rng():
        torch.manual_seed(case["seed"])
        model = cls(case["vocab"], case["embed"], case["hidden"], case["num_layers"])
    entry = _structure(model)
    want = {name for name, _ in reference_model(case).named_parameters()}
    have = {name for name, _ in model.named_parameters()} if entry["is_module"] else set()
    entry["parameters"] = sorted(have)[:200]
    if have != want:
        return entry
    load_seeded(model, case["seed"])
    model.eval()
    x, h0 = char_rnn_inputs(case)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, args in (("with_h0", (x, h0)), ("without_h0", (x,))):
            out, raised = attempt(model, *args)
            if raised:
                entry[key] = raised
            elif not (isinstance(out, (tuple, list)) and len(out) == 2):
                entry[key] = {"returned": describe(out)}
            else:
                entry[key] = {"logits": _tensor_or_type(out[0]), "h_n": _tensor_or_type(out[1])}
    return entry


def _run_spec():
    pair = Record(logits=TENSOR_OR_TYPE, h_n=TENSOR_OR_TYPE)
    return OneOf(pair, Record(error=Str()), Record(returned=Str(200)))


CHAR_RNN_ENTRY = Record(
    {"is_module": Bool(), "parameters": ListOf(Str(200), max_len=200)},
    optional={"embedding": ListOf(Int(0), n=2), "head": ListOf(Int(0), n=2),
              "rnn": Record(type=Str(100), input_size=Int(0), hidden_size=Int(0), num_layers=Int(0),
                            batch_first=Bool(), bidirectional=Bool()),
              "with_h0": _run_spec(), "without_h0": _run_spec()})


def _char_rnn_signature(case):
    return f"CharRNN({case['vocab']}, {case['embed']}, {case['hidden']}, num_layers={case['num_layers']})"


class CharRNNCheck(TextCheck):
    """``CharRNN(vocab_size, embed_dim, hidden_size, num_layers=1)`` with ``forward(x, h=None) ->
    (logits (batch, seq, vocab), h_n)``: embedding → GRU (batch_first) → linear head on every step."""

    name = "a06_char_rnn"

    def probe(self, cls, seed=0, n=3, **kw):
        return {"results": [_run_char_rnn(cls, case) for case in char_rnn_cases(seed, n)]}

    def result(self, seed=0, n=3, **kw):
        return Record(results=Cases(CHAR_RNN_ENTRY, len(char_rnn_cases(seed, n))))

    def judge(self, got, seed=0, n=3, **kw):
        for case, entry in zip(char_rnn_cases(seed, n), got["results"], strict=True):
            call = _char_rnn_signature(case)
            problem = self._structure(case, entry) or self._outputs(case, entry)
            if problem:
                return [f"{call}: {problem}"]
        return []

    @staticmethod
    def _structure(case, entry):
        if not entry["is_module"]:
            return "CharRNN must subclass nn.Module (and call super().__init__() first)."
        V, E, H, L = case["vocab"], case["embed"], case["hidden"], case["num_layers"]
        if "embedding" not in entry:
            return "self.embedding should be an nn.Embedding(vocab_size, embed_dim): it turns ids into vectors."
        if entry["embedding"] != [V, E]:
            return (f"the embedding is nn.Embedding{tuple(entry['embedding'])}; it should be "
                    f"nn.Embedding(vocab_size, embed_dim) = nn.Embedding({V}, {E}).")
        if "rnn" not in entry:
            return "self.rnn should be an nn.GRU (built with batch_first=True)."
        rnn = entry["rnn"]
        if rnn["type"] != "GRU":
            return f"self.rnn should be an nn.GRU, not nn.{rnn['type']}."
        for key, want in (("input_size", E), ("hidden_size", H), ("num_layers", L)):
            if rnn[key] != want:
                hint = " (the GRU reads the embeddings: its input_size is embed_dim)" if key == "input_size" else ""
                return f"the GRU's {key} is {rnn[key]}, it should be {want}{hint}."
        if rnn["bidirectional"]:
            return "a model that predicts the next character may only read the past: bidirectional=False."
        if not rnn["batch_first"]:
            return ("build the GRU with batch_first=True: x arrives as (batch, seq) ids, so the embeddings "
                    "are (batch, seq, embed_dim), and without it the GRU reads dimension 0 as time.")
        if "head" not in entry:
            return "self.head should be an nn.Linear(hidden_size, vocab_size): one score per character."
        if entry["head"] != [H, V]:
            return (f"the head is nn.Linear{tuple(entry['head'])}; it should be nn.Linear(hidden_size, "
                    f"vocab_size) = nn.Linear({H}, {V}).")
        want = sorted(n for n, _ in reference_model(case).named_parameters())
        if entry["parameters"] != want:
            extra = sorted(set(entry["parameters"]) - set(want))
            return (f"the model has parameters beyond embedding, rnn and head ({', '.join(extra)[:120]}): "
                    "keep exactly these three parts.")
        return None

    @staticmethod
    def _outputs(case, entry):
        model = reference_model(case)
        x, h0 = char_rnn_inputs(case)
        with torch.no_grad():
            emb = model.embedding(x)
            output, h_n = model.rnn(emb, h0)
            logits = model.head(output)
            output_none, h_n_none = model.rnn(emb)
            logits_none = model.head(output_none)
        B, T, V = case["batch"], case["seq_len"], case["vocab"]
        for key, want_logits, want_h, out_none in (("without_h0", logits_none, h_n_none, None),
                                                   ("with_h0", logits, h_n, logits_none)):
            run = entry.get(key)
            if run is None:
                return "the model could not be run."
            if "returned" in run:
                return (f"forward({'x, h' if key == 'with_h0' else 'x'}) returned {run['returned']}, not a "
                        "pair: return (logits, h_n), the head's scores and the GRU's final state.")
            if "error" in run:
                hint = ""
                if key == "with_h0" and "positional" in run["error"]:
                    hint = " — forward takes (x, h=None): pass h on to the GRU as its initial state."
                return f"forward({'x, h' if key == 'with_h0' else 'x'}) raised {run['error']}{hint}"
            if "tensor" not in run["logits"]:
                return f"the logits should be a tensor, not {run['logits']['returned']}."
            got = run["logits"]["tensor"]
            last = want_logits[:, -1].numpy()
            if ((got.shape == (B, V) and close(got, last, atol=ATOL))
                    or (got.shape == (B, 1, V) and close(got[:, 0], last, atol=ATOL))):
                return ("forward applies the head to the last step only: this model predicts the next "
                        "character after *every* step, so the head reads the whole output, (batch, seq, "
                        "hidden) → logits (batch, seq, vocab).")
            if got.shape == (T, B, V):
                return (f"the logits are (seq, batch, vocab) = {got.shape}: keep batch first, "
                        f"(batch, seq, vocab) = ({B}, {T}, {V}).")
            if got.shape == (B, T, V):
                if close(got, torch.softmax(want_logits, -1).numpy(), atol=ATOL):
                    return ("forward returns probabilities (softmax over the vocabulary): return the raw "
                            "scores (logits). F.cross_entropy applies log-softmax itself, and sampling "
                            "divides the logits by the temperature before its own softmax.")
                if close(got, torch.log_softmax(want_logits, -1).numpy(), atol=ATOL):
                    return ("forward returns log-probabilities (log_softmax): return the raw logits; "
                            "F.cross_entropy applies log-softmax itself.")
                if out_none is not None and close(got, out_none.numpy(), atol=ATOL):
                    return ("forward ignores h: called with a state it returns what it returns from zeros. "
                            "Pass h to the GRU, self.rnn(emb, h): that is how a chunk starts where the "
                            "previous one stopped, and how generation carries its memory.")
            if got.shape != (B, T, V):
                return f"the logits should be (batch, seq, vocab) = ({B}, {T}, {V}), not {got.shape}."
            if not close(got, want_logits.numpy(), atol=ATOL):
                return ("with the same weights the logits differ from head(GRU(embedding(x), h)[0]): "
                        "embed the ids, run the GRU from h, apply the head to every step, nothing else.")
            if "tensor" not in run["h_n"]:
                return f"h_n should be a tensor, not {run['h_n']['returned']}."
            got_h = run["h_n"]["tensor"]
            if got_h.shape != tuple(want_h.shape):
                return (f"h_n should be the GRU's final state, (num_layers, batch, hidden) = "
                        f"{tuple(want_h.shape)}, not {got_h.shape}.")
            if not close(got_h, want_h.numpy(), atol=ATOL):
                return "the second value should be the GRU's h_n (its state after the last step)."
        return None

    def passed(self, got, n=3, **kw):
        return (f"same logits (batch, seq, vocab) and h_n as Embedding → GRU → Linear on {n} "
                "configurations, with and without h.")


# ---------------------------------------------------------------------------------------------
# train_chunk: one truncated-BPTT step
# ---------------------------------------------------------------------------------------------
LR = 0.5
MAX_NORM = 0.2


def tbptt_cases(seed, n=2):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        vocab, embed, hidden, batch, chunk = rng.sample(range(3, 14), 5)
        # the last case starts from h=None, as the first chunk of a text does
        cases.append({"vocab": vocab, "embed": embed, "hidden": hidden, "batch": batch, "chunk": chunk,
                      "fresh": i == n - 1 and n > 1, "seed": rng.randrange(2**31)})
    return cases


def tbptt_setup(case):
    """The model with stale gradients, an SGD optimiser, the state h handed over by the previous chunk
    (still attached to that chunk's graph; None for a ``fresh`` case), and two chunks (x, y)."""
    model = reference_model(case)
    for name, p in model.named_parameters():
        p.grad = seeded_tensor(case["seed"], "stale." + name, p.shape, 1.0)
    B, L, V = case["batch"], case["chunk"], case["vocab"]
    ids = seeded_ids(case["seed"], "text", (B, 3 * L + 1), V)
    _, h = model(ids[:, :L])                           # the previous chunk: h keeps its graph
    if case.get("fresh"):
        h = None
    chunks = [(ids[:, L:2 * L], ids[:, L + 1:2 * L + 1]), (ids[:, 2 * L:3 * L], ids[:, 2 * L + 1:3 * L + 1])]
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    return model, h, chunks, optimizer


def replay(case, mistake=None):
    """The judge's run of two chunks: (loss of chunk 1, h_n of chunk 1, parameters after 1 and 2)."""
    model, h, chunks, optimizer = tbptt_setup(case)
    losses, states, params = [], [], []
    for x, y in chunks:
        h_in = h if (mistake == "no_detach" and not states) or h is None else h.detach()
        if mistake != "no_zero_grad":
            optimizer.zero_grad()
        logits, h_n = model(x, h_in)
        if mistake == "last_step_loss":
            loss = F.cross_entropy(logits[:, -1], y[:, -1])
        else:
            loss = F.cross_entropy(logits.reshape(-1, case["vocab"]), y.reshape(-1))
        loss.backward()
        if mistake == "clip_rnn_only":
            nn.utils.clip_grad_norm_(model.rnn.parameters(), MAX_NORM)
        elif mistake not in ("no_clip", "clip_after_step"):
            nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        optimizer.step()
        if mistake == "clip_after_step":
            nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        losses.append(loss.item())
        states.append(h_n.detach())
        params.append(param_arrays(model))
        h = h_n.detach()
    return losses, states, params


TBPTT_MISTAKES = {
    "no_detach": ("the gradient crossed the chunk boundary: the parameters moved as if the loss had "
                  "been backpropagated into the previous chunk too. Detach the state you are handed, "
                  "h = h.detach(), before the forward pass: truncated BPTT treats the start state as a "
                  "constant (its value carries on, its history does not)."),
    "no_clip": ("the step is not clipped: call nn.utils.clip_grad_norm_(model.parameters(), max_norm) "
                "after loss.backward() and before optimizer.step()."),
    "clip_after_step": ("the step is not clipped: call nn.utils.clip_grad_norm_(model.parameters(), "
                        "max_norm) after loss.backward() and before optimizer.step()."),
    "no_zero_grad": ("the gradients left over from the previous step were added to this one: call "
                     "optimizer.zero_grad() before loss.backward()."),
    "clip_rnn_only": ("only part of the model was clipped: clip model.parameters(), all of them together, "
                      "nn.utils.clip_grad_norm_(model.parameters(), max_norm). The norm is one number over "
                      "every gradient (embedding, GRU and head), and the whole step is scaled by it."),
    "last_step_loss": ("the loss reads only the last step: a many-to-many model is trained on every step's "
                       "prediction (flatten batch and time), F.cross_entropy(logits.reshape(-1, vocab), "
                       "y.reshape(-1)) — every character of the chunk is a target."),
}


def _same(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(close(a[k], b[k], atol=1e-5) for k in a)


class TBPTTStep(TextCheck):
    """``train_chunk(model, x, y, h, optimizer, max_norm) -> (loss float, h_next)``: one clipped step on
    a chunk, the gradient stopping at the chunk's start, the returned state detached.

    The probe hands the course's CharRNN (seeded weights, stale gradients, SGD) and a state that is
    still attached to the previous chunk's graph, then a second chunk with the state returned."""

    name = "a06_tbptt_step"

    def probe(self, fn, seed=0, n=2, **kw):
        results = []
        for case in tbptt_cases(seed, n):
            model, h, chunks, optimizer = tbptt_setup(case)
            entry = {"steps": []}
            for x, y in chunks:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out, raised = attempt(fn, model, x, y, h, optimizer, MAX_NORM)
                if raised:
                    entry["steps"].append(raised)
                    break
                if not (isinstance(out, (tuple, list)) and len(out) == 2):
                    entry["steps"].append({"returned": describe(out)})
                    break
                plain_h = to_plain(out[1])
                step = {"loss": to_plain(out[0]) if not torch.is_tensor(out[0]) else
                        {"tensor": float(out[0].detach().reshape(-1)[0]) if out[0].numel() else 0.0},
                        "h": plain_h["data"] if is_tensor(plain_h) else None,
                        "h_graph": bool(torch.is_tensor(out[1]) and out[1].requires_grad),
                        "params": param_arrays(model)}
                entry["steps"].append(step)
                h = out[1]
            results.append(entry)
        return {"results": results}

    def result(self, seed=0, n=2, **kw):
        entries = []
        for case in tbptt_cases(seed, n):
            model = reference_model(case)
            params = Record({name: Array("f", shape=tuple(p.shape)) for name, p in model.named_parameters()})
            step = Record(loss=OneOf(Record(tensor=Float()), Value()), h=Nullable(Array("f")),
                          h_graph=Bool(), params=params)
            entries.append(Record(steps=ListOf(OneOf(step, Record(error=Str()), Record(returned=Str(200))),
                                               max_len=2)))
        return Record(results=PerCase(entries))

    def judge(self, got, seed=0, n=2, **kw):
        for case, entry in zip(tbptt_cases(seed, n), got["results"], strict=True):
            call = (f"a CharRNN({case['vocab']}, {case['embed']}, {case['hidden']}) on chunks of "
                    f"{case['batch']} streams × {case['chunk']} characters"
                    + (", starting from h=None" if case.get("fresh") else ""))
            problem = self._case(case, entry)
            if problem:
                return [f"{call}: {problem}"]
        return []

    def _case(self, case, entry):
        steps = entry.get("steps") if isinstance(entry, dict) else None
        if not isinstance(steps, list) or not steps:
            return "nothing came back from train_chunk."
        losses, states, params = replay(case)
        for i, step in enumerate(steps):
            if not isinstance(step, dict):
                return "train_chunk returned something unreadable."
            if "returned" in step:
                return (f"{'the second' if i else 'the first'} chunk: train_chunk returned {step['returned']}, "
                        "not a pair: return (loss.item(), h_n.detach()).")
            if "error" in step:
                msg = step["error"]
                hint = ""
                if "NoneType" in msg and i == 0 and case.get("fresh"):
                    hint = (" — the first chunk of a text has no state yet: h is None. Detach only a "
                            "state you have, if h is not None: h = h.detach() (the model starts from "
                            "zeros when h is None).")
                elif "second time" in msg or "inplace operation" in msg or "modified by an inplace" in msg:
                    hint = (" — the state still carried the graph of the previous chunk, whose buffers "
                            "are gone (and whose weights the optimiser has changed since): detach it, "
                            "h = h.detach(), before the forward pass, and return h_n.detach().")
                elif "Expected target size" in msg or "expected" in msg.lower() and "size" in msg.lower():
                    hint = (" — F.cross_entropy wants (N, vocab) logits and (N,) targets: flatten, "
                            "logits.reshape(-1, vocab) and y.reshape(-1).")
                return f"{'the second' if i else 'the first'} chunk: train_chunk raised {msg}{hint}"
            problem = self._step(case, i, step, losses, states, params)
            if problem:
                return problem
        if len(steps) < 2:
            return "train_chunk stopped after one chunk."
        return None

    @staticmethod
    def _step(case, i, step, losses, states, params):
        mine = step["params"]
        if not isinstance(mine, dict) or not _same(mine, params[i]):
            if i == 0:
                start = param_arrays(reference_model(case))
                if isinstance(mine, dict) and _same(mine, start):
                    return ("the parameters did not change: call loss.backward(), then clip, then "
                            "optimizer.step().")
                for mistake, message in TBPTT_MISTAKES.items():
                    if isinstance(mine, dict) and _same(mine, replay(case, mistake)[2][0]):
                        return message
            return ("after the step the parameters differ from one SGD step on this chunk's mean "
                    "cross-entropy (h detached, zero_grad → forward → loss → backward → clip → step).")
        loss = step["loss"]
        if isinstance(loss, dict) and "tensor" in loss:
            return ("return the loss as a Python float, loss.item(): a tensor keeps the chunk's whole "
                    "graph alive.")
        value = number(loss)
        if value is None:
            return f"return the loss as a float, not {type_name(loss)}."
        if not math.isclose(value, losses[i], rel_tol=1e-5, abs_tol=1e-5):
            return (f"the loss of this chunk is {losses[i]:.4f} (the mean cross-entropy over every "
                    f"character of the chunk, before the step), not {value:.4f}.")
        if step["h"] is None or step["h"].shape != tuple(states[i].shape):
            return (f"the second value should be the GRU's final state h_n, (num_layers, batch, hidden) "
                    f"= {tuple(states[i].shape)}.")
        if not close(step["h"], states[i].numpy(), atol=ATOL):
            return "the state returned is not the h_n of this chunk's forward pass."
        if step["h_graph"]:
            return ("return h_n.detach(): the state you return still carries this chunk's graph, which "
                    "then stays in memory until the next step (and a step that forgets to detach "
                    "it would backpropagate into it).")
        return None

    def passed(self, got, n=2, **kw):
        return (f"one clipped step per chunk, no gradient across the chunk boundary, a detached state "
                f"handed on ({n} models, 2 chunks each).")


# ---------------------------------------------------------------------------------------------
# sample_next(logits, temperature, generator)
# ---------------------------------------------------------------------------------------------
DRAWS = 2000


def sample_cases(seed):
    rng = random.Random(seed)
    sizes = rng.sample(range(4, 12), 6)
    greedy = [{"vocab": v, "temperature": 0, "seed": rng.randrange(2**31)} for v in sizes[:3]]
    spread = [{"vocab": v, "temperature": t, "seed": rng.randrange(2**31)}
              for v, t in zip(sizes[3:], (1.0, 0.5, 2.0))]
    return greedy, spread


def sample_logits(case) -> torch.Tensor:
    """Logits whose softmax differs clearly between temperatures, with a unique largest entry."""
    logits = seeded_tensor(case["seed"], "logits", (case["vocab"],), 2.5)
    logits[int(torch.argmax(logits))] += 0.5
    return logits


def chi_square(counts: np.ndarray, probs: np.ndarray) -> tuple[float, int]:
    """Pearson's statistic over the cells expected to get ≥ 5 draws (the rest pooled), and its degrees
    of freedom."""
    n = counts.sum()
    expected = probs * n
    big = expected >= 5
    obs = list(counts[big]) + ([counts[~big].sum()] if (~big).any() else [])
    exp = list(expected[big]) + ([expected[~big].sum()] if (~big).any() else [])
    obs, exp = np.array(obs, float), np.array(exp, float)
    return float(((obs - exp) ** 2 / exp).sum()), len(obs) - 1


def chi_square_bound(dof: int) -> float:
    """Far in the tail of chi-square(dof): P(exceeded) < 1e-7 for dof ≤ 12 (a right answer passes on
    every seed), still far below what any named mistake scores with 2,000 draws."""
    return dof + 9 * math.sqrt(2 * dof) + 12


# an error torch.multinomial raises when handed log-probabilities (or the nan of logits / 0)
NOT_PROBABILITIES = "probability tensor contains either"
LOG_SOFTMAX_HINT = (" — log_softmax gives log-probabilities (≤ 0); torch.multinomial needs probabilities: "
                    "softmax, torch.softmax(logits / temperature, -1).")


def _one_id(fn, *args) -> dict:
    """Kernel side: one call of sample_next as {"value": id}, {"returned": what it was} or {"error": ...}."""
    out, raised = attempt(fn, *args)
    if raised:
        return raised
    i = id_of(out)
    return {"value": i} if i is not None else {"returned": describe(out)}


def _draws(fn, logits, temperature, seed, n):
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        one = _one_id(fn, logits.clone(), temperature, generator)
        if "value" not in one:
            return one
        out.append(one["value"])
    return {"draws": as_int64(out)}


def not_an_id(returned: str) -> str:
    return (f"sample_next returned {returned}, not a character id: return one integer, "
            "int(torch.argmax(logits)) or int(torch.multinomial(probs, 1, generator=generator)).")


class SampleNext(TextCheck):
    """``sample_next(logits, temperature, generator) -> int``: argmax at temperature 0, else one draw
    from softmax(logits / temperature) with the generator given."""

    name = "a06_sample_next"

    def probe(self, fn, seed=0, **kw):
        greedy, spread = sample_cases(seed)
        out = {"greedy": [_one_id(fn, sample_logits(c), 0, torch.Generator().manual_seed(c["seed"]))
                          for c in greedy],
               "spread": []}
        # the global random state is set apart from the generator's seed (and restored afterwards): an
        # answer that ignores the generator draws other ids the second time
        with torch.random.fork_rng(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(seed % 2**31 + 17)
            for c in spread:
                out["spread"].append(_draws(fn, sample_logits(c), c["temperature"], c["seed"], DRAWS))
            c = spread[0]
            torch.manual_seed(seed % 2**31 + 29)
            out["again"] = _draws(fn, sample_logits(c), c["temperature"], c["seed"], 200)
        return out

    def result(self, seed=0, **kw):
        returned, error = Record(returned=Str(200)), Record(error=Str())
        draws = OneOf(Record(draws=Array("iu", ndim=1)), returned, error)
        return Record(greedy=Cases(OneOf(Record(value=Int()), returned, error), 3), spread=Cases(draws, 3),
                      again=draws)

    def judge(self, got, seed=0, **kw):
        greedy, spread = sample_cases(seed)
        for c, returned in zip(greedy, got["greedy"], strict=True):
            logits = sample_logits(c)
            if "error" in returned:
                msg = returned["error"]
                hint = (" — temperature 0 means greedy: return the argmax, without dividing by 0."
                        if "zero" in msg.lower() or "probability tensor" in msg else "")
                return [f"sample_next(logits of {c['vocab']} characters, temperature=0) raised {msg}{hint}"]
            if "returned" in returned:
                return [not_an_id(returned["returned"])]
            value = returned["value"]
            if value != int(torch.argmax(logits)):
                return [f"at temperature 0 sample_next should be greedy, the argmax "
                        f"{int(torch.argmax(logits))} of the logits, not {value}."]
        for c, returned in zip(spread, got["spread"], strict=True):
            T = c["temperature"]
            call = f"sample_next(logits of {c['vocab']} characters, temperature={T:g})"
            if "error" in returned:
                msg = returned["error"]
                return [f"{call} raised {msg}{LOG_SOFTMAX_HINT if NOT_PROBABILITIES in msg else ''}"]
            if "returned" in returned:
                return [not_an_id(returned["returned"])]
            draws = returned["draws"]
            if len(draws) != DRAWS or draws.min() < 0 or draws.max() >= c["vocab"]:
                return [f"{call} returned ids outside 0 .. {c['vocab'] - 1}."]
            logits = sample_logits(c)
            counts = np.bincount(draws, minlength=c["vocab"])
            want = torch.softmax(logits / T, -1).double().numpy()
            stat, dof = chi_square(counts, want)
            if stat <= chi_square_bound(dof):
                continue
            share = counts / counts.sum()
            if len(set(draws.tolist())) == 1:
                return [f"{call} always returns {draws[0]}: at temperature > 0 draw at random, "
                        "torch.multinomial(probs, 1, generator=generator)."]
            variants = [
                (torch.softmax(logits, -1), "the temperature is ignored: divide the logits by it "
                                            "before the softmax, softmax(logits / temperature)."),
                (torch.softmax(logits * T, -1), "the logits are multiplied by the temperature: divide "
                                                "them, softmax(logits / temperature) (a high temperature "
                                                "flattens the distribution, a low one sharpens it)."),
            ]
            fits = [(chi_square(counts, probs.double().numpy()), message) for probs, message in variants]
            (best, best_dof), message = min(fits, key=lambda f: f[0][0])
            if best <= chi_square_bound(best_dof):
                return [f"{call}: {message}"]
            return [f"{call}: over {DRAWS} draws the ids do not follow softmax(logits / temperature) "
                    f"(id {int(np.argmax(want))} should come {want.max():.0%} of the time, came "
                    f"{share[int(np.argmax(want))]:.0%}). Draw with torch.multinomial(probs, 1, "
                    "generator=generator)."]
        again, first = got["again"], got["spread"][0]
        if "error" in again:
            return [f"sample_next raised {again['error']} when called again."]
        if "returned" in again:
            return [not_an_id(again["returned"])]
        if "draws" in first and not np.array_equal(again["draws"], first["draws"][:200]):
            return ["with the same generator seed sample_next drew other ids: draw with the generator you "
                    "are given, torch.multinomial(probs, 1, generator=generator), not the global random "
                    "state (the checks and the widget replay a generation from its seed)."]
        return []

    def passed(self, got, **kw):
        return (f"greedy at temperature 0; {DRAWS} draws at temperatures 1, 0.5 and 2 follow "
                "softmax(logits / temperature); repeatable with the generator.")


# ---------------------------------------------------------------------------------------------
# generate(model, prompt_ids, n_chars, temperature, generator)
# ---------------------------------------------------------------------------------------------
GREEDY_CHARS = 16
SAMPLED_CHARS = 300
Z_BOUND = 5.5  # N(0, 1) for a right answer: |z| stayed below 3.4 on 130 seeds × 2 samplers tried


def generate_cases(seed, n=4):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        vocab, embed, hidden, prompt = rng.sample(range(3, 14), 4)
        cases.append({"vocab": vocab + 4, "embed": embed, "hidden": hidden, "prompt_len": prompt,
                      "num_layers": 1, "head_scale": 3.0, "seed": rng.randrange(2**31)})
    return cases


def prompt_of(case) -> list[int]:
    return seeded_ids(case["seed"], "prompt", (case["prompt_len"],), case["vocab"]).tolist()


def greedy_reference(model, prompt, n, mistake=None):
    """Greedy ids after the prompt; ``mistake`` replays a classic slip."""
    with torch.no_grad():
        logits, h = model(torch.tensor([prompt]))
        out = []
        step = -1 if mistake != "first_logits" else 0
        for _ in range(n):
            out.append(int(torch.argmax(logits[0, step])))
            step = -1
            fed = prompt[-1] if mistake == "feeds_prompt" else out[-1]
            logits, h = model(torch.tensor([[fed]]), None if mistake == "no_state" else h)
    return out


GENERATE_MISTAKES = {
    "feeds_prompt": ("each step feeds the prompt's last character again: feed back the character just "
                     "generated, so the model reads its own prediction next."),
    "no_state": ("each step starts from a fresh state (h=None): carry h from one step to the next, "
                 "logits, h = model(next_id, h), or the model forgets the prompt and everything it wrote."),
    "first_logits": ("the first character comes from the logits after the prompt's *first* character: "
                     "predict from the last step, logits[0, -1]."),
}


def _ids(value):
    """Kernel side: (ids as Python ints, None) from what generate returned — a list or tuple of integer
    values (id_of), or a 1-D integer tensor or array — else (None, what it was, in words)."""
    if torch.is_tensor(value) or isinstance(value, np.ndarray):
        integer = (not value.is_floating_point() and not value.is_complex() and value.dtype != torch.bool
                   if torch.is_tensor(value) else value.dtype.kind in "iu")
        if integer and value.ndim == 1:
            return [int(v) for v in value.tolist()], None
        return None, describe(value) + (" (ids are one-dimensional)" if integer else "")
    if isinstance(value, (list, tuple)):
        ids = [id_of(v) for v in value]
        if None not in ids:
            return ids, None
        bad = value[ids.index(None)]
        return None, f"a {type(value).__name__} holding {describe(bad)} (item {ids.index(None)})"
    return None, describe(value)


def _run_generate(fn, case, n, temperature, gen_seed):
    model = reference_model(case)
    model.eval()
    generator = torch.Generator().manual_seed(gen_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, raised = attempt(fn, model, prompt_of(case), n, temperature, generator)
    if raised:
        return raised
    ids, what = _ids(out)
    if ids is None:
        return {"returned": what[:200]}
    return {"ids": as_int64(ids[:2 * n + 64])}


def _not_ids(call, run, greedy=False) -> str | None:
    """The message for a run of generate that raised or returned something other than ids."""
    if "error" in run:
        msg, hint = run["error"], ""
        if greedy and ("zero" in msg.lower() or NOT_PROBABILITIES in msg):
            hint = " — temperature 0 means greedy: take the argmax, without dividing by 0."
        elif NOT_PROBABILITIES in msg:
            hint = LOG_SOFTMAX_HINT
        return f"{call} raised {msg}{hint}"
    if "returned" in run:
        return (f"{call} returned {run['returned']}: return the new ids as a list of ints (int(...) of each "
                "id you draw), or a 1-D tensor of them.")
    return None


def log_prob_z(model, prompt, ids, temperature):
    """z-score of the drawn ids' summed log-probability under softmax(logits / T) given their prefix:
    about N(0, 1) for honest draws; far below 0 for draws from a flatter distribution, far above for
    a sharper one."""
    with torch.no_grad():
        seq = torch.tensor([prompt + ids[:-1]])
        logits, _ = model(seq)
        logp = torch.log_softmax(logits[0, len(prompt) - 1:].double() / temperature, -1)
    p = logp.exp()
    entropy = -(p * logp).sum(-1)
    var = (p * logp ** 2).sum(-1) - entropy ** 2
    drawn = logp[torch.arange(len(ids)), torch.tensor(ids)]
    return float((drawn.sum() + entropy.sum()) / var.sum().clamp_min(1e-12).sqrt())


class Generate(TextCheck):
    """``generate(model, prompt_ids, n_chars, temperature, generator) -> list of n_chars ids``: greedy
    equals the reference exactly; sampled characters look like draws from softmax(logits / T)."""

    name = "a06_generate"

    def probe(self, fn, seed=0, n=4, **kw):
        cases = generate_cases(seed, n)
        greedy = [_run_generate(fn, c, GREEDY_CHARS, 0, c["seed"]) for c in cases]
        sampled = [_run_generate(fn, cases[0], SAMPLED_CHARS, t, cases[0]["seed"] + k)
                   for k, t in enumerate((1.0, 0.5))]
        return {"greedy": greedy, "sampled": sampled}

    def result(self, seed=0, n=4, **kw):
        run = OneOf(Record(ids=Array("iu", ndim=1)), Record(error=Str()), Record(returned=Str(200)))
        return Record(greedy=Cases(run, len(generate_cases(seed, n))), sampled=Cases(run, 2))

    def judge(self, got, seed=0, n=4, **kw):
        cases = generate_cases(seed, n)
        for c, run in zip(cases, got["greedy"], strict=True):
            call = (f"generate(a CharRNN({c['vocab']}, {c['embed']}, {c['hidden']}), a prompt of "
                    f"{c['prompt_len']} ids, n_chars={GREEDY_CHARS}, temperature=0)")
            problem = _not_ids(call, run, greedy=True)
            if problem:
                return [problem]
            ids = run["ids"].tolist()
            model = reference_model(c)
            want = greedy_reference(model, prompt_of(c), GREEDY_CHARS)
            if ids == want:
                continue
            if ids == prompt_of(c) + want:
                return [f"{call}: return only the {GREEDY_CHARS} new ids, without the prompt."]
            if len(ids) != GREEDY_CHARS:
                return [f"{call}: returned {len(ids)} ids, expected n_chars = {GREEDY_CHARS}."]
            matched = [message for mistake, message in GENERATE_MISTAKES.items()
                       if ids == greedy_reference(model, prompt_of(c), GREEDY_CHARS, mistake)]
            if matched:  # on some models two slips give the same ids: name both
                return [f"{call}: " + " Or: ".join(matched)]
            return [f"{call}: at temperature 0 the ids should be {want}, got {ids}: run the prompt once, "
                    "take the argmax of the last step's logits, feed it back with the state, repeat."]
        c = cases[0]
        model = reference_model(c)
        for T, run in zip((1.0, 0.5), got["sampled"], strict=True):
            call = f"generate(..., n_chars={SAMPLED_CHARS}, temperature={T:g})"
            problem = _not_ids(call, run)
            if problem:
                return [problem]
            ids = run["ids"].tolist()
            if len(ids) != SAMPLED_CHARS or min(ids) < 0 or max(ids) >= c["vocab"]:
                return [f"{call}: expected {SAMPLED_CHARS} ids in 0 .. {c['vocab'] - 1}."]
            z = log_prob_z(model, prompt_of(c), ids, T)
            if abs(z) <= Z_BOUND:
                continue
            if ids == greedy_reference(model, prompt_of(c), SAMPLED_CHARS):
                return [f"{call} is greedy: at temperature > 0 draw each id with sample_next(logits, "
                        "temperature, generator)."]
            if T != 1 and abs(log_prob_z(model, prompt_of(c), ids, 1.0)) <= Z_BOUND:
                return [f"{call}: the characters follow softmax(logits), not softmax(logits / "
                        "temperature): pass the temperature on to sample_next."]
            side = "less" if z < 0 else "more"
            return [f"{call}: the drawn characters are far {side} likely than draws from softmax(logits / "
                    f"temperature) would be (z = {z:.1f}): draw each one with sample_next from the last "
                    "step's logits, feeding it back with the state."]
        return []

    def passed(self, got, n=4, **kw):
        return (f"greedy generation equals the reference on {n} models; {SAMPLED_CHARS} sampled "
                "characters at temperatures 1 and 0.5 follow the model's softmax.")
