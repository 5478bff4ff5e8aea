"""Synthesize & Customize: type a line, pick a voice, shape it with the styling sliders.

The panel only wires widgets to the engine: a :class:`PreviewSession` renders (its
:class:`LatestWinsRenderer` thread keeps one pending request, so a dragged slider never
queues stale renders), ``evaluate.prosody`` measures the F0 contour, ``evaluate.secs``
scores the similarity to the project's takes, ``styling.presets`` keeps named presets.
Sliders preview while they are dragged and play when released.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.evaluate import prosody
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.widgets.waveform import WaveformView
from voicestudio.gui.workers import Cancelled, run_task
from voicestudio.project import selection
from voicestudio.runtime import cuda_unavailable_reason
from voicestudio.styling.controls import CONTROL_SPECS, ControlSpec, StyleControls, emotion_presets
from voicestudio.styling.presets import PresetError, PresetStore
from voicestudio.voice.catalog import DEFAULT_VOICE, list_voices, resolve_voice
from voicestudio.voice.preview import LatestWinsRenderer, PreviewSession, RenderResult
from voicestudio.voice.synthesizer import Synthesizer

#: Slider order and resolution (one slider step, in the control's unit).
SLIDER_STEPS: dict[str, float] = {
    "pitch": 0.5,
    "pitch_range": 0.05,
    "speed": 0.05,
    "energy": 0.5,
    "breathiness": 0.05,
    "variability": 0.05,
    "intensity": 5.0,
}
PROVIDERS = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "CUDA (GPU)"))
DEFAULT_TEXT = "Hello! This is how my voice sounds when VoiceStudio speaks for me."
NO_PROJECT_HINT = "Open or create a voice project (File menu) to compare this voice with your recordings."
NO_TAKES_HINT = "Record a few takes in the Record panel to compare this voice with your recordings."


def format_value(spec: ControlSpec, value: float) -> str:
    """A control's value with its unit, as the slider label shows it."""
    if spec.unit.startswith("×"):
        return f"{value:.2f}×"
    if spec.unit == "%":
        return f"{value:.0f} %"
    if spec.unit == "semitones":
        return f"{value:+.1f} semitones"
    if spec.unit == "dB":
        return f"{value:+.1f} dB"
    return f"{value:.2f}"


class ControlSlider(QSlider):
    """A horizontal slider over one control's range in steps of :data:`SLIDER_STEPS`."""

    def __init__(self, spec: ControlSpec, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.spec = spec
        self.step = SLIDER_STEPS[spec.name]
        self.setRange(0, int(round((spec.high - spec.low) / self.step)))
        self.setPageStep(max(1, self.maximum() // 10))
        self.set_control(spec.default)

    def control(self) -> float:
        return round(self.spec.low + self.value() * self.step, 6)

    def set_control(self, value: float) -> None:
        self.setValue(int(round((float(value) - self.spec.low) / self.step)))


class SynthesizePanel(QWidget):
    """Text → styled speech with the chosen voice; see the module docstring."""

    title = "Synthesize & Customize"
    #: Every finished render (an :class:`Audio`), previews included.
    rendered = Signal(object)
    #: The similarity of the latest render to the project's takes (a float), or None.
    similarity_changed = Signal(object)
    #: The DNSMOS quality of the latest render (a QualityScore), or None.
    quality_changed = Signal(object)
    # From the renderer thread to the GUI thread: (generation, RenderResult, F0 or None, warnings).
    _result_ready = Signal(object)

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.presets = PresetStore()
        self.sliders: dict[str, ControlSlider] = {}
        self.value_labels: dict[str, QLabel] = {}
        self.similarity: float | None = None
        self.quality = None  # evaluate.dnsmos.QualityScore of the latest render
        self._audio: Audio | None = None
        self._renderer: LatestWinsRenderer | None = None
        self._generation = 0
        self._session_key: tuple[str | None, str] | None = None  # (voice spec, provider) of the renderer
        self._wanted_key: tuple[str | None, str] | None = None  # the voice being loaded
        self._pending: tuple[str, StyleControls, bool] | None = None  # a request waiting for its voice
        self._latest: tuple[int, str, StyleControls, tuple] | None = None  # last request sent
        self._delivered: tuple[str, StyleControls, tuple] | None = None  # what the shown audio is
        self._play_ids: set[int] = set()
        self._requested_at: dict[int, float] = {}
        self._tasks: set = set()
        self._retired: list[LatestWinsRenderer] = []  # replaced renderers whose thread may still run
        self._similarity_task = None
        self._similarity_next: tuple[Audio, list] | None = None
        self._similarity_epoch = 0
        self._applying = False  # sliders set by code: no render per slider
        self._shut = False
        self._build()
        self._result_ready.connect(self._on_result)
        ctx.project_changed.connect(self._on_project_changed)
        ctx.voices_changed.connect(self._on_voices_changed)
        ctx.devices_changed.connect(self._on_devices_changed)
        self.refresh_voices(select_best=True)
        self.refresh_presets()
        self._show_similarity_hint()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        heading = QLabel(self.title)
        heading.setProperty("role", "title")

        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Type what the voice should say…")
        self.text.setPlainText(DEFAULT_TEXT)
        # Three lines when there is room; it gives way first in a small window.
        self.text.setMinimumHeight(52)
        self.text.setMaximumHeight(78)
        speak_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self.text)
        speak_shortcut.activated.connect(self.speak)

        self.voice_combo = QComboBox()
        self.voice_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.voice_combo.setMinimumContentsLength(24)
        self.voice_combo.setToolTip("The voice that speaks: your trained voices, the base voice, other Piper voices")
        self.voice_combo.currentIndexChanged.connect(self._on_voice_chosen)

        self.provider_combo = QComboBox()
        self.provider_combo.setToolTip("Where synthesis runs (Auto measures which is faster)")
        cuda_reason = cuda_unavailable_reason()
        for value, label in PROVIDERS:
            self.provider_combo.addItem(label, value)
            if value == "cuda" and cuda_reason:
                item = self.provider_combo.model().item(self.provider_combo.count() - 1)
                item.setEnabled(False)
                item.setToolTip(f"CUDA is not available: {cuda_reason}")
        self._select_provider(self.ctx.provider)
        self.provider_combo.currentIndexChanged.connect(self._on_provider_chosen)

        self.speak_button = QPushButton("Speak")
        self.speak_button.setProperty("accent", True)
        self.speak_button.setToolTip("Render the text with these settings and play it (Ctrl+Enter)")
        self.speak_button.clicked.connect(self.speak)
        self.play_button = QPushButton("Play / Stop")
        self.play_button.setToolTip("Play the last render again, or stop playback")
        self.play_button.clicked.connect(self.toggle_play)

        top = QHBoxLayout()
        top.addWidget(QLabel("Voice"))
        top.addWidget(self.voice_combo, 1)
        top.addSpacing(8)
        top.addWidget(QLabel("Run on"))
        top.addWidget(self.provider_combo)
        top.addSpacing(8)
        top.addWidget(self.play_button)
        top.addWidget(self.speak_button)

        self.message = InlineMessage()

        # --- style controls
        style = QGroupBox("Style")
        grid = QGridLayout(style)
        grid.setColumnStretch(1, 1)
        row = 0
        for name in ("pitch", "pitch_range", "speed", "energy", "breathiness", "variability"):
            self._add_slider(grid, row, CONTROL_SPECS[name])
            row += 1
        self.emotion = QComboBox()
        for name, preset in emotion_presets().items():
            self.emotion.addItem(name.capitalize(), name)
            self.emotion.setItemData(self.emotion.count() - 1, preset.description, Qt.ItemDataRole.ToolTipRole)
        self.emotion.setToolTip("An emotion preset, applied at the intensity below")
        self.emotion.currentIndexChanged.connect(self._on_emotion_changed)
        self.reset_button = QPushButton("Reset all")
        self.reset_button.setToolTip("Every control, emotion included, back to its default")
        self.reset_button.clicked.connect(self.reset_controls)
        grid.addWidget(QLabel("Emotion"), row, 0)
        grid.addWidget(self.emotion, row, 1)
        grid.addWidget(self.reset_button, row, 2)
        row += 1
        self._add_slider(grid, row, CONTROL_SPECS["intensity"])
        row += 1

        self.preset_combo = QComboBox()
        self.preset_combo.setPlaceholderText("Saved presets")
        self.preset_combo.setToolTip("Load a saved style preset")
        self.preset_combo.activated.connect(lambda i: self.load_preset(self.preset_combo.itemText(i)))
        self.preset_name = QLineEdit()
        self.preset_name.setPlaceholderText("Preset name")
        self.preset_name.returnPressed.connect(lambda: self.save_preset(self.preset_name.text()))
        self.save_preset_button = QPushButton("Save")
        self.save_preset_button.setToolTip("Save these settings under the name on the left")
        self.save_preset_button.clicked.connect(lambda: self.save_preset(self.preset_name.text()))
        self.delete_preset_button = QPushButton("Delete")
        self.delete_preset_button.setToolTip("Delete the preset chosen in the list")
        self.delete_preset_button.clicked.connect(lambda: self.delete_preset(self.preset_combo.currentText()))
        grid.addWidget(QLabel("Presets"), row, 0)
        grid.addWidget(self.preset_combo, row, 1)
        grid.addWidget(self.delete_preset_button, row, 2)
        row += 1
        grid.addWidget(QLabel("Save as"), row, 0)
        grid.addWidget(self.preset_name, row, 1)
        grid.addWidget(self.save_preset_button, row, 2)
        style.setMinimumWidth(470)
        style.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        # --- result
        result = QGroupBox("Result")
        # Wide enough that the wrapped status lines below the plot never overlap it.
        result.setMinimumWidth(320)
        result_layout = QVBoxLayout(result)
        self.waveform = WaveformView()
        self.waveform.setMinimumHeight(130)
        self.state_label = QLabel("Press Speak to hear the text.")
        self.state_label.setProperty("role", "hint")
        self.state_label.setWordWrap(True)
        self.similarity_label = QLabel()
        self.similarity_label.setWordWrap(True)
        self.quality_label = QLabel()
        self.quality_label.setWordWrap(True)
        self.quality_label.setProperty("role", "hint")
        self.quality_label.setToolTip("Predicted listener rating (DNSMOS P.835, 1 bad … 5 excellent) of this "
                                      "render: overall, the voice itself, and the background")
        self.provider_label = QLabel()
        self.provider_label.setProperty("role", "hint")
        self.provider_label.setWordWrap(True)
        result_layout.addWidget(self.waveform, 1)
        result_layout.addWidget(self.state_label)
        result_layout.addWidget(self.similarity_label)
        result_layout.addWidget(self.quality_label)
        result_layout.addWidget(self.provider_label)

        style_column = QVBoxLayout()
        style_column.addWidget(style)
        style_column.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(style_column, 0)
        body.addWidget(result, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.text)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addLayout(body, 1)

    def _add_slider(self, grid: QGridLayout, row: int, spec: ControlSpec) -> None:
        slider = ControlSlider(spec)
        unit = f" ({spec.unit})" if spec.unit and spec.unit != "%" else ""
        slider.setToolTip(f"{spec.label}{unit}: {spec.low:g} to {spec.high:g}, default {spec.default:g}")
        value = QLabel(format_value(spec, spec.default))
        value.setMinimumWidth(110)
        value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(QLabel(spec.label), row, 0)
        grid.addWidget(slider, row, 1)
        grid.addWidget(value, row, 2)
        self.sliders[spec.name] = slider
        self.value_labels[spec.name] = value
        slider.valueChanged.connect(lambda _v, name=spec.name: self._on_slider_moved(name))
        slider.sliderReleased.connect(self._on_slider_released)

    # ------------------------------------------------------------------ public API
    def current_text(self) -> str:
        return self.text.toPlainText()

    def set_text(self, text: str) -> None:
        self.text.setPlainText(text)

    def current_controls(self) -> StyleControls:
        values = {name: slider.control() for name, slider in self.sliders.items()}
        return StyleControls(emotion=self.emotion.currentData() or "neutral", **values)

    def set_controls(self, controls: StyleControls) -> None:
        """Move every slider (and the emotion) to ``controls`` and render once."""
        controls = controls.validated()
        self._applying = True
        try:
            for name, slider in self.sliders.items():
                slider.set_control(getattr(controls, name))
            index = self.emotion.findData(controls.emotion)
            self.emotion.setCurrentIndex(max(0, index))
        finally:
            self._applying = False
        self._request(play=True, quiet=True)

    def reset_controls(self) -> None:
        self.set_controls(StyleControls())

    def current_voice_spec(self) -> str | None:
        data = self.voice_combo.currentData()
        return str(data) if data else None

    def current_audio(self) -> Audio | None:
        return self._audio

    def select_voice(self, spec: str) -> bool:
        """Choose the voice ``spec`` (a catalog name, a .onnx path, a project folder), adding
        it to the list when it is not there. False (and an inline message) when it is unknown."""
        index = self.voice_combo.findData(spec)
        if index < 0:
            try:
                info = resolve_voice(spec)
            except VoiceStudioError as exc:
                self.message.error(str(exc))
                return False
            index = next((i for i in range(self.voice_combo.count())
                          if self.voice_combo.itemData(i) in (info.name, str(info.model_path))), -1)
            if index < 0:
                self.voice_combo.addItem(info.name, spec)
                index = self.voice_combo.count() - 1
        self.voice_combo.setCurrentIndex(index)
        return True

    def speak(self) -> None:
        """Render the text with the current voice and controls, then play it."""
        self.message.clear_message()
        self._request(play=True, quiet=False)

    def toggle_play(self) -> None:
        """Stop playback, or play the last render (rendering it first when there is none)."""
        if self.ctx.is_playing:
            self.ctx.stop_playback()
        elif self._audio is not None:
            self._play(self._audio)
        else:
            self.speak()

    @property
    def busy(self) -> bool:
        """True while a render (or the voice it waits for) is under way."""
        return self._pending is not None or bool(self._requested_at)

    def shutdown(self) -> None:
        """Stop the renderer and wait for background tasks; safe to call twice."""
        if self._shut:
            return
        self._shut = True
        self._generation += 1
        if self._renderer is not None:
            self._renderer.close(timeout=10.0)
            self._renderer = None
        for renderer in self._retired:
            renderer.close(timeout=10.0)
        self._retired.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            task.wait(120_000)

    # ------------------------------------------------------------------ voices
    def refresh_voices(self, select_best: bool = False) -> None:
        """Rebuild the voice list: the project's trained voices (best first), the base voice,
        other installed Piper voices. Keeps the choice unless ``select_best``."""
        previous = self.current_voice_spec()
        project = self.ctx.project
        entries: list[tuple[str, str]] = []
        best_spec = None
        if project is not None:
            best = project.best_voice()
            trained = [v for v in reversed(project.voices) if (project.folder / v.path).is_file()]
            trained.sort(key=lambda v: v is not best)
            for voice in trained:
                score = f", similarity {voice.similarity:.2f}" if voice.similarity is not None else ""
                spec = str(project.folder / voice.path)
                entries.append((f"{voice.name} (your voice{score})", spec))
                if voice is best:
                    best_spec = spec
        try:
            installed = list_voices()
        except Exception as exc:  # a broken bundled package: say so, keep the project voices
            installed = []
            self.message.error(f"cannot list the installed voices: {exc}")
        for info in installed:
            label = f"{info.name} (base voice)" if info.source == "bundled" else f"{info.name} (Piper voice)"
            entries.append((label, info.name))

        self.voice_combo.blockSignals(True)
        try:
            self.voice_combo.clear()
            for label, spec in entries:
                self.voice_combo.addItem(label, spec)
                self.voice_combo.setItemData(self.voice_combo.count() - 1, spec, Qt.ItemDataRole.ToolTipRole)
            wanted = best_spec if (select_best and best_spec) else previous
            index = self.voice_combo.findData(wanted) if wanted else -1
            if index < 0:
                index = self.voice_combo.findData(best_spec) if best_spec else self.voice_combo.findData(DEFAULT_VOICE)
            self.voice_combo.setCurrentIndex(max(0, index))
        finally:
            self.voice_combo.blockSignals(False)
        if self.current_voice_spec() != previous:
            self._on_voice_chosen()

    def _on_voice_chosen(self, *_args) -> None:
        if self._delivered is not None and self.current_text().strip():
            self._request(play=False, quiet=True)  # show the new voice on the same line
        else:
            self._load_voice(self._key())

    def _key(self) -> tuple[str | None, str]:
        return (self.current_voice_spec(), self.ctx.provider)

    def _load_voice(self, key: tuple[str | None, str]) -> None:
        if key == self._session_key or key == self._wanted_key:
            return
        self._wanted_key = key
        spec = key[0]
        self.state_label.setText(f"Loading voice {self.voice_combo.currentText() or spec}…")
        ctx = self.ctx
        self._start_task(lambda _handle: ctx.voice(spec),
                         done=lambda voice, key=key: self._on_voice_loaded(key, voice),
                         failed=lambda message, key=key: self._on_voice_failed(key, message))

    def _on_voice_loaded(self, key, voice) -> None:
        if key != self._wanted_key or self._shut:
            return
        self._wanted_key = None
        if self._renderer is not None:
            # Its thread ends by itself after the render in hand (late results are dropped);
            # shutdown() joins it, so no render is cut off when the app exits.
            self._renderer.close(timeout=0)
            self._retired = [r for r in self._retired if r.alive]  # keep only running ones
            self._retired.append(self._renderer)
        self._generation += 1
        generation = self._generation
        session = PreviewSession(Synthesizer(voice))
        self._renderer = LatestWinsRenderer(session, lambda result: self._deliver(generation, session, result))
        self._session_key = key
        self._requested_at.clear()
        self._play_ids.clear()
        choice = voice.provider
        self.provider_label.setText(f"{voice.name} runs on {choice.used.upper()}: {choice.reason}")
        self.state_label.setText("Press Speak to hear the text." if self._audio is None else self.state_label.text())
        pending, self._pending = self._pending, None
        if pending is not None:
            self._send(*pending)

    def _on_voice_failed(self, key, message: str) -> None:
        if key != self._wanted_key:
            return
        self._wanted_key = None
        self._pending = None
        self.state_label.setText("")
        self.message.error(f"The voice could not be loaded: {message}")

    # ------------------------------------------------------------------ providers
    def _select_provider(self, value: str) -> None:
        index = self.provider_combo.findData(value)
        self.provider_combo.blockSignals(True)
        self.provider_combo.setCurrentIndex(max(0, index))
        self.provider_combo.blockSignals(False)

    def _on_provider_chosen(self, *_args) -> None:
        value = self.provider_combo.currentData()
        if value and value != self.ctx.provider:
            self.ctx.provider = value  # emits devices_changed, handled below

    def _on_devices_changed(self) -> None:
        self._select_provider(self.ctx.provider)
        if self._session_key is not None and self._session_key != self._key():
            self._session_key = None
            self._load_voice(self._key())

    # ------------------------------------------------------------------ rendering
    def _on_slider_moved(self, name: str) -> None:
        slider = self.sliders[name]
        self.value_labels[name].setText(format_value(slider.spec, slider.control()))
        if self._applying:
            return
        # Dragging previews silently; a click, a key or the wheel is a finished change: play it.
        self._request(play=not slider.isSliderDown(), quiet=True)

    def _on_slider_released(self) -> None:
        if self._applying:
            return
        text, controls, key = self.current_text(), self.current_controls(), self._key()
        if self._latest is not None and self._latest[1:] == (text, controls, key) and self._latest[0] in self._requested_at:
            self._play_ids.add(self._latest[0])  # the render of this position is under way: play it when done
        elif self._delivered == (text, controls, key) and self._audio is not None:
            self._play(self._audio)
        else:
            self._request(play=True, quiet=True)

    def _on_emotion_changed(self, *_args) -> None:
        if not self._applying:
            self._request(play=True, quiet=True)

    def _request(self, play: bool, quiet: bool) -> None:
        """Ask for a render of the current text, voice and controls. ``quiet``: an empty
        text is not an error (a slider moved before anything was typed)."""
        if self._shut:
            return
        text = self.current_text()
        if not text.strip():
            if not quiet:
                self.message.error("Nothing to say: type some text first.")
            return
        controls = self.current_controls()
        key = self._key()
        if self._renderer is None or self._session_key != key:
            self._pending = (text, controls, play)
            self._load_voice(key)
            return
        self._send(text, controls, play)

    def _send(self, text: str, controls: StyleControls, play: bool) -> None:
        if self._renderer is None:
            return
        request_id = self._renderer.request(text, controls)
        self._requested_at[request_id] = time.perf_counter()
        self._latest = (request_id, text, controls, self._session_key)
        if play:
            self._play_ids.add(request_id)
        self.state_label.setText("Rendering…")

    def _deliver(self, generation: int, session: PreviewSession, result: RenderResult) -> None:
        """Runs on the renderer thread: measure the contour, then hand over to the GUI thread."""
        f0 = None
        warnings: list[str] = []
        if result.audio is not None and result.audio.samples.size:
            try:
                f0 = prosody.f0_contour(result.audio.samples, result.audio.sample_rate)
            except Exception:  # no contour is no reason to lose the render
                f0 = None
            try:
                warnings = session.prepare(result.text, result.controls.variability).report.messages()
            except Exception:
                warnings = []
        self._result_ready.emit((generation, result, f0, warnings))

    def _on_result(self, payload) -> None:
        generation, result, f0, warnings = payload
        if generation != self._generation or self._shut:
            return
        started = self._requested_at.pop(result.request_id, None)
        for stale in [i for i in self._requested_at if i < result.request_id]:
            del self._requested_at[stale]  # replaced before they started: they will never arrive
        play = any(i <= result.request_id for i in self._play_ids)
        self._play_ids = {i for i in self._play_ids if i > result.request_id}
        if result.error is not None:
            error = result.error
            text = str(error) if isinstance(error, VoiceStudioError) else f"internal error: {error!r}"
            self.message.error(text[:1].upper() + text[1:])
            self.state_label.setText("")
            return
        audio = result.audio
        self._audio = audio
        self._delivered = (result.text, result.controls, self._session_key)
        self.waveform.set_audio(audio.samples, audio.sample_rate)
        if f0 is not None and len(f0):
            self.waveform.set_f0(np.arange(len(f0)) * (prosody.FRAME_PERIOD_MS / 1000.0), f0)
        if warnings:
            self.message.show_message("Some of the text was left out: " + "; ".join(warnings), "warning")
        elif self.message.level == "error" or self.message.level == "warning":
            self.message.clear_message()
        took = f", rendered in {time.perf_counter() - started:.2f} s" if started is not None else ""
        if not self._requested_at:
            self.state_label.setText(f"{audio.duration_s:.1f} s at {audio.sample_rate} Hz{took}")
        if play:
            self._play(audio)
        self.rendered.emit(audio)
        self._score(audio)

    def _play(self, audio: Audio) -> None:
        try:
            self.ctx.play(audio.samples, audio.sample_rate)
        except VoiceStudioError as exc:
            self.message.show_message(f"Rendered, but it cannot be played: {exc}", "warning")

    # ------------------------------------------------------------------ similarity
    def _on_project_changed(self, _project) -> None:
        self._similarity_epoch += 1  # a score under way is for the previous project's takes
        self.refresh_voices(select_best=True)
        self.similarity = None
        self._show_similarity_hint()
        if self._audio is not None:
            self._score(self._audio)

    def _on_voices_changed(self) -> None:
        spec = self.current_voice_spec()
        if spec is not None and self._session_key is not None and self._session_key[0] == spec:
            self._session_key = None  # the file may have been replaced: reload it on next use
        self.refresh_voices(select_best=False)

    def _reference_takes(self) -> list:

        project = self.ctx.project
        return selection.reference_takes(project) if project is not None else []

    def _show_similarity_hint(self) -> None:
        if self.ctx.project is None:
            self._set_similarity_text(NO_PROJECT_HINT, hint=True)
        elif not self._reference_takes():
            self._set_similarity_text(NO_TAKES_HINT, hint=True)
        else:
            self._set_similarity_text("Speak a line to see how close it sounds to your recordings.", hint=True)

    def _set_similarity_text(self, text: str, hint: bool) -> None:
        self.similarity_label.setText(text)
        self.similarity_label.setProperty("role", "hint" if hint else "")
        self.similarity_label.style().unpolish(self.similarity_label)
        self.similarity_label.style().polish(self.similarity_label)

    def _score(self, audio: Audio) -> None:
        """Similarity of ``audio`` to the project's takes and its quality, off the GUI thread;
        while one score runs, only the newest audio waits for the next."""
        takes = self._reference_takes()
        if not takes:
            self.similarity = None
            self._show_similarity_hint()
        if self._similarity_task is not None:
            self._similarity_next = (audio, takes)
            return
        from voicestudio.evaluate.render_score import score_render
        from voicestudio.evaluate.speaker_model import EncoderBuildCancelled, encoder_model_path

        if takes:
            first_time = "" if encoder_model_path().is_file() else \
                " (preparing the speaker model, once, about a minute)"
            self._set_similarity_text(f"similarity to your recordings: measuring…{first_time}", hint=True)
        self.quality_label.setText("quality: measuring…")

        def finished() -> None:
            self._similarity_task = None
            waiting, self._similarity_next = self._similarity_next, None
            if waiting is not None and not self._shut:
                self._score(waiting[0])

        def measure(handle):
            try:  # a window closing while the model is built kills the build rather than wait for it
                return score_render(audio, takes, cancelled=lambda: handle.cancelled)
            except EncoderBuildCancelled:
                raise Cancelled() from None

        epoch = self._similarity_epoch
        task = self._start_task(measure,
                                done=lambda scores: self._on_scores(audio, scores, epoch, bool(takes)),
                                failed=lambda message: self._on_similarity_failed(message, epoch),
                                finished=finished)
        self._similarity_task = task

    def _on_scores(self, audio: Audio, scores, epoch: int, compared: bool) -> None:
        if audio is not self._audio or epoch != self._similarity_epoch:
            return  # a newer render, or another project's takes, is waiting for its own score
        q = scores.quality
        self.quality = q
        self.quality_label.setText(
            f"quality (DNSMOS, 1–5): {q.ovrl:.2f} overall · {q.sig:.2f} voice · {q.bak:.2f} background"
            if q is not None else f"Quality score unavailable: {scores.quality_error}")
        self.quality_changed.emit(q)
        if not compared:
            return
        if scores.similarity is None:
            self._on_similarity_failed(scores.similarity_error or "not measured", epoch)
            return
        self.similarity = float(scores.similarity)
        self._set_similarity_text(f"similarity to your recordings: {self.similarity:.2f}", hint=False)
        self.similarity_label.setToolTip("Speaker similarity (SECS, 0-1; above about 0.75 usually sounds like "
                                         "the same person) between this render and your recorded takes")
        self.similarity_changed.emit(self.similarity)

    def _on_similarity_failed(self, message: str, epoch: int) -> None:
        if epoch != self._similarity_epoch:
            return
        self.similarity = None
        self._set_similarity_text(f"Similarity to your recordings is unavailable: {message}", hint=True)
        self.similarity_changed.emit(None)

    # ------------------------------------------------------------------ presets
    def refresh_presets(self) -> bool:
        """Reload the preset list; False (and a message) when the presets file is damaged."""
        try:
            names = self.presets.names()
        except PresetError as exc:
            self.preset_combo.clear()
            self.message.show_message(f"Style presets: {exc}", "warning")
            return False
        current = self.preset_combo.currentText()
        self.preset_combo.clear()
        self.preset_combo.addItems(names)
        self.preset_combo.setCurrentIndex(self.preset_combo.findText(current))
        self.delete_preset_button.setEnabled(bool(names))
        return True

    def save_preset(self, name: str) -> bool:
        try:
            kept = self.presets.save(name, self.current_controls())
        except PresetError as exc:
            self.message.error(str(exc)[:1].upper() + str(exc)[1:])
            return False
        name = " ".join(name.split())
        self.refresh_presets()
        self.preset_combo.setCurrentIndex(self.preset_combo.findText(name))
        self.preset_name.clear()
        note = f" (the damaged presets file was kept as {kept})" if kept is not None else ""
        self.message.show_message(f"Saved style preset “{name}”{note}.", "ok")
        return True

    def load_preset(self, name: str) -> bool:
        try:
            controls = self.presets.get(name)
        except PresetError as exc:
            self.message.error(str(exc)[:1].upper() + str(exc)[1:])
            return False
        self.preset_combo.setCurrentIndex(self.preset_combo.findText(name))
        self.message.clear_message()
        self.set_controls(controls)
        return True

    def delete_preset(self, name: str) -> bool:
        if not name:
            return False
        try:
            self.presets.delete(name)
        except PresetError as exc:
            self.message.error(str(exc)[:1].upper() + str(exc)[1:])
            return False
        self.refresh_presets()
        self.message.show_message(f"Deleted style preset “{name}”.", "info")
        return True

    # ------------------------------------------------------------------ tasks
    def _start_task(self, fn, done=None, failed=None, finished=None):
        task = run_task(fn, self, done=done, failed=failed)
        self._tasks.add(task)

        def forget() -> None:
            self._tasks.discard(task)
            if finished is not None:
                finished()

        task.finished.connect(forget)
        return task
