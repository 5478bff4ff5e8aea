"""Synthesize & Customize: type a line, pick a voice, shape it with the styling sliders.

A thin face over :class:`~voicestudio.gui.controllers.synthesize.SynthesizeController`,
which decides which preview renders run (the newest request wins, so a dragged slider never
queues stale renders) and what the result area says. This panel builds the widgets,
forwards user actions to the controller and runs the work it asks for as worker tasks:
loading a voice, a :class:`PreviewSession` render with its F0 contour, the similarity and
quality scores. ``styling.presets`` keeps named presets. Sliders preview while they are
dragged and play when released. The text may be speech markup (a switch under it); while a
render plays, the word heard is marked in the text and on the waveform.
"""

from __future__ import annotations

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
    QVBoxLayout,
    QWidget,
)

from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.messages import Level
from voicestudio.gui.controllers.synthesize import (
    Line,
    Preview,
    ScoreJob,
    ScoreText,
    SynthesizeController,
    VoiceKey,
    render_preview,
    voice_entries,
)
from voicestudio.gui.widgets.control_slider import ControlSlider, format_value
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.widgets.markup_toggle import MarkupToggle
from voicestudio.gui.widgets.perform_action import PerformAction
from voicestudio.gui.widgets.pronunciation_actions import PronunciationActions
from voicestudio.gui.widgets.spoken_words import SpokenWords
from voicestudio.gui.widgets.waveform import WaveformView
from voicestudio.gui.workers import Cancelled, run_task
from voicestudio.project import selection
from voicestudio.project.lexicon_store import lexicon_for
from voicestudio.runtime import cuda_unavailable_reason
from voicestudio.styling.controls import CONTROL_SPECS, ControlSpec, StyleControls, emotion_presets
from voicestudio.styling.presets import PresetError, PresetStore
from voicestudio.text.lexicon import Lexicon
from voicestudio.text.markup import reads_as_markup
from voicestudio.voice.catalog import DEFAULT_VOICE, list_voices, resolve_voice
from voicestudio.voice.preview import PreviewRequest, PreviewSession

#: The sliders above the emotion picker; intensity goes below it.
STYLE_SLIDERS = ("pitch", "pitch_range", "speed", "energy", "breathiness", "variability")
PROVIDERS = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "CUDA (GPU)"))
DEFAULT_TEXT = "Hello! This is how my voice sounds when VoiceStudio speaks for me."
QUALITY_TIP = ("Predicted listener rating (DNSMOS P.835, 1 bad … 5 excellent) of this render: "
               "overall, the voice itself, and the background")
SIMILARITY_TIP = ("Speaker similarity (SECS, 0-1; above about 0.75 usually sounds like the same "
                  "person) between this render and your recorded takes")


class SynthesizePanel(QWidget):
    """Text → styled speech with the chosen voice; see the module docstring. Implements
    the controller's :class:`~voicestudio.gui.controllers.synthesize.SynthesizeView`."""

    title = "Synthesize & Customize"
    #: Every finished render (an :class:`Audio`), previews included.
    rendered = Signal(object)
    #: The similarity of the latest render to the project's takes (a float), or None.
    similarity_changed = Signal(object)
    #: The DNSMOS quality of the latest render (a QualityScore), or None.
    quality_changed = Signal(object)

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.presets = PresetStore()
        self.controller = SynthesizeController(self)
        self.sliders: dict[str, ControlSlider] = {}
        self.value_labels: dict[str, QLabel] = {}
        self._tasks: set = set()
        self._applying = False  # sliders set by code: no render per slider
        self._build()
        ctx.project_changed.connect(self._on_project_changed)
        ctx.voices_changed.connect(self._on_voices_changed)
        ctx.devices_changed.connect(self._on_devices_changed)
        self.refresh_voices(select_best=True)
        self.refresh_presets()
        self.controller.show_similarity_hint()

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
        self.message = InlineMessage()
        self.pronunciation = PronunciationActions(self)  # Fix pronunciation…, Pronunciations…
        self.markup_toggle = MarkupToggle(self.text)  # first on the voice row, under the text
        self.markup_toggle.toggled.connect(self._on_emotion_changed)  # re-render, as a style
        self.perform = PerformAction(self)  # Perform…: the line with a recording's delivery
        text_row = QHBoxLayout()
        text_row.addWidget(self.text, 1)
        text_row.addLayout(self.pronunciation.buttons())
        text_row.addLayout(self.perform.buttons())

        style_column = QVBoxLayout()
        style_column.addWidget(self._build_style())
        style_column.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(style_column, 0)
        body.addWidget(self._build_result(), 1)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(text_row)
        layout.addLayout(self._build_voice_row())
        layout.addWidget(self.message)
        layout.addLayout(body, 1)

    def _build_voice_row(self) -> QHBoxLayout:
        """Voice, provider, Play / Stop and Speak."""
        self.voice_combo = QComboBox()
        self.voice_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.voice_combo.setMinimumContentsLength(24)
        self.voice_combo.setToolTip(
            "The voice that speaks: your trained voices, the base voice, other Piper voices")
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
        self.speak_button.setToolTip(
            "Render the text with these settings and play it (Ctrl+Enter)")
        self.speak_button.clicked.connect(self.speak)
        self.play_button = QPushButton("Play / Stop")
        self.play_button.setToolTip("Play the last render again, or stop playback")
        self.play_button.clicked.connect(self.toggle_play)

        row = QHBoxLayout()
        row.addWidget(self.markup_toggle)
        row.addSpacing(8)
        row.addWidget(QLabel("Voice"))
        row.addWidget(self.voice_combo, 1)
        row.addSpacing(8)
        row.addWidget(QLabel("Run on"))
        row.addWidget(self.provider_combo)
        row.addSpacing(8)
        row.addWidget(self.play_button)
        row.addWidget(self.speak_button)
        return row

    def _build_style(self) -> QGroupBox:
        """The sliders, the emotion with its intensity, and the presets."""
        style = QGroupBox("Style")
        grid = QGridLayout(style)
        grid.setColumnStretch(1, 1)
        for row, name in enumerate(STYLE_SLIDERS):
            self._add_slider(grid, row, CONTROL_SPECS[name])
        row = len(STYLE_SLIDERS)
        self.emotion = QComboBox()
        for name, preset in emotion_presets().items():
            self.emotion.addItem(name.capitalize(), name)
            self.emotion.setItemData(self.emotion.count() - 1, preset.description,
                                     Qt.ItemDataRole.ToolTipRole)
        self.emotion.setToolTip("An emotion preset, applied at the intensity below")
        self.emotion.currentIndexChanged.connect(self._on_emotion_changed)
        self.reset_button = QPushButton("Reset all")
        self.reset_button.setToolTip("Every control, emotion included, back to its default")
        self.reset_button.clicked.connect(self.reset_controls)
        grid.addWidget(QLabel("Emotion"), row, 0)
        grid.addWidget(self.emotion, row, 1)
        grid.addWidget(self.reset_button, row, 2)
        self._add_slider(grid, row + 1, CONTROL_SPECS["intensity"])
        self._build_presets(grid, row + 2)
        style.setMinimumWidth(470)
        style.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        return style

    def _build_presets(self, grid: QGridLayout, row: int) -> None:
        """The saved presets (load, delete) and "save as", on rows ``row`` and ``row + 1``."""
        self.preset_combo = QComboBox()
        self.preset_combo.setPlaceholderText("Saved presets")
        self.preset_combo.setToolTip("Load a saved style preset")
        self.preset_combo.activated.connect(
            lambda i: self.load_preset(self.preset_combo.itemText(i)))
        self.preset_name = QLineEdit()
        self.preset_name.setPlaceholderText("Preset name")
        self.preset_name.returnPressed.connect(lambda: self.save_preset(self.preset_name.text()))
        self.save_preset_button = QPushButton("Save")
        self.save_preset_button.setToolTip("Save these settings under the name on the left")
        self.save_preset_button.clicked.connect(
            lambda: self.save_preset(self.preset_name.text()))
        self.delete_preset_button = QPushButton("Delete")
        self.delete_preset_button.setToolTip("Delete the preset chosen in the list")
        self.delete_preset_button.clicked.connect(
            lambda: self.delete_preset(self.preset_combo.currentText()))
        grid.addWidget(QLabel("Presets"), row, 0)
        grid.addWidget(self.preset_combo, row, 1)
        grid.addWidget(self.delete_preset_button, row, 2)
        grid.addWidget(QLabel("Save as"), row + 1, 0)
        grid.addWidget(self.preset_name, row + 1, 1)
        grid.addWidget(self.save_preset_button, row + 1, 2)

    def _build_result(self) -> QGroupBox:
        """The waveform with its F0 contour, and the status lines below it."""
        result = QGroupBox("Result")
        # Wide enough that the wrapped status lines below the plot never overlap it.
        result.setMinimumWidth(320)
        self.waveform = WaveformView()
        self.waveform.setMinimumHeight(130)
        self.spoken = SpokenWords(self.text, self.waveform, self.ctx)
        self.state_label = QLabel("Press Speak to hear the text.")
        self.similarity_label = QLabel()
        self.quality_label = QLabel()
        self.quality_label.setToolTip(QUALITY_TIP)
        self.provider_label = QLabel()
        layout = QVBoxLayout(result)
        layout.addWidget(self.waveform, 1)
        for label in (self.state_label, self.similarity_label, self.quality_label,
                      self.provider_label):
            label.setWordWrap(True)
            if label is not self.similarity_label:  # that one is a hint until measured
                label.setProperty("role", "hint")
            layout.addWidget(label)
        return result

    def _add_slider(self, grid: QGridLayout, row: int, spec: ControlSpec) -> None:
        slider = ControlSlider(spec)
        unit = f" ({spec.unit})" if spec.unit and spec.unit != "%" else ""
        slider.setToolTip(
            f"{spec.label}{unit}: {spec.low:g} to {spec.high:g}, default {spec.default:g}")
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
        self.controller.request(self._line(), play=True, quiet=True)

    def reset_controls(self) -> None:
        self.set_controls(StyleControls())

    def current_voice_spec(self) -> str | None:
        data = self.voice_combo.currentData()
        return str(data) if data else None

    def current_audio(self) -> Audio | None:
        return self.controller.audio

    @property
    def similarity(self) -> float | None:
        """Similarity of the shown render to the project's takes, when measured."""
        return self.controller.similarity

    @property
    def quality(self):
        """DNSMOS quality (a QualityScore) of the shown render, when measured."""
        return self.controller.quality

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
                          if self.voice_combo.itemData(i) in (info.name, str(info.model_path))),
                         -1)
            if index < 0:
                self.voice_combo.addItem(info.name, spec)
                index = self.voice_combo.count() - 1
        self.voice_combo.setCurrentIndex(index)
        return True

    def speak(self) -> None:
        """Render the text with the current voice and controls, then play it."""
        self.controller.speak(self._line())

    def toggle_play(self) -> None:
        """Stop playback, or play the last render (rendering it first when there is none)."""
        if self.ctx.is_playing:
            self.ctx.stop_playback()
        elif self.controller.audio is not None:
            self.play(self.controller.audio)
        else:
            self.speak()

    @property
    def busy(self) -> bool:
        """True while a render (or the voice it waits for) is under way."""
        return self.controller.busy

    def shutdown(self) -> None:
        """Stop starting work and wait for the tasks under way; safe to call twice."""
        self.controller.shutdown()
        self.spoken.stop()
        self.pronunciation.shutdown()
        self.perform.shutdown()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            task.wait(120_000)

    # ------------------------------------------------------------------ voices
    def refresh_voices(self, select_best: bool = False) -> None:
        """Rebuild the voice list: the project's trained voices (best first), the base voice,
        other installed Piper voices. Keeps the choice unless ``select_best``."""
        previous = self.current_voice_spec()
        try:
            installed = list_voices()
        except Exception as exc:  # a broken bundled package: say so, keep the project voices
            installed = []
            self.message.error(f"cannot list the installed voices: {exc}")
        entries, best_spec = voice_entries(self.ctx.project, installed)
        combo = self.voice_combo
        combo.blockSignals(True)
        try:
            combo.clear()
            for label, spec in entries:
                combo.addItem(label, spec)
                combo.setItemData(combo.count() - 1, spec, Qt.ItemDataRole.ToolTipRole)
            wanted = best_spec if (select_best and best_spec) else previous
            index = combo.findData(wanted) if wanted else -1
            if index < 0:
                index = combo.findData(best_spec or DEFAULT_VOICE)
            combo.setCurrentIndex(max(0, index))
        finally:
            combo.blockSignals(False)
        if self.current_voice_spec() != previous:
            self._on_voice_chosen()

    def _on_voice_chosen(self, *_args) -> None:
        self.controller.voice_chosen(self._line())

    def _key(self) -> VoiceKey:
        return VoiceKey(self.current_voice_spec(), self.ctx.provider,
                        self.voice_combo.currentText())

    def _line(self) -> Line:
        return Line(self.current_text(), self.current_controls(), self._key(),
                    self.markup_toggle.markup())

    def _on_voices_changed(self) -> None:
        self.controller.voice_files_changed(self.current_voice_spec())
        self.refresh_voices(select_best=False)

    def lexicon(self) -> Lexicon:
        try:
            return lexicon_for(self.ctx.project)
        except VoiceStudioError as exc:  # a damaged lexicon file: said, and words said plainly
            self.message.error(str(exc))
            return Lexicon()

    def _on_project_changed(self, _project) -> None:
        self.refresh_voices(select_best=True)
        self.controller.project_changed()

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
        self.controller.provider_changed(self._key())

    # ------------------------------------------------------------------ controls
    def _on_slider_moved(self, name: str) -> None:
        slider = self.sliders[name]
        self.value_labels[name].setText(format_value(slider.spec, slider.control()))
        if not self._applying:
            # Dragging previews silently; a click, a key or the wheel is a finished change.
            self.controller.request(self._line(), play=not slider.isSliderDown(), quiet=True)

    def _on_slider_released(self) -> None:
        if not self._applying:
            self.controller.slider_released(self._line())

    def _on_emotion_changed(self, *_args) -> None:  # the markup switch too
        if not self._applying:
            self.controller.request(self._line(), play=True, quiet=True)

    # ------------------------------------------------------------------ the controller's view
    def start_render(self, session: PreviewSession, request: PreviewRequest) -> None:
        self._start_task(lambda _handle: render_preview(session, request),
                         done=self.controller.render_finished,
                         failed=lambda message: self.controller.render_failed(request, message))

    def load_voice(self, key: VoiceKey) -> None:
        ctx = self.ctx
        self._start_task(lambda _handle: PreviewSession(ctx.synthesizer(key.spec)),
                         done=lambda session: self._on_voice_loaded(key, session),
                         failed=lambda message: self.controller.voice_failed(key, message))

    def _on_voice_loaded(self, key: VoiceKey, session: PreviewSession) -> None:
        if self.controller.voice_loaded(key, session):
            voice = session.synthesizer.voice
            choice = voice.provider
            self.provider_label.setText(
                f"{voice.name} runs on {choice.used.upper()}: {choice.reason}")

    def start_score(self, job: ScoreJob) -> None:
        from voicestudio.evaluate.render_score import score_render
        from voicestudio.evaluate.speaker_model import EncoderBuildCancelled

        def measure(handle):
            try:  # a window closing while the model is built kills the build, not waits
                return score_render(job.audio, job.takes, cancelled=lambda: handle.cancelled)
            except EncoderBuildCancelled:
                raise Cancelled() from None

        self._start_task(measure, done=lambda scores: self.controller.score_done(job, scores),
                         failed=lambda message: self.controller.score_failed(job, message),
                         finished=lambda: self.controller.score_ended(job))

    def reference_takes(self) -> list | None:
        project = self.ctx.project
        return selection.reference_takes(project) if project is not None else None

    def play(self, audio: Audio) -> None:
        try:
            self.ctx.play(audio.samples, audio.sample_rate)
        except VoiceStudioError as exc:
            self.message.show_message(f"Rendered, but it cannot be played: {exc}", "warning")
            return
        if audio is self.controller.audio:
            self.spoken.follow()

    def show_message(self, text: str, level: Level) -> None:
        self.message.show_message(text, level.value)

    def show_markup_error(self, line: int, column: int) -> None:
        self.markup_toggle.show_error(line, column)

    def clear_problem(self) -> None:
        if self.message.level in (Level.ERROR.value, Level.WARNING.value):
            self.message.clear_message()

    def show_state(self, text: str) -> None:
        self.state_label.setText(text)

    def show_preview(self, preview: Preview) -> None:
        result = preview.result
        audio = result.audio
        self.spoken.show_render(result.text, result.words,
                                reads_as_markup(result.text, result.markup))
        self.waveform.set_audio(audio.samples, audio.sample_rate)
        if preview.f0 is not None:
            self.waveform.set_f0(preview.f0.times_s, preview.f0.hz)
        self.rendered.emit(audio)

    def show_similarity(self, line: ScoreText) -> None:
        label = self.similarity_label
        label.setText(line.text)
        label.setProperty("role", "hint" if line.hint else "")
        label.style().unpolish(label)
        label.style().polish(label)
        if line.measured:
            if line.value is not None:
                label.setToolTip(SIMILARITY_TIP)
            self.similarity_changed.emit(line.value)

    def show_quality(self, line: ScoreText) -> None:
        self.quality_label.setText(line.text)
        if line.measured:
            self.quality_changed.emit(line.value)

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
