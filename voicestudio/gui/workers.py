"""QThread adapters over Qt-free engine calls. They hold no logic of their own: a task is
a plain function; its result, error and progress come back to the GUI thread as signals.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal

from voicestudio.errors import VoiceStudioError


class Cancelled(Exception):
    """Raised inside a task by ``report()`` once the user cancelled."""


class TaskHandle:
    """Given to a task function: ``report(fraction, message)`` sends progress to the GUI
    and raises :class:`Cancelled` once ``cancel()`` was called; ``cancelled`` can be polled;
    ``send(event)`` delivers any object (an engine's typed event) to the task's ``event``
    signal, in order, in the GUI thread."""

    def __init__(self, emit: Callable[[float, str], None], send: Callable[[object], None]) -> None:
        self._emit = emit
        self._send = send
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, fraction: float, message: str = "") -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self._emit(float(fraction), message)

    def send(self, event: object) -> None:
        self._send(event)


class _TaskObject(QObject):
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    progress = Signal(float, str)
    event = Signal(object)

    def __init__(self, fn: Callable[[TaskHandle], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.handle = TaskHandle(self.progress.emit, self.event.emit)

    def run(self) -> None:
        try:
            result = self.fn(self.handle)
        except Cancelled:
            self.cancelled.emit()
        except VoiceStudioError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: report it rather than leave the window waiting
            traceback.print_exc()
            self.failed.emit(f"internal error: {exc!r}")
        else:
            if self.handle.cancelled:
                self.cancelled.emit()
            else:
                self.done.emit(result)


class Task(QObject):
    """One background job. Connect ``done(result)``, ``failed(message)``, ``cancelled()``,
    ``progress(fraction, message)``, ``event(object)`` and ``finished()`` (always last, after
    the thread ended), then ``start()``. The object lives until its thread has finished."""

    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    progress = Signal(float, str)
    event = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[[TaskHandle], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._obj = _TaskObject(fn)
        self._obj.moveToThread(self._thread)
        self._thread.started.connect(self._obj.run)
        self._obj.progress.connect(self.progress)
        self._obj.event.connect(self.event)
        # Direct: quit() is thread-safe, and a queued call would need the GUI thread's event
        # loop, so wait() from the GUI thread could never return.
        for signal in (self._obj.done, self._obj.failed, self._obj.cancelled):
            signal.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._obj.done.connect(self._relay_done)
        self._obj.failed.connect(self._relay_failed)
        self._obj.cancelled.connect(self._relay_cancelled)

    def start(self) -> Task:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._obj.handle.cancel()

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30_000) -> bool:
        return self._thread.wait(ms)

    # The thread is ended before the outcome is relayed, so a handler may start the next task.
    def _end_thread(self) -> None:
        self._thread.quit()
        self._thread.wait()

    def _relay_done(self, result: object) -> None:
        self._end_thread()
        self.done.emit(result)
        self.finished.emit()

    def _relay_failed(self, message: str) -> None:
        self._end_thread()
        self.failed.emit(message)
        self.finished.emit()

    def _relay_cancelled(self) -> None:
        self._end_thread()
        self.cancelled.emit()
        self.finished.emit()


def run_task(
    fn: Callable[[TaskHandle], Any],
    parent: QObject,
    *,
    done=None,
    failed=None,
    cancelled=None,
    progress=None,
    event=None,
) -> Task:
    """Start ``fn(handle)`` on a new thread and wire the given GUI-thread callbacks."""
    task = Task(fn, parent)
    for signal, slot in ((task.done, done), (task.failed, failed), (task.cancelled, cancelled),
                         (task.progress, progress), (task.event, event)):
        if slot is not None:
            signal.connect(slot)
    task.finished.connect(task.deleteLater)
    return task.start()
