"""One-off conversion of Japanese Vowels from the aeon wheel to japanese_vowels.npz.

Usage:
    pip download aeon==1.6.0 --no-deps -d /tmp/aeon
    python course/data_files/convert_japanese_vowels.py /tmp/aeon/aeon-1.6.0-py3-none-any.whl

The argument may also be a directory holding the unzipped wheel (the folder
that contains `aeon/`) or the JapaneseVowels folder itself. Only numpy is
needed; aeon is never imported.
"""

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

INNER = "aeon/datasets/data/JapaneseVowels"
NUM_FEATURES = 12
OUT = Path(__file__).with_name("japanese_vowels.npz")


def read_ts(text):
    """Parse a variable-length multivariate .ts file into (frames, lengths, labels)."""
    frames, lengths, labels = [], [], []
    in_data = False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            # Header: everything up to and including "@data".
            in_data = line.lower() == "@data"
            continue
        *dims, label = line.split(":")
        if len(dims) != NUM_FEATURES:
            raise ValueError(f"expected {NUM_FEATURES} dimensions, got {len(dims)}")
        # One row per dimension; transpose to (time, features).
        series = np.array([[float(v) for v in d.split(",")] for d in dims]).T
        frames.append(series)
        lengths.append(len(series))
        labels.append(int(label) - 1)  # speakers 1..9 -> classes 0..8
    return (np.concatenate(frames).astype(np.float32),
            np.array(lengths, dtype=np.int64),
            np.array(labels, dtype=np.int64))


def read_split(source, split):
    """Return the text of JapaneseVowels_{split}.ts from a wheel or a directory."""
    name = f"JapaneseVowels_{split}.ts"
    if source.is_file():  # the wheel itself
        with zipfile.ZipFile(source) as wheel:
            return io.TextIOWrapper(wheel.open(f"{INNER}/{name}"), encoding="utf-8").read()
    for candidate in (source / INNER / name, source / name):
        if candidate.exists():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"{name} not found under {source}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="aeon wheel or unzipped directory")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    arrays = {}
    for split in ("train", "test"):
        frames, lengths, labels = read_ts(read_split(args.source, split.upper()))
        arrays[f"{split}_frames"] = frames
        arrays[f"{split}_lengths"] = lengths
        arrays[f"{split}_labels"] = labels
        print(f"{split}: {len(lengths)} utterances, lengths {lengths.min()}..{lengths.max()}, "
              f"{frames.shape[0]} frames")
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
