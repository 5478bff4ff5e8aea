"""The take being recorded, as it comes in: scrolling spectrogram, level meter, status line.

The Friture shape: the PortAudio callback only fills the recorder's ring
(:class:`voicestudio.audio.recorder.Recorder`); a QTimer here drains what is new, feeds it to
:class:`voicestudio.audio.analysis.LiveAnalyzer` and hands the results to widgets that only
draw. The texts come from :mod:`voicestudio.gui.controllers.record`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel

from voicestudio.audio.analysis import LiveAnalyzer
from voicestudio.gui.controllers import record as control
from voicestudio.gui.theme import COLORS
from voicestudio.gui.widgets.level_meter import LevelMeterWidget
from voicestudio.gui.widgets.spectrogram import SpectrogramView

if TYPE_CHECKING:
    from voicestudio.audio.recorder import Capture, Recorder

#: How often the recorder is drained and the meter and spectrogram redrawn (~50 fps).
UPDATE_INTERVAL_MS = 20


class LiveInput(QObject):
    """Shows a running :class:`Recorder` from :meth:`start` to :meth:`stop`; ``ended`` is
    emitted when the take ended by itself (maximum length reached, or the device failed).

    Its widgets come in two rows for the panel to place: ``graphs`` (spectrogram and level
    meter) and ``status_row`` (what is being recorded, and lost audio)."""

    ended = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.recorder: Recorder | None = None
        self.analyzer: LiveAnalyzer | None = None
        self._limit_s = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(UPDATE_INTERVAL_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

        self.spectrogram = SpectrogramView()
        self.meter = LevelMeterWidget()
        self.status = QLabel("Not recording")
        self.status.setProperty("role", "hint")
        self.overflow_label = QLabel()
        self.overflow_label.setStyleSheet(f"color: {COLORS['warning']};")
        self.overflow_label.hide()
        self.graphs = QHBoxLayout()
        self.graphs.setSpacing(6)
        self.graphs.addWidget(self.spectrogram, 1)
        self.graphs.addWidget(self.meter)
        self.status_row = QHBoxLayout()
        self.status_row.addWidget(self.status, 1)
        self.status_row.addWidget(self.overflow_label)

    def start(self, recorder: Recorder, limit_s: float) -> None:
        """Follow ``recorder``, which has just started a take that stops itself at ``limit_s``."""
        self.recorder, self._limit_s = recorder, limit_s
        self.analyzer = LiveAnalyzer(recorder.sample_rate)
        self.spectrogram.configure(
            recorder.sample_rate, self.analyzer.hop, self.analyzer.frequencies
        )
        self.meter.reset()
        self.overflow_label.hide()
        self.timer.start()
        self._show_status()

    def stop(self) -> Capture:
        """End the take (if still running) and return what it captured."""
        recorder, self.recorder = self.recorder, None
        self.timer.stop()
        capture = recorder.stop()
        self._drain(recorder)  # the last few milliseconds, for the picture
        self.status.setText(control.recorded_text(capture))
        return capture

    def _tick(self) -> None:
        """Timer: move what the recorder captured into the analyzer and the widgets."""
        recorder = self.recorder
        if recorder is None:
            self.timer.stop()
            return
        self._drain(recorder)
        self._show_status()
        if not recorder.is_recording:  # it ended by itself: maximum length, or the device failed
            self.ended.emit()

    def _drain(self, recorder: Recorder) -> None:
        samples = recorder.read_new()
        columns = self.analyzer.feed(samples).columns if samples.size else ()
        if len(columns):
            self.spectrogram.add_columns(columns)
        else:  # audio comes in blocks: between them the picture glides on with time
            self.spectrogram.advance()
        self.meter.set_levels(recorder.levels())

    def _show_status(self) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        device = recorder.device.name if recorder.device else "the microphone"
        text = control.recording_status(
            recorder.seconds_recorded, self._limit_s, device, recorder.sample_rate
        )
        if text != self.status.text():  # changes ten times a second, not on every frame
            self.status.setText(text)
        lost = control.lost_audio_text(recorder.input_overflows, recorder.dropped_frames)
        if lost is not None:
            self.overflow_label.setText(lost)
            self.overflow_label.show()
