"""Assignment 01's small, real experiment: a too-large RNN memorising noisy labels (seconds on a CPU)."""
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
