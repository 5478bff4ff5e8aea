"""The Perform dialog: act the panel's line once, and hear the voice deliver it your way.

Record the line from the microphone (a 3-2-1 count-in, then the live spectrogram and level
meter, and Stop) or load a recording; the performance is read in a worker, and the line is
rendered with its timing, intonation and loudness in the panel's voice, style sliders on top.
The toggles and the strength render again. Performance / Result / Plain play for A/B, and
"Use this result" puts the result into the panel, where Export saves it like any render.
What happens when is :mod:`voicestudio.gui.controllers.perform`; this is only the face.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from voicestudio.audio.io import READABLE_SUFFIXES, Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.perform import (
    BEAT_MS,
    STRENGTH_TIP,
    TRANSFER_LABELS,
    TRANSFER_TIPS,
    Listen,
    PerformController,
    PerformLine,
    ReadJob,
    RenderJob,
    Stage,
    read_take,
    render_performed,
    strength_percent,
)
from voicestudio.gui.controllers.synthesize import Preview
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.widgets.live_input import LiveInput
from voicestudio.gui.widgets.waveform import WaveformView
from voicestudio.gui.workers import run_task
from voicestudio.voice.perform import Transfer

LISTEN_LABELS = {Listen.PERFORMANCE: "▶ Performance", Listen.RESULT: "▶ Result",
                 Listen.PLAIN: "▶ Plain"}
LISTEN_TIPS = {Listen.PERFORMANCE: "Play the recording the delivery comes from",
               Listen.RESULT: "Play the line as the voice performs it",
               Listen.PLAIN: "Play the line as the voice says it without the performance "
                             "(same voice and sliders)"}
# The page of the performance area for each kind of content.
_PAGE_NOTE, _PAGE_LIVE, _PAGE_TAKE = range(3)


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setProperty("role", "hint")
    return label


def _share_height(widget: QWidget) -> None:
    """The performance's and the result's plots split the height evenly, whatever their
    plots would like (a plot with its pitch contour below asks for twice as much)."""
    widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
    widget.setMinimumHeight(150)


class PerformDialog(QDialog):
    """See the module docstring. ``line`` gives the panel's line as it is now; ``ctx`` (a
    StudioContext) gives the microphone, the player and the voices."""

    #: "Use this result" was pressed: the Preview of the performed line.
    used = Signal(object)

    def __init__(self, ctx, line: Callable[[], PerformLine], parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.controller = PerformController(self, line)
        #: How long each count-in beat shows (tests shorten it).
        self.beat_ms = BEAT_MS
        self._tasks: set = set()
        self._shown_take = self._shown_result = None
        self.setWindowTitle("Perform the line")
        self.setMinimumWidth(640)  # the height: what the layout needs
        self.beats = QTimer(self)
        self.beats.timeout.connect(self.controller.beat_passed)
        self._build()
        self.resize(720, 700)  # fits a 768-pixel screen; the plots share what is left

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.line_label = QLabel()
        self.line_label.setWordWrap(True)
        self.line_label.setStyleSheet("font-size: 12pt;")  # the line itself, over the 10 pt
        self.voice_label = _hint()
        self.message = InlineMessage()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.use_button = QPushButton("Use this result")
        self.use_button.setToolTip("Show the performed line in Synthesize & Customize; Export "
                                   "saves it like any rendered line")
        self.use_button.setProperty("accent", True)
        self.buttons.addButton(self.use_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.clicked.connect(self.use_result)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.line_label)
        layout.addWidget(self.voice_label)
        layout.addWidget(self._build_performance(), 1)
        layout.addWidget(self.message)
        layout.addWidget(self._build_transfers())
        layout.addWidget(self._build_result(), 1)
        layout.addWidget(self.buttons)

    def _build_performance(self) -> QGroupBox:
        """Record / Load, then the count-in, the live input or the performance's waveform."""
        box = QGroupBox("Performance")
        self.record_button = QPushButton("● Record")
        self.record_button.setToolTip("Count in 3-2-1, then record the line from the microphone "
                                      "(the one chosen in Record)")
        self.record_button.clicked.connect(self.controller.record_pressed)
        self.load_button = QPushButton("Load a recording…")
        self.load_button.setToolTip("A recording of the line by anyone: WAV, FLAC, Ogg, MP3, AIFF")
        self.load_button.clicked.connect(lambda: self.load())
        buttons = QHBoxLayout()
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.load_button)
        buttons.addStretch(1)

        self.live = LiveInput(self)
        self.live.ended.connect(self.stop_recording)  # the length limit, or the device failed
        self.note = QLabel()
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)
        self.take_view = WaveformView()
        self.take_view.setToolTip("The performance, and its intonation as it was read")
        live = QWidget()
        live_layout = QHBoxLayout(live)
        live_layout.setContentsMargins(0, 0, 0, 0)
        live_layout.addLayout(self.live.graphs)
        self.stack = QStackedWidget()
        for page in (self.note, live, self.take_view):
            self.stack.addWidget(page)
        _share_height(self.stack)
        self.state_label = _hint()

        column = QVBoxLayout(box)
        column.addLayout(buttons)
        column.addWidget(self.stack, 1)
        column.addLayout(self.live.status_row)
        column.addWidget(self.state_label)
        return box

    def _build_transfers(self) -> QGroupBox:
        """Which parts of the performance are carried over, and how much."""
        box = QGroupBox("Carry over")
        row = QHBoxLayout(box)
        self.transfer_boxes: dict[Transfer, QCheckBox] = {}
        for transfer, label in TRANSFER_LABELS.items():
            check = QCheckBox(label)
            check.setToolTip(TRANSFER_TIPS[transfer])
            check.setChecked(transfer in self.controller.settings.transfers)
            check.toggled.connect(lambda on, t=transfer: self.controller.set_transfer(t, on))
            self.transfer_boxes[transfer] = check
            row.addWidget(check)
        row.addSpacing(16)
        row.addWidget(QLabel("Strength"))
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setPageStep(10)
        self.strength.setValue(round(self.controller.settings.strength * 100))
        self.strength.setToolTip(STRENGTH_TIP)
        self.strength.setMinimumWidth(140)
        self.strength_label = QLabel(strength_percent(self.controller.settings.strength))
        self.strength_label.setMinimumWidth(44)
        self.strength_label.setAlignment(Qt.AlignmentFlag.AlignRight
                                         | Qt.AlignmentFlag.AlignVCenter)
        # Dragging renders silently (the newest position wins); a release plays.
        self.strength.valueChanged.connect(self._strength_moved)
        self.strength.sliderReleased.connect(self._strength_moved)
        row.addWidget(self.strength, 1)
        row.addWidget(self.strength_label)
        return box

    def _build_result(self) -> QGroupBox:
        """The performed line, and the A/B buttons."""
        box = QGroupBox("Result")
        self.result_view = WaveformView()
        self.result_view.setToolTip("The line as the voice performs it, with its intonation")
        _share_height(self.result_view)
        self.listen_buttons: dict[Listen, QPushButton] = {}
        row = QHBoxLayout()
        for which, label in LISTEN_LABELS.items():
            button = QPushButton(label)
            button.setToolTip(LISTEN_TIPS[which])
            button.clicked.connect(lambda _checked=False, w=which: self.controller.play(w))
            self.listen_buttons[which] = button
            row.addWidget(button)
        row.addStretch(1)
        self.perform_button = QPushButton("Perform")
        self.perform_button.setToolTip("Render the line with this performance and play it")
        self.perform_button.clicked.connect(self.controller.perform_pressed)
        row.addWidget(self.perform_button)
        column = QVBoxLayout(box)
        column.addWidget(self.result_view, 1)
        column.addLayout(row)
        return box

    # ------------------------------------------------------------------ actions
    def start(self) -> None:
        """Open (again) for the panel's line as it is now."""
        self.controller.open()
        self.open()

    def load(self, path: str | None = None) -> None:
        """Read a recording of the line (asks for the file when ``path`` is None)."""
        if path is None:
            patterns = " ".join(f"*{suffix}" for suffix in READABLE_SUFFIXES)
            path, _ = QFileDialog.getOpenFileName(self, "A recording of the line", "",
                                                  f"Audio ({patterns});;All files (*)")
            if not path:
                return
        self.controller.load(path)

    def use_result(self) -> None:
        preview = self.controller.use_result()
        if preview is not None:
            self.used.emit(preview)
            self.accept()

    def _strength_moved(self, *_args) -> None:
        value = self.strength.value()
        self.strength_label.setText(strength_percent(value / 100))
        self.controller.set_strength(value / 100, final=not self.strength.isSliderDown())

    # ------------------------------------------------------------------ the controller's view
    def start_beats(self) -> None:
        self.ctx.stop_playback()
        self.beats.start(self.beat_ms)

    def stop_beats(self) -> None:
        self.beats.stop()

    def start_recording(self, limit_s: float) -> str | None:
        from voicestudio.audio.recorder import Recorder

        recorder = Recorder(self.ctx.input_device, max_seconds=limit_s)
        try:
            recorder.start()
        except VoiceStudioError as exc:
            return str(exc)
        self.live.start(recorder, limit_s)
        return None

    def stop_recording(self) -> None:
        if self.live.recorder is None:
            return
        capture = self.live.stop()
        problem = None if capture.complete else capture.notice
        self.controller.recorded(capture.samples, capture.sample_rate, problem)

    def start_read(self, job: ReadJob) -> None:
        self._start_task(lambda _handle: read_take(job), done=self.controller.read_done,
                         failed=lambda message: self.controller.read_failed(job, message))

    def start_render(self, job: RenderJob) -> None:
        ctx = self.ctx
        self._start_task(
            lambda _handle: render_performed(ctx.synthesizer(job.line.voice.spec), job),
            done=self.controller.render_done,
            failed=lambda message: self.controller.render_failed(job, message))

    def play(self, audio: Audio) -> str | None:
        if not self.isVisible():
            return None  # closed while it rendered: not to be heard any more
        try:
            self.ctx.play(audio.samples, audio.sample_rate)
        except VoiceStudioError as exc:
            return str(exc)
        return None

    def changed(self) -> None:
        """Show the controller's status."""
        c, status = self.controller, self.controller.status()
        line = c.line
        if line is not None:
            self.line_label.setText(f"“{' '.join(line.text.split())}”")
            voice = line.voice.label or line.voice.spec or "the base voice"
            self.voice_label.setText(f"Spoken by {voice}, with the panel's style sliders on top.")
        if status.message:
            self.message.show_message(status.message, status.level.value)
        else:
            self.message.clear_message()
        recording = status.stage is Stage.RECORDING
        self.record_button.setText("■ Stop" if recording else "Cancel" if status.stage is
                                   Stage.COUNT_IN else "● Record")
        self.record_button.setEnabled(status.can_record)
        self.load_button.setEnabled(status.can_load)
        self.perform_button.setEnabled(status.can_perform)
        self.use_button.setEnabled(status.can_use)
        for which, button in self.listen_buttons.items():
            button.setEnabled(which in status.can_play)
        self.state_label.setText(status.state)
        self.state_label.setVisible(bool(status.state) and not recording)
        self.live.status.setVisible(recording)
        self._show_take()
        self._show_result()
        if status.stage is Stage.COUNT_IN:
            self.note.setText(f"<span style='font-size: 44pt; font-weight: 600;'>"
                              f"{status.beat}</span>")
            self.stack.setCurrentIndex(_PAGE_NOTE)
        elif recording:
            self.stack.setCurrentIndex(_PAGE_LIVE)
        elif c.take is not None:
            self.stack.setCurrentIndex(_PAGE_TAKE)
        else:
            self.note.setText("Reading…" if status.stage is Stage.READING else
                              "No performance yet.")
            self.stack.setCurrentIndex(_PAGE_NOTE)

        QTimer.singleShot(0, self, self._fit)  # once the labels have their new text

    def _fit(self) -> None:
        """Grow when a message needs more than the plots can give up: a top-level window
        does not follow its wrapped labels' height for its width by itself."""
        need = max(self.minimumSizeHint().height(), self.heightForWidth(self.width()))
        if need > self.height():
            self.resize(self.width(), need)

    def _show_take(self) -> None:
        take = self.controller.take
        if take is self._shown_take:
            return
        self._shown_take = take
        if take is None:
            self.take_view.clear()
            return
        p = take.performance
        self.take_view.set_audio(take.audio.samples, take.audio.sample_rate)
        self.take_view.set_f0(p.frame_times(), p.median_hz * np.exp2(p.pitch_st / 12.0))

    def _show_result(self) -> None:
        result = self.controller.result
        if result is self._shown_result:
            return
        self._shown_result = result
        if result is None:
            self.result_view.clear()
            return
        preview: Preview = result.preview
        audio = preview.result.audio
        self.result_view.set_audio(audio.samples, audio.sample_rate)
        if preview.f0 is not None:
            self.result_view.set_f0(preview.f0.times_s, preview.f0.hz)

    # ------------------------------------------------------------------ closing
    def _start_task(self, fn, done, failed) -> None:
        task = run_task(fn, self, done=done, failed=failed)
        self._tasks.add(task)
        task.finished.connect(lambda: self._tasks.discard(task))
        task.finished.connect(self.changed)

    def done(self, result: int) -> None:
        self.controller.close()  # a count-in stops, a recording ends unread
        self.changed()
        super().done(result)

    def shutdown(self) -> None:
        """No result that still comes is shown; the tasks under way are waited for."""
        self.controller.shutdown()
        for task in list(self._tasks):
            task.wait(60_000)
