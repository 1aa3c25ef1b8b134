"""Data sets and helpers for the course notebooks.

Everything here returns PyTorch tensors. Variable-length data is kept as a
list of tensors of shape (length, num_features) until it is padded into one
(batch, time, features) tensor, the ``batch_first=True`` layout used throughout
the course.

Japanese Vowels (speaker recognition, 9 classes, 12 LPC cepstrum coefficients
per frame) ships with the package; see ``course/data_files/README.md`` for its source
and licence.
"""

from pathlib import Path

import numpy as np
import torch

__all__ = [
    "JAPANESE_VOWELS_FEATURES",
    "JAPANESE_VOWELS_CLASSES",
    "load_japanese_vowels",
    "standardize",
    "pad_left",
    "pad_right",
    "train_val_split",
    "noisy_labels",
    "make_order_task",
]

JAPANESE_VOWELS_FEATURES = 12
JAPANESE_VOWELS_CLASSES = 9

_NPZ = Path(__file__).parent / "data_files" / "japanese_vowels.npz"


def load_japanese_vowels(split="train"):
    """Load one split of the Japanese Vowels data set.

    Args:
        split: ``"train"`` (270 utterances, 30 per speaker) or ``"test"``
            (370 utterances, 24 to 88 per speaker).

    Returns:
        A tuple ``(sequences, labels)``:

        - ``sequences``: list of float32 tensors, one per utterance, each of
          shape ``(length, 12)`` with length between 7 and 29 frames.
        - ``labels``: int64 tensor of shape ``(num_utterances,)`` holding the
          speaker as a class index 0..8 (speaker 1 is class 0).

    Raises:
        ValueError: if ``split`` is neither ``"train"`` nor ``"test"``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    with np.load(_NPZ) as npz:
        frames = torch.from_numpy(npz[f"{split}_frames"])
        lengths = npz[f"{split}_lengths"].tolist()
        labels = torch.from_numpy(npz[f"{split}_labels"])
    # The file stores all frames back to back; cut them into utterances.
    # clone() so each sequence owns its memory rather than viewing one big block.
    sequences = [s.clone() for s in torch.split(frames, lengths)]
    return sequences, labels


def standardize(sequences, mean=None, std=None):
    """Scale every feature to zero mean and unit variance.

    Statistics are taken over all time steps of all sequences. Compute them on
    the training split only and pass them in for validation and test data, so
    no information from those splits leaks into preprocessing::

        train, mean, std = standardize(train_sequences)
        test, _, _ = standardize(test_sequences, mean, std)

    Args:
        sequences: list of tensors of shape ``(length, num_features)``.
        mean, std: per-feature tensors of shape ``(num_features,)``. If either
            is None, both are computed from ``sequences``.

    Returns:
        ``(standardized_sequences, mean, std)``: a new list of tensors and the
        statistics that were used.
    """
    if mean is None or std is None:
        frames = torch.cat(list(sequences))
        mean = frames.mean(dim=0)
        # A constant feature would divide by zero; leave it unscaled instead.
        std = frames.std(dim=0).clamp_min(1e-8)
    return [(s - mean) / std for s in sequences], mean, std


def _pad(sequences, length, left):
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    longest = int(lengths.max())
    length = longest if length is None else length
    if length < longest:
        raise ValueError(f"length={length} is shorter than the longest sequence ({longest})")
    first = sequences[0]
    padded = first.new_zeros((len(sequences), length) + tuple(first.shape[1:]))
    for i, s in enumerate(sequences):
        if left:
            padded[i, length - len(s):] = s
        else:
            padded[i, :len(s)] = s
    return padded, lengths


def pad_left(sequences, length=None):
    """Pad sequences with zeros at the start into one ``(N, T, features)`` tensor.

    Every sequence ends at the last time step ``T - 1``. That is what a model
    needs when it classifies from ``output[:, -1]``: the last output of a
    recurrent layer has then seen the whole real sequence. With right padding
    ``output[:, -1]`` is computed after the layer has read the trailing zeros,
    so for short sequences it summarises padding, not data.

    Args:
        sequences: list of tensors of shape ``(length, features)``.
        length: total number of time steps T; defaults to the longest sequence.

    Returns:
        ``(padded, lengths)``: the padded tensor and an int64 tensor with each
        sequence's true length.
    """
    return _pad(sequences, length, left=True)


def pad_right(sequences, length=None):
    """Pad sequences with zeros at the end into one ``(N, T, features)`` tensor.

    Every sequence starts at time step 0, the layout expected by
    ``torch.nn.utils.rnn.pack_padded_sequence``. Do not read ``output[:, -1]``
    from right-padded input: for short sequences that step is padding (see
    :func:`pad_left`). Use the lengths to pick each sequence's last real step,
    or pack the batch. Arguments and result as for :func:`pad_left`.
    """
    return _pad(sequences, length, left=False)


def _take(sequences, index):
    if isinstance(sequences, torch.Tensor):
        return sequences[index]
    return [sequences[i] for i in index.tolist()]


def train_val_split(sequences, labels, val_fraction=0.2, seed=0):
    """Split a data set into training and validation parts, stratified by class.

    Each class gives ``round(val_fraction * class_size)`` examples to the
    validation part, so both parts keep the class proportions. The same seed
    always gives the same split; examples keep their original order.

    Args:
        sequences: list of tensors, or a tensor whose first dimension indexes
            examples.
        labels: int64 tensor of shape ``(N,)``.
        val_fraction: share of each class that goes to validation, in (0, 1).
        seed: seed for the random choice of validation examples.

    Returns:
        ``(train_sequences, train_labels, val_sequences, val_labels)``, with
        sequences in the same form (list or tensor) as given.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    labels = torch.as_tensor(labels)
    if len(sequences) != len(labels):
        raise ValueError(f"{len(sequences)} sequences but {len(labels)} labels")
    generator = torch.Generator().manual_seed(seed)
    is_val = torch.zeros(len(labels), dtype=torch.bool)
    for c in torch.unique(labels):
        members = torch.nonzero(labels == c).flatten()
        n_val = round(val_fraction * len(members))
        chosen = members[torch.randperm(len(members), generator=generator)[:n_val]]
        is_val[chosen] = True
    train_index = torch.nonzero(~is_val).flatten()
    val_index = torch.nonzero(is_val).flatten()
    return (_take(sequences, train_index), labels[train_index],
            _take(sequences, val_index), labels[val_index])


def noisy_labels(labels, fraction, num_classes, seed=0):
    """Simulate annotation errors by giving a fixed share of labels a wrong class.

    Exactly ``round(fraction * N)`` labels, chosen at random, are each replaced
    by a different class drawn uniformly from the other ``num_classes - 1``.

    Args:
        labels: int64 tensor of shape ``(N,)`` with values in ``0..num_classes-1``.
        fraction: share of labels to corrupt, in [0, 1].
        num_classes: number of classes (at least 2).
        seed: seed for which labels flip and to what.

    Returns:
        ``(new_labels, flipped)``: a new int64 tensor, and a bool tensor that is
        True where the label was changed. ``labels`` itself is not modified.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    if num_classes < 2:
        raise ValueError("num_classes must be at least 2 to flip a label")
    labels = torch.as_tensor(labels)
    generator = torch.Generator().manual_seed(seed)
    n_flip = round(fraction * len(labels))
    index = torch.randperm(len(labels), generator=generator)[:n_flip]
    # Adding 1..num_classes-1 modulo num_classes never lands on the old class.
    shift = torch.randint(1, num_classes, (n_flip,), generator=generator)
    new_labels = labels.clone()
    new_labels[index] = (labels[index] + shift) % num_classes
    flipped = torch.zeros(len(labels), dtype=torch.bool)
    flipped[index] = True
    return new_labels, flipped


def make_order_task(num_sequences=1000, seq_len=10, num_features=5, seed=0):
    """A synthetic task that can only be solved by remembering the order of events.

    Each sequence is low-amplitude Gaussian noise (std 0.1) on every feature,
    plus two spikes of height 1: event A on feature 0 and event B on feature 1.
    The label says how they are ordered in time:

    - 0: A happens before B,
    - 1: B happens before A,
    - 2: A and B happen at the same step.

    Every sequence has exactly one A and one B, so the average over time of
    each feature has the same distribution in all three classes: a model that
    only sees time-averaged features is at chance (1/3). A model that looks at
    single steps can spot class 2, but telling 0 from 1 needs memory of what
    came earlier, which a recurrent layer has. Features 2 and above are noise.

    Classes are balanced (counts differ by at most one) and the result depends
    only on the arguments.

    Returns:
        ``(inputs, labels)``: float32 tensor of shape
        ``(num_sequences, seq_len, num_features)`` and int64 tensor of shape
        ``(num_sequences,)``.
    """
    if seq_len < 2 or num_features < 2:
        raise ValueError("need seq_len >= 2 and num_features >= 2")
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_sequences) % 3
    labels = labels[torch.randperm(num_sequences, generator=generator)]

    # Two distinct, uniformly placed steps per sequence. Class 2 uses the first
    # of them (itself uniform) so its event time gives nothing away.
    scores = torch.rand(num_sequences, seq_len, generator=generator)
    pair = scores.topk(2, dim=1).indices
    early, late = pair.min(dim=1).values, pair.max(dim=1).values
    same = pair[:, 0]
    time_a = torch.where(labels == 0, early, torch.where(labels == 1, late, same))
    time_b = torch.where(labels == 0, late, torch.where(labels == 1, early, same))

    inputs = 0.1 * torch.randn(num_sequences, seq_len, num_features, generator=generator)
    rows = torch.arange(num_sequences)
    inputs[rows, time_a, 0] += 1.0
    inputs[rows, time_b, 1] += 1.0
    return inputs, labels
