"""Tests for course.data: the shipped Japanese Vowels set and the data helpers."""

import pytest
import torch
from torch import nn

from course.data import (
    load_japanese_vowels,
    make_order_task,
    noisy_labels,
    pad_left,
    pad_right,
    standardize,
    train_val_split,
)


@pytest.fixture(scope="module")
def vowels_train():
    return load_japanese_vowels("train")


@pytest.fixture(scope="module")
def vowels_test():
    return load_japanese_vowels("test")


# --- Japanese Vowels -------------------------------------------------------

def test_counts_match_the_published_data_set(vowels_train, vowels_test):
    (train_x, train_y), (test_x, test_y) = vowels_train, vowels_test
    assert len(train_x) == len(train_y) == 270
    assert len(test_x) == len(test_y) == 370
    # Frame totals from the UCI description.
    assert sum(len(s) for s in train_x) == 4274
    assert sum(len(s) for s in test_x) == 5687


def test_sequences_are_float32_frames_of_12_features(vowels_train, vowels_test):
    lengths = []
    for sequences, _ in (vowels_train, vowels_test):
        for s in sequences:
            assert s.dtype == torch.float32
            assert s.ndim == 2 and s.shape[1] == 12
            lengths.append(len(s))
    assert min(lengths) == 7 and max(lengths) == 29


def test_labels_are_nine_zero_based_classes(vowels_train, vowels_test):
    (_, train_y), (_, test_y) = vowels_train, vowels_test
    for y in (train_y, test_y):
        assert y.dtype == torch.int64
        assert set(y.tolist()) == set(range(9))
    assert torch.bincount(train_y).tolist() == [30] * 9
    assert torch.bincount(test_y).tolist() == [31, 35, 88, 44, 29, 24, 40, 50, 29]


def test_frames_are_time_by_feature_not_transposed(vowels_train):
    # First frame of the first training utterance in the original ae.train file.
    first = vowels_train[0][0][0]
    expected = torch.tensor([1.860936, -0.207383, 0.261557, -0.214562, -0.171253, -0.118167,
                             -0.277557, 0.025668, 0.126701, -0.306756, -0.213076, 0.088728])
    torch.testing.assert_close(first, expected)


def test_frames_are_cut_into_the_right_utterances(vowels_train, vowels_test):
    # Lengths of the first and last three utterances, and the first value of
    # the last test utterance, read from the source .ts files.
    assert [len(s) for s in vowels_train[0][:3] + vowels_train[0][-3:]] == [20, 26, 22, 12, 14, 9]
    assert [len(s) for s in vowels_test[0][:3] + vowels_test[0][-3:]] == [19, 17, 19, 15, 14, 11]
    assert vowels_test[0][-1][0, 0].item() == pytest.approx(1.421622)


@pytest.mark.parametrize("split", ["val", "TRAIN", "", None])
def test_unknown_split_is_rejected(split):
    with pytest.raises(ValueError, match="split"):
        load_japanese_vowels(split)


# --- standardize -----------------------------------------------------------

def test_standardize_computes_statistics_over_all_frames(vowels_train):
    scaled, mean, std = standardize(vowels_train[0])
    frames = torch.cat(scaled)
    assert mean.shape == std.shape == (12,)
    torch.testing.assert_close(frames.mean(0), torch.zeros(12), atol=1e-5, rtol=0)
    torch.testing.assert_close(frames.std(0), torch.ones(12), atol=1e-5, rtol=0)
    assert [len(s) for s in scaled] == [len(s) for s in vowels_train[0]]


def test_standardize_uses_given_statistics(vowels_train, vowels_test):
    _, mean, std = standardize(vowels_train[0])
    scaled, mean_out, std_out = standardize(vowels_test[0], mean, std)
    assert torch.equal(mean_out, mean) and torch.equal(std_out, std)
    torch.testing.assert_close(scaled[5], (vowels_test[0][5] - mean) / std)
    # Train statistics do not centre the test split exactly.
    assert torch.cat(scaled).mean(0).abs().max() > 1e-3


# --- padding ---------------------------------------------------------------

def test_pad_left_puts_zeros_first_and_data_last(vowels_train):
    sequences = vowels_train[0]
    padded, lengths = pad_left(sequences)
    assert padded.shape == (270, 26, 12) and padded.dtype == torch.float32
    assert lengths.dtype == torch.int64
    assert lengths.tolist() == [len(s) for s in sequences]
    for i, s in enumerate(sequences):
        n = len(s)
        assert torch.equal(padded[i, 26 - n:], s)
        assert not padded[i, :26 - n].any()
    # Every sequence reaches the last step, which is what output[:, -1] reads.
    assert padded[:, -1].abs().sum(dim=1).gt(0).all()


def test_pad_right_puts_data_first_and_zeros_last(vowels_train):
    sequences = vowels_train[0]
    padded, lengths = pad_right(sequences, length=29)
    assert padded.shape == (270, 29, 12)
    for i, s in enumerate(sequences):
        n = len(s)
        assert torch.equal(padded[i, :n], s)
        assert not padded[i, n:].any()
    assert lengths.tolist() == [len(s) for s in sequences]


def test_padding_to_a_length_shorter_than_the_data_is_an_error(vowels_train):
    for pad in (pad_left, pad_right):
        with pytest.raises(ValueError):
            pad(vowels_train[0], length=10)


# --- train_val_split -------------------------------------------------------

def test_split_is_stratified_and_covers_every_example_once(vowels_train):
    labels = vowels_train[1]
    ids = torch.arange(len(labels))  # stand-in sequences: each one's own index
    tr_ids, tr_y, va_ids, va_y = train_val_split(ids, labels, val_fraction=0.2, seed=1)
    assert torch.bincount(va_y, minlength=9).tolist() == [6] * 9
    assert torch.bincount(tr_y, minlength=9).tolist() == [24] * 9
    assert sorted(tr_ids.tolist() + va_ids.tolist()) == list(range(270))
    # Labels travel with their examples.
    assert torch.equal(labels[tr_ids], tr_y) and torch.equal(labels[va_ids], va_y)


def test_split_is_deterministic_by_seed_and_accepts_lists(vowels_train):
    sequences, labels = vowels_train
    a = train_val_split(sequences, labels, val_fraction=0.25, seed=3)
    b = train_val_split(sequences, labels, val_fraction=0.25, seed=3)
    c = train_val_split(sequences, labels, val_fraction=0.25, seed=4)
    assert isinstance(a[0], list) and isinstance(a[2], list)
    assert torch.equal(a[3], b[3])
    assert all(torch.equal(x, y) for x, y in zip(a[2], b[2]))
    ids_a = {id(s) for s in a[2]}
    assert ids_a == {id(s) for s in b[2]}
    assert ids_a != {id(s) for s in c[2]}


def test_split_rejects_a_bad_fraction(vowels_train):
    with pytest.raises(ValueError):
        train_val_split(*vowels_train, val_fraction=1.0, seed=0)


# --- noisy_labels ----------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_noisy_labels_flips_exactly_the_requested_share(vowels_train, fraction):
    labels = vowels_train[1]
    before = labels.clone()
    noisy, flipped = noisy_labels(labels, fraction, num_classes=9, seed=0)
    assert torch.equal(labels, before), "input labels must not be modified"
    assert noisy.dtype == torch.int64 and flipped.dtype == torch.bool
    assert int(flipped.sum()) == round(fraction * len(labels))
    assert torch.equal(flipped, noisy != labels)  # every flip changes the class
    assert noisy.min() >= 0 and noisy.max() <= 8


def test_noisy_labels_is_seeded(vowels_train):
    labels = vowels_train[1]
    a = noisy_labels(labels, 0.3, 9, seed=5)
    b = noisy_labels(labels, 0.3, 9, seed=5)
    c = noisy_labels(labels, 0.3, 9, seed=6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_noisy_labels_reach_every_other_class():
    labels = torch.zeros(900, dtype=torch.int64)
    noisy, _ = noisy_labels(labels, 1.0, num_classes=4, seed=0)
    counts = torch.bincount(noisy, minlength=4).tolist()
    assert counts[0] == 0 and min(counts[1:]) > 250


# --- make_order_task -------------------------------------------------------

def test_order_task_shapes_dtypes_and_balance():
    x, y = make_order_task(num_sequences=1000, seq_len=10, num_features=5, seed=0)
    assert x.shape == (1000, 10, 5) and x.dtype == torch.float32
    assert y.shape == (1000,) and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [334, 333, 333]
    x2, _ = make_order_task(num_sequences=60, seq_len=7, num_features=3, seed=0)
    assert x2.shape == (60, 7, 3)


def test_order_task_is_deterministic_by_seed():
    a = make_order_task(seed=2)
    b = make_order_task(seed=2)
    c = make_order_task(seed=3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_order_task_label_is_the_order_of_the_two_events():
    x, y = make_order_task(num_sequences=600, seed=1)
    # Events are height-1 spikes over noise of std 0.1: the argmax finds them.
    time_a = x[:, :, 0].argmax(dim=1)
    time_b = x[:, :, 1].argmax(dim=1)
    expected = torch.where(time_a < time_b, 0, torch.where(time_a > time_b, 1, 2))
    assert torch.equal(expected, y)
    # Simultaneous events are spread over every step, not bunched early.
    assert set(time_a[y == 2].tolist()) == set(range(10))


def _fit_accuracy(model, features, labels, epochs, lr):
    """Train on the first 80% with Adam; return accuracy on the last 20%."""
    n = int(0.8 * len(labels))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for batch in torch.randperm(n).split(32):
            loss = nn.functional.cross_entropy(model(features[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        return (model(features[n:]).argmax(1) == labels[n:]).float().mean().item()


def test_time_mean_of_inputs_carries_no_label_information():
    x, y = make_order_task(seed=0)
    torch.manual_seed(0)
    accuracy = _fit_accuracy(nn.Linear(5, 3), x.mean(dim=1), y, epochs=30, lr=1e-2)
    assert accuracy < 0.45  # chance is 1/3


class _LastStepRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def test_a_small_rnn_solves_the_order_task():
    x, y = make_order_task(seed=0)
    torch.manual_seed(0)
    accuracy = _fit_accuracy(_LastStepRNN(), x, y, epochs=30, lr=1e-2)
    assert accuracy > 0.9
