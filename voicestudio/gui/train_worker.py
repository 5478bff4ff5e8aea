"""The Train panel's bridge to the trainer: a QThread over ``Trainer.run`` and ``publish``,
and a torch probe that runs in a subprocess.

The worker holds no training logic: it imports the trainer inside its thread (torch is
loaded only once a run starts), turns the trainer's events into Qt signals, and after a
run publishes the voice exactly as ``voicestudio train`` does. The probe answers "is
torch installed, does CUDA work?" without loading torch into the GUI process.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, QProcess, Qt, QThread, Signal

from voicestudio.errors import VoiceStudioError

NO_TORCH_MESSAGE = "training needs PyTorch, which is not installed: pip install 'voicestudio[train]' (torch==2.13.0)"


@dataclass(frozen=True)
class TrainChoice:
    """What the user chose in the panel; becomes a ``TrainConfig`` inside the worker thread
    (building one here would import torch in the GUI thread)."""

    minutes: float = 5.0
    device: str = "auto"  # auto | cpu | cuda
    threads: int | None = None


class _Job(QObject):
    """Lives in the worker thread; its signals are relayed to the TrainWorker's."""

    stage = Signal(str, float, str)
    progress = Signal(int, float, float, object)
    loss = Signal(int, float, float, float)
    preview = Signal(int, str, object, object)
    checkpoint = Signal(int, str, bool)
    finished = Signal(int, object, bool, int)
    failed = Signal(str, object)
    published = Signal(object)
    done = Signal()

    def __init__(self, project, config, resume: bool) -> None:
        super().__init__()
        self.project, self.config, self.resume = project, config, resume
        self.trainer = None
        self._lock = threading.Lock()
        self._cancel_requested = False
        self.publish_after_cancel = True
        self._failed = False

    def cancel(self, publish: bool = True) -> None:
        with self._lock:
            self._cancel_requested = True
            self.publish_after_cancel = self.publish_after_cancel and publish
            if self.trainer is not None:
                self.trainer.cancel()

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a bug: report it instead of leaving the panel waiting
            traceback.print_exc()
            self._fail(f"internal error: {exc!r}")
        finally:
            self.done.emit()

    def _run(self) -> None:
        try:
            from voicestudio.training.base import TrainingCancelled
            from voicestudio.training.finetune import TrainConfig, Trainer
            from voicestudio.training.publish import publish
        except ImportError as exc:
            self._fail(NO_TORCH_MESSAGE if "torch" in str(exc) else f"training cannot start: {exc}")
            return
        config = self.config
        if isinstance(config, TrainChoice):
            config = TrainConfig(minutes=config.minutes, device=config.device, threads=config.threads)
        with self._lock:
            if self._cancel_requested:
                self.finished.emit(0, None, True, 0)
                return
            self.trainer = Trainer(self.project, config, self._on_event)
        try:
            result = self.trainer.run(resume=self.resume)
        except TrainingCancelled:  # during the base preparation: nothing trained, nothing to publish
            self.finished.emit(0, None, True, 0)
            return
        except VoiceStudioError as exc:
            from voicestudio.safety.consent import ConsentError

            self._fail(str(exc), exc.refusal if isinstance(exc, ConsentError) else None)  # usually said already
            return
        if result.cancelled and (result.steps == 0 or not self.publish_after_cancel):
            return  # nothing trained yet, or the app is closing: the checkpoints stay for Resume
        try:
            published = publish(self.project, result, config, lambda message: self.stage.emit("publish", 0.5, message))
        except VoiceStudioError as exc:
            self._fail(f"training finished, but the voice could not be published: {exc}")
            return
        self.published.emit(published)

    def _on_event(self, event) -> None:
        from voicestudio.training import finetune as ft

        if isinstance(event, ft.Stage):
            self.stage.emit(event.stage, float(event.fraction), event.message)
        elif isinstance(event, ft.Progress):
            self.progress.emit(event.step, float(event.fraction), float(event.elapsed_s), event.eta_s)
        elif isinstance(event, ft.Loss):
            self.loss.emit(event.step, float(event.total), float(event.mel_l1), float(event.kl))
        elif isinstance(event, ft.PreviewReady):
            self.preview.emit(event.step, str(event.path), event.similarity, event.quality)
        elif isinstance(event, ft.CheckpointSaved):
            self.checkpoint.emit(event.step, str(event.path), bool(event.best))
        elif isinstance(event, ft.Finished):
            self.finished.emit(event.best_step, event.similarity, bool(event.cancelled), event.steps)
        elif isinstance(event, ft.Failed):
            self._fail(event.message, event.refusal)

    def _fail(self, message: str, refusal=None) -> None:
        if not self._failed:  # the trainer emits Failed and then raises: say it once
            self._failed = True
            self.failed.emit(message, refusal)


class TrainWorker(QObject):
    """One training run on its own thread, followed by publishing the voice.

    Signals (all delivered in the GUI thread): ``stage(name, fraction, message)``,
    ``progress(step, fraction, elapsed_s, eta_s|None)``, ``loss(step, total, mel_l1, kl)``,
    ``preview(step, wav_path, similarity|None, quality|None)``, ``checkpoint(step, path, best)``,
    ``finished(best_step, similarity|None, cancelled, steps)`` (training ended; publishing
    follows), ``failed(message, ConsentRefusal|None)``, ``published(PublishedVoice)``, and ``ended()`` — always
    last, once the thread has stopped.

    ``config`` is a :class:`TrainChoice` or a ready ``TrainConfig`` (tests pass tiny ones).
    """

    stage = Signal(str, float, str)
    progress = Signal(int, float, float, object)
    loss = Signal(int, float, float, float)
    preview = Signal(int, str, object, object)
    checkpoint = Signal(int, str, bool)
    finished = Signal(int, object, bool, int)
    failed = Signal(str, object)
    published = Signal(object)
    ended = Signal()

    def __init__(self, project, config, resume: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._thread.setObjectName("training")
        self._job = _Job(project, config, resume)
        self._job.moveToThread(self._thread)
        self._thread.started.connect(self._job.run)
        for name in ("stage", "progress", "loss", "preview", "checkpoint", "finished", "failed", "published"):
            getattr(self._job, name).connect(getattr(self, name))
        # Direct: quit() is thread-safe, and a queued call would need the GUI thread's event
        # loop, so wait() from the GUI thread (shutdown) could never return.
        self._job.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)
        self._ended = False

    def start(self) -> TrainWorker:
        self._thread.start(QThread.Priority.LowPriority)
        return self

    def cancel(self, publish: bool = True) -> None:
        """Stop at the next step; the trainer keeps the best checkpoint so far, and it is
        published as a voice unless ``publish`` is False (the app is closing)."""
        self._job.cancel(publish)

    @property
    def publishes_after_cancel(self) -> bool:
        """Whether a cancelled run still publishes its best so far (not when the app closes)."""
        return self._job.publish_after_cancel

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int | None = None) -> bool:
        return self._thread.wait() if ms is None else self._thread.wait(ms)

    def _on_thread_finished(self) -> None:
        self._thread.wait()
        if not self._ended:
            self._ended = True
            self.ended.emit()


# ----------------------------------------------------------------------------- torch probe
PROBE_SCRIPT = """
import json
try:
    import torch
except Exception as exc:
    print(json.dumps({"torch": None, "cuda": False, "reason": "PyTorch is not installed (%s)" % exc}))
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
    GPU can train; ``reason`` says why not."""

    torch: str | None
    cuda: bool
    gpu: str | None = None
    reason: str | None = None


class TorchProbe(QObject):
    """Asks a separate Python (``sys.executable`` unless told) whether torch imports and CUDA works, so
    the GUI process never loads torch for the question. ``done(TorchReport)`` when known."""

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
        if getattr(sys, "frozen", False):  # a packaged app: sys.executable is the app itself, without torch
            self._finish(TorchReport(None, False, None, FROZEN_REASON))
            return
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
        output = bytes(self._process.readAllStandardOutput().data()).decode("utf-8", "replace").strip()
        try:
            data = json.loads(output.splitlines()[-1])
            report = TorchReport(data.get("torch"), bool(data.get("cuda")), data.get("gpu"), data.get("reason"))
        except (ValueError, IndexError, AttributeError):
            report = TorchReport(None, False, None, f"the PyTorch check failed (exit code {code})")
        self._finish(report)

    def _on_error(self, error) -> None:
        if self._stopped:
            return
        if error == QProcess.ProcessError.FailedToStart:
            self._finish(TorchReport(None, False, None, f"the PyTorch check could not start {self.python}"))

    def _finish(self, report: TorchReport) -> None:
        if self.report is None:
            self.report = report
            self.done.emit(report)
