"""How many CPU threads work gets when the user does not choose: one rule per kind of work.

Inference (onnxruntime: the voice, VAD, the similarity and quality models) takes every
core, as it runs in short bursts. Training (torch) runs for minutes beside the window.
"""

from __future__ import annotations

import os


def cpu_cores() -> int:
    return max(1, os.cpu_count() or 1)


def inference_threads() -> int:
    """All cores; callers that must leave room (a preview beside playback) pass fewer."""
    return cpu_cores()


def training_threads() -> int:
    """Torch threads for training: every core on a machine of up to 3 cores (leaving one of
    two idle would halve the speed, and the window stays responsive: ``test_gui_train``
    measures it), every core but one on bigger machines."""
    cores = cpu_cores()
    return cores - 1 if cores >= 4 else cores
