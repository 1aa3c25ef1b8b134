"""Assignment 01's small, real experiment (a too-large RNN memorising noisy labels, seconds on a CPU) and
the keys of its practice questions (PRACTICE)."""
from __future__ import annotations

import torch
from torch import nn

from ...nets import LastStepClassifier


def remember_first_step(n, seq_len=4, input_size=4, generator=None):
    """A task that needs memory: the label says whether feature 0 of the *first* step is positive."""
    x = torch.randn(n, seq_len, input_size, generator=generator)
    return x, (x[:, 0, 0] > 0).long()


def overfitting_run(epochs=120, hidden_size=64, n_train=100, label_noise=0.2, seed=0):
    """Train a too-large RNN on a few noisy examples; record losses and accuracies per epoch.

    A fifth of the training labels are flipped (annotation errors). The network is big enough to
    memorise them, so training loss keeps falling while validation loss turns and rises.
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x_train, y_train = remember_first_step(n_train, generator=g)
    flip = torch.randperm(n_train, generator=g)[: int(label_noise * n_train)]
    y_train[flip] = 1 - y_train[flip]
    x_val, y_val = remember_first_step(500, generator=g)
    model = LastStepClassifier(x_train.shape[-1], hidden_size, 2)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        model.train()
        optimiser.zero_grad()
        logits = model(x_train)
        loss = loss_fn(logits, y_train)
        loss.backward()
        optimiser.step()
        model.eval()
        with torch.no_grad():
            val_logits = model(x_val)
        history["train_loss"].append(loss.item())
        history["val_loss"].append(loss_fn(val_logits, y_val).item())
        history["train_acc"].append((logits.argmax(1) == y_train).float().mean().item())
        history["val_acc"].append((val_logits.argmax(1) == y_val).float().mean().item())
    return history


# The notebook's practice questions (never graded; the graded keys stay in the hidden tests):
# name -> (key, why each option is or is not right), for course.practice.quiz(answer, key, why).
PRACTICE = {
    "p_a": ("B", {
        "A": "the hidden state changes at every step: that is how it carries forward what the layer has "
             "read so far.",
        "B": "one set of weights is used at every step, which is why one small layer can read a sequence "
             "of any length.",
        "C": "x_t is the new input of each step; it differs from step to step.",
        "D": "then the layer would need a set of weights per step and could not read longer sequences; "
             "an RNN shares one set across all steps.",
    }),
    "p_c": ("A", {
        "A": "without batch_first the output keeps the input's (seq_len, batch, ·) layout, and each "
             "step's 3 input features become 5 hidden features.",
        "B": "that would be the batch_first=True layout; here time comes first, in the input and in the "
             "output.",
        "C": "the last size of the output is hidden_size (5), not input_size (3).",
        "D": "that is the shape of h_n, the final state only; output holds a hidden state for every one "
             "of the 9 steps.",
    }),
    "p_d": ("B", {
        "A": "batch_first never applies to h0: the layer axis comes first, then the batch.",
        "B": "(num_layers × directions, batch, hidden_size) = (2, 8, 6), whatever batch_first says.",
        "C": "5 is seq_len: with batch_first=True the first axis of x, 8, is the batch.",
        "D": "h0 has one slice per layer, and this RNN has 2.",
    }),
    "p_e": ("C", {
        "A": "h_n[0] is layer 0's final state, the bottom of the stack.",
        "B": "with batch_first=True, output[-1] is the last *sequence* of the batch at every step, shape "
             "(6, 8).",
        "C": "h_n has one slice per layer, bottom first, so h_n[-1] is the top layer's final state "
             "(output[:, -1] holds the same numbers).",
        "D": "output[:, 0] is the top layer's state after the first step, not the last.",
    }),
    "p_h": ("B", {
        "A": "an overfitting model does well on its training data; this one does badly even there.",
        "B": "the model has not even learnt its training data: give it more capacity, more epochs or a "
             "better learning rate.",
        "C": "a loss that stays where it started means the model has learnt nothing.",
        "D": "a small validation set makes its curve noisy, but it cannot keep the training loss high.",
    }),
}
