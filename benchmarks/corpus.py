"""The real recordings the benchmarks measure on: ../shared/data/speech, read in place
(never copied into the repository)."""

from __future__ import annotations

import csv
from pathlib import Path

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"


def recordings(speaker: str) -> list[tuple[Path, str]]:
    """(audio file, transcript) for each row of the speaker's ``manifest.tsv``, in its order;
    empty when the corpus is not on this machine."""
    manifest = SPEECH / speaker / "manifest.tsv"
    if not manifest.is_file():
        return []
    with open(manifest, encoding="utf-8") as f:
        return [
            (SPEECH / speaker / row["file"], row["transcript"])
            for row in csv.DictReader(f, delimiter="\t")
        ]
