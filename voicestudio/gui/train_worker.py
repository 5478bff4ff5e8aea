"""The Train panel's bridge to the trainer: a background task over ``train_and_publish``,
and a torch probe that runs in a subprocess.

The worker holds no training logic: its task imports the job inside the worker thread
(torch is loaded only once a run starts) and forwards the job's typed events
(``training.events``), unchanged, through one signal. The probe answers "is torch
installed, does CUDA work?" without loading torch into the GUI process.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject, QProcess, QThread, Signal

from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.train import TrainChoice
from voicestudio.gui.workers import Task, TaskHandle
from voicestudio.training.control import NO_TORCH_MESSAGE, RunControl
from voicestudio.training.events import Failed


def _train(handle: TaskHandle, project, config, resume: bool, control: RunControl) -> None:
    """On the worker thread: the whole run, every outcome sent as an event."""
    QThread.currentThread().setPriority(QThread.Priority.LowPriority)  # the GUI thread first
    try:  # the one import of the trainer, when a run starts
        from voicestudio.training.job import TrainConfig, train_and_publish
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]  # the module that could not be imported
        handle.send(Failed(NO_TORCH_MESSAGE if missing == "torch"
                           else f"training cannot start: {exc}"))
        return
    if isinstance(config, TrainChoice):
        config = TrainConfig(minutes=config.minutes, device=config.device, threads=config.threads)
    with contextlib.suppress(VoiceStudioError):  # its Failed event has said it
        train_and_publish(project, config, handle.send, resume=resume, control=control)


class TrainWorker(QObject):
    """One training run and its publishing on a :class:`~voicestudio.gui.workers.Task`.

    ``event(object)``: the job's typed events, in order, in the GUI thread (a bug in the
    job arrives as a ``Failed`` event too); ``ended()``: always last, once the thread has
    stopped. ``config`` is a :class:`TrainChoice` or a ready ``TrainConfig`` (tests pass
    tiny ones).
    """

    event = Signal(object)
    ended = Signal()

    def __init__(self, project, config, resume: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._control = RunControl()
        self._task = Task(partial(_train, project=project, config=config, resume=resume,
                                  control=self._control), self)
        self._task.event.connect(self.event)
        self._task.failed.connect(lambda message: self.event.emit(Failed(message)))
        self._task.finished.connect(self.ended)

    def start(self) -> TrainWorker:
        self._task.start()
        return self

    def cancel(self, publish: bool = True) -> None:
        """Stop at the next step; the trainer keeps the best checkpoint so far, and it is
        published as a voice unless ``publish`` is False (the app is closing)."""
        self._control.cancel(publish)

    @property
    def running(self) -> bool:
        return self._task.running

    def wait(self, ms: int | None = None) -> bool:
        """Wait for the thread to stop (``ms`` None: however long the current step takes)."""
        if ms is not None:
            return self._task.wait(ms)
        while not self._task.wait(60_000):
            pass
        return True


# ----------------------------------------------------------------------------- torch probe
PROBE_SCRIPT = """
import json
try:
    import torch
except Exception as exc:
    reason = "PyTorch is not installed (%s)" % exc
    print(json.dumps({"torch": None, "cuda": False, "reason": reason}))
else:
    try:
        ok = bool(torch.cuda.is_available())
        name = torch.cuda.get_device_name(0) if ok else None
        reason = None if ok else (
            "this PyTorch build has no CUDA support" if torch.version.cuda is None
            else "PyTorch finds no usable NVIDIA GPU")
    except Exception as exc:
        ok, name, reason = False, None, "CUDA does not work here (%s)" % exc
    print(json.dumps({"torch": torch.__version__, "cuda": ok, "gpu": name, "reason": reason}))
"""


FROZEN_REASON = "this packaged VoiceStudio is inference-only and has no PyTorch"


@dataclass(frozen=True)
class TorchReport:
    """What the probe found: ``torch`` is its version (None when missing); ``cuda`` whether a
    GPU can train; ``reason`` says why not. ``conclusive``: False when the check itself
    failed (it may work next time), so the answer is not kept."""

    torch: str | None
    cuda: bool
    gpu: str | None = None
    reason: str | None = None
    conclusive: bool = True


_known: dict[str, TorchReport] = {}  # per Python: a conclusive answer does not change


class TorchProbe(QObject):
    """Asks a separate Python (``sys.executable`` unless told) whether torch imports and CUDA
    works, so the GUI process never loads torch for the question; once per process and
    Python. ``done(TorchReport)`` when known (at once, from ``start()``, when known already)."""

    done = Signal(object)

    def __init__(self, parent: QObject | None = None, python: str | None = None) -> None:
        super().__init__(parent)
        self.python = python or sys.executable
        self.report: TorchReport | None = None
        self._stopped = False  # a probe killed by stop() has no answer to give
        self._process = QProcess(self)
        self._process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)

    def start(self) -> None:
        if getattr(sys, "frozen", False):  # a packaged app: sys.executable is the app itself
            self._finish(TorchReport(None, False, None, FROZEN_REASON))
        elif self.python in _known:
            self._finish(_known[self.python])
        else:
            self._process.start(self.python, ["-c", PROBE_SCRIPT])

    @property
    def running(self) -> bool:
        return self._process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        self._stopped = True
        if self.running:
            self._process.kill()
            self._process.waitForFinished(3000)

    def _on_finished(self, code: int, _status) -> None:
        if self._stopped:
            return
        output = bytes(self._process.readAllStandardOutput().data()).decode("utf-8", "replace")
        try:
            data = json.loads(output.strip().splitlines()[-1])
            report = TorchReport(data.get("torch"), bool(data.get("cuda")), data.get("gpu"),
                                 data.get("reason"))
        except (ValueError, IndexError, AttributeError):
            report = TorchReport(None, False, None, f"the PyTorch check failed (exit code {code})",
                                 conclusive=False)
        self._finish(report)

    def _on_error(self, error) -> None:
        if self._stopped:
            return
        if error == QProcess.ProcessError.FailedToStart:
            reason = f"the PyTorch check could not start {self.python}"
            self._finish(TorchReport(None, False, None, reason, conclusive=False))

    def _finish(self, report: TorchReport) -> None:
        if self.report is None:
            self.report = report
            if report.conclusive:
                _known[self.python] = report
            self.done.emit(report)
