"""What a front end needs before the trainer is imported: cancelling a run from another
thread (and whether its best so far is published), and what to say when torch is missing.

Torch-free, so the GUI thread can hold these (the worker imports the trainer when a run
starts) and the CLI can say what is missing without a traceback.
"""

from __future__ import annotations

import threading

NO_TORCH_MESSAGE = ("training needs PyTorch, which is not installed: "
                    "pip install 'voicestudio[train]' (torch==2.13.0)")


class RunControl:
    """Thread-safe. ``cancel()`` stops the run after its current step; a cancelled run that
    trained at least one step publishes its best so far unless a ``cancel(publish=False)``
    said not to (the app is closing: the checkpoints stay for Resume, nobody waits)."""

    def __init__(self) -> None:
        self.stop = threading.Event()  # what the trainer polls
        self._lock = threading.Lock()
        self._publish_after_cancel = True

    def cancel(self, publish: bool = True) -> None:
        with self._lock:
            self._publish_after_cancel = self._publish_after_cancel and publish
        self.stop.set()

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set()

    @property
    def publish_after_cancel(self) -> bool:
        with self._lock:
            return self._publish_after_cancel
