"""How many CPU threads work gets when the user does not choose: one rule per kind of work.

The voice model (onnxruntime) takes every core, as it runs in short bursts; the small
models beside it (VAD, similarity, quality) run on one thread each, their callers' choice.
Training (torch) runs for minutes beside the window.
"""

from __future__ import annotations

import os


def cpu_cores() -> int:
    return max(1, os.cpu_count() or 1)


def inference_threads() -> int:
    """A voice model's threads: all cores (``--threads`` and the GUI may pass fewer)."""
    return cpu_cores()


def world_threads() -> int:
    """Workers of the WORLD pass's pool (the per-frame steps of a sentence, split in chunks;
    pyworld releases the GIL): up to four, beyond which the chunks get too small to gain."""
    return min(4, cpu_cores())


def training_threads() -> int:
    """Torch threads for training: every core on a machine of up to 3 cores (leaving one of
    two idle would halve the speed, and the window stays responsive: ``test_gui_train``
    measures it), every core but one on bigger machines."""
    cores = cpu_cores()
    return cores - 1 if cores >= 4 else cores
