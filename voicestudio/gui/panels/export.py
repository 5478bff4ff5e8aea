"""Export: save the current line as an audio file, or render a whole script to a folder.

The line is the last render of the Synthesize & Customize panel, written by
``safety.watermark.write_synthetic`` (the CLI's writer: atomic, resampled with soxr,
watermarked and tagged as synthetic) as WAV, FLAC, Ogg Vorbis or MP3, by the name's
extension (``audio.io.FileFormat``; the bit depth applies to the lossless ones). A script is
rendered by ``voice.batch.render_script`` in a worker thread with the voice and style
chosen in that panel; cancelling it leaves nothing behind. Sections live in one column
(``add_section``); the Dubbing view (:mod:`.dubbing`) is the last of them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from voicestudio.audio.io import FileFormat, file_format_for, file_formats
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.panels.dubbing import DubbingSection
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.workers import Cancelled, run_task
from voicestudio.safety.watermark import write_synthetic
from voicestudio.voice.batch import RenderCancelled, clip_name, render_script, script_lines

#: Output rates offered; None = the voice's own rate (no resampling).
RATE_CHOICES: tuple[int | None, ...] = (None, 16_000, 22_050, 44_100, 48_000)
#: Bit depths offered, as ``audio.io.WAV_FORMATS`` names them.
DEPTH_CHOICES = (("pcm16", "16-bit PCM"), ("pcm24", "24-bit PCM"), ("float", "32-bit float"))
NOTHING_YET = "Nothing to export yet: speak a line in Synthesize & Customize first."


class ExportPanel(QWidget):
    """Save the current line, render a script; see the module docstring."""

    title = "Export"
    #: Path of a line saved by :meth:`export_current`.
    exported = Signal(str)
    #: A :class:`~voicestudio.voice.batch.BatchResult` after a script render.
    script_rendered = Signal(object)
    #: The message shown when a script render failed (nothing was written).
    script_failed = Signal(str)
    #: A script render was cancelled (nothing was written).
    script_cancelled = Signal()

    def __init__(self, ctx, synthesize_panel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.synthesize = synthesize_panel
        self._task = None
        self._tasks: set = set()
        self._build()
        self.dubbing = DubbingSection(ctx, synthesize_panel)
        self.add_section(self.dubbing)
        synthesize_panel.rendered.connect(lambda _audio: self._update_current())
        ctx.project_changed.connect(lambda _project: self._update_current())
        self._update_current()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        heading = QLabel(self.title)
        heading.setProperty("role", "title")
        # The sections scroll, so a later one (dubbing) never squeezes the others in a small
        # window.
        content = QWidget()
        self.sections = QVBoxLayout(content)
        self.sections.setContentsMargins(0, 0, 0, 0)
        for box in (self._build_format(), self._build_line(), self._build_script()):
            self.sections.addWidget(box)
        self.sections.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content.setMinimumWidth(560)
        self.setMinimumWidth(580)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.scroll, 1)

    def _build_format(self) -> QGroupBox:
        """Sample rate and bit depth, shared by both sections (and remembered)."""
        self.rate_combo = QComboBox()
        for rate in RATE_CHOICES:
            self.rate_combo.addItem("the voice's own rate" if rate is None else f"{rate} Hz", rate)
        self.depth_combo = QComboBox()
        for fmt, label in DEPTH_CHOICES:
            self.depth_combo.addItem(label, fmt)
        self._restore_choice(self.rate_combo, "export/rate", int)
        self._restore_choice(self.depth_combo, "export/format", str)
        self.rate_combo.currentIndexChanged.connect(self._remember_choices)
        self.depth_combo.currentIndexChanged.connect(self._remember_choices)
        box = QGroupBox("Audio format")
        row = QHBoxLayout(box)
        row.addWidget(QLabel("Sample rate"))
        row.addWidget(self.rate_combo)
        row.addSpacing(16)
        row.addWidget(QLabel("Bit depth"))
        row.addWidget(self.depth_combo)
        row.addStretch(1)
        return box

    def _build_line(self) -> QGroupBox:
        """The current line of Synthesize & Customize and its Save button."""
        box = QGroupBox("Current line")
        layout = QVBoxLayout(box)
        self.current_label = QLabel()
        self.current_label.setWordWrap(True)
        self.save_button = QPushButton("Save line as…")
        self.save_button.setProperty("accent", True)
        self.save_button.setToolTip("Save the last render of Synthesize & Customize as "
                                    f"{' / '.join(f.label for f in file_formats())} (Ctrl+E)")
        self.save_button.clicked.connect(lambda: self.export_current())
        row = QHBoxLayout()
        row.addWidget(self.current_label, 1)
        row.addWidget(self.save_button)
        self.line_message = InlineMessage()
        layout.addLayout(row)
        layout.addWidget(self.line_message)
        return box

    def _build_script(self) -> QGroupBox:
        """A whole script: the file, the folder, and the render with its progress."""
        box = QGroupBox("Whole script")
        grid = QGridLayout(box)
        grid.setColumnStretch(1, 1)
        explain = QLabel("One clip per line (blank lines and lines starting with # are skipped), "
                         "numbered in script order, spoken with the voice and style chosen in "
                         "Synthesize & Customize.")
        explain.setProperty("role", "hint")
        explain.setWordWrap(True)
        grid.addWidget(explain, 0, 0, 1, 3)
        self.script_edit = QLineEdit()
        self.script_edit.setPlaceholderText("A text file, one line per clip")
        script_browse = QPushButton("Choose…")
        script_browse.clicked.connect(self._choose_script)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText(
            "Where the numbered WAV files go (created when missing)")
        folder_browse = QPushButton("Choose…")
        folder_browse.clicked.connect(self._choose_folder)
        grid.addWidget(QLabel("Script"), 1, 0)
        grid.addWidget(self.script_edit, 1, 1)
        grid.addWidget(script_browse, 1, 2)
        grid.addWidget(QLabel("Folder"), 2, 0)
        grid.addWidget(self.folder_edit, 2, 1)
        grid.addWidget(folder_browse, 2, 2)
        grid.addLayout(self._build_run_row(), 3, 0, 1, 3)
        self.progress_label = QLabel()
        self.progress_label.setProperty("role", "hint")
        grid.addWidget(self.progress_label, 4, 0, 1, 3)
        self.script_message = InlineMessage()
        grid.addWidget(self.script_message, 5, 0, 1, 3)
        return box

    def _build_run_row(self) -> QHBoxLayout:
        """Progress, Cancel and Render script."""
        self.render_button = QPushButton("Render script")
        self.render_button.setToolTip("Render every line into the folder")
        self.render_button.clicked.connect(lambda: self.render_script())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_render)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p %")
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.render_button)
        return row

    def add_section(self, widget: QWidget) -> None:
        """Add a section (e.g. dubbing) below the others."""
        self.sections.insertWidget(self.sections.count() - 1, widget)

    # ------------------------------------------------------------------ choices
    def _restore_choice(self, combo: QComboBox, key: str, kind) -> None:
        value = self.ctx.settings.value(key)
        if value in (None, ""):
            return
        try:
            index = combo.findData(kind(value))
        except (TypeError, ValueError):
            return
        if index >= 0:
            combo.setCurrentIndex(index)

    def _remember_choices(self) -> None:
        rate = self.rate_combo.currentData()
        self.ctx.settings.setValue("export/rate", "" if rate is None else int(rate))
        self.ctx.settings.setValue("export/format", self.depth_combo.currentData())

    def set_format(self, rate: int | None, fmt: str) -> None:
        """Choose the output rate (None = the voice's) and format ("pcm16", "pcm24", "float")."""
        rate_index, fmt_index = self.rate_combo.findData(rate), self.depth_combo.findData(fmt)
        if rate_index < 0 or fmt_index < 0:
            raise ValueError(f"unsupported export format: {rate} Hz, {fmt}")
        self.rate_combo.setCurrentIndex(rate_index)
        self.depth_combo.setCurrentIndex(fmt_index)

    def _update_current(self) -> None:
        audio = self.synthesize.current_audio()
        if audio is None:
            self.current_label.setText(NOTHING_YET)
            self.current_label.setProperty("role", "hint")
        else:
            text = " ".join(self.synthesize.current_text().split())
            shown = text if len(text) <= 90 else text[:87] + "…"
            self.current_label.setText(
                f"“{shown}” — {audio.duration_s:.1f} s, rendered at {audio.sample_rate} Hz")
            self.current_label.setProperty("role", "")
        self.current_label.style().unpolish(self.current_label)
        self.current_label.style().polish(self.current_label)

    def _default_folder(self) -> Path:
        last = self.ctx.settings.value("export/last_dir")
        if last and Path(str(last)).is_dir():
            return Path(str(last))
        project = self.ctx.project
        if project is not None:
            return project.folder
        return Path.home()

    # ------------------------------------------------------------------ the current line
    def export_current(self, path: str | None = None) -> Path | None:
        """Write the current line with the chosen rate and depth, as the file type its name
        ends in (.wav when it has no extension). Asks for a file name only when ``path`` is
        None. Returns the file written, or None (with an inline message)."""
        self.line_message.clear_message()
        audio = self.synthesize.current_audio()
        if audio is None:
            self.line_message.error(NOTHING_YET)
            return None
        chosen = FileFormat.WAV
        if path is None:
            name = clip_name(1, self.synthesize.current_text()).split("_", 1)[1]
            suggestion = self._default_folder() / name
            filters = {f"{f.label} audio (*{f.suffix})": f for f in file_formats()}
            path, picked = QFileDialog.getSaveFileName(self, "Save the line", str(suggestion),
                                                       ";;".join(filters))
            if not path:
                return None
            chosen = filters.get(picked, chosen)
        target = Path(path).expanduser()
        if not target.suffix:
            target = target.with_suffix(chosen.suffix)
        rate = self.rate_combo.currentData()
        try:
            file_format = file_format_for(target)
            # lossy files have no bit depth
            fmt = None if file_format.lossy else self.depth_combo.currentData()
            written = write_synthetic(target, audio.samples, audio.sample_rate, rate, fmt)
        except VoiceStudioError as exc:
            self.line_message.error(f"Not saved: {exc}")
            return None
        self.ctx.settings.setValue("export/last_dir", str(written.parent))
        self.line_message.show_message(
            f"Saved {written} ({audio.duration_s:.1f} s, {rate or audio.sample_rate} Hz, "
            f"{file_format.describe(fmt)}).", "ok")
        self.ctx.status.emit(f"Exported {written.name}")
        self.exported.emit(str(written))
        return written

    # ------------------------------------------------------------------ a whole script
    @property
    def rendering(self) -> bool:
        return self._task is not None

    def _choose_script(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Script to render",
                                                    str(self._default_folder()),
                                                    "Text files (*.txt);;All files (*)")
        if path:
            self.script_edit.setText(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the clips",
                                                str(self._default_folder()))
        if path:
            self.folder_edit.setText(path)

    def render_script(self, script_path: str | None = None, out_dir: str | None = None) -> bool:
        """Render every line of ``script_path`` into ``out_dir`` in the background (the fields,
        or a file dialog, supply what is not given). True when the render started."""
        self.script_message.clear_message()
        if self._task is not None:
            self.script_message.show_message(
                "A script is already being rendered; wait or cancel it.", "warning")
            return False
        script_path = script_path or self.script_edit.text().strip() or None
        if script_path is None:
            self._choose_script()
            script_path = self.script_edit.text().strip() or None
        out_dir = out_dir or self.folder_edit.text().strip() or None
        if out_dir is None and script_path is not None:
            self._choose_folder()
            out_dir = self.folder_edit.text().strip() or None
        if script_path is None or out_dir is None:
            self.script_message.error("Choose a script file and a folder for the clips.")
            return False
        self.script_edit.setText(str(script_path))
        self.folder_edit.setText(str(out_dir))

        ctx = self.ctx
        spec = self.synthesize.current_voice_spec()
        controls = self.synthesize.current_controls()
        rate = self.rate_combo.currentData()
        fmt = self.depth_combo.currentData()
        script, folder = Path(script_path).expanduser(), Path(out_dir).expanduser()

        def work(handle):
            lines = script_lines(script)
            handle.report(0.0, f"loading the voice for {len(lines)} line(s)")
            synth = ctx.synthesizer(spec)
            try:
                return render_script(lines, synth, folder, controls, rate, fmt,
                                     progress=handle.report, cancelled=lambda: handle.cancelled)
            except RenderCancelled:
                raise Cancelled() from None

        self.progress.setValue(0)
        self.progress_label.setText("Starting…")
        self.render_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        task = run_task(work, self, done=self._on_rendered, failed=self._on_render_failed,
                        cancelled=self._on_render_cancelled, progress=self._on_progress)
        self._task = task
        self._tasks.add(task)
        task.finished.connect(lambda: self._on_task_finished(task))
        return True

    def cancel_render(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Cancelling after the current line…")

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(fraction * 1000)))
        if message:
            self.progress_label.setText(message)

    def _on_rendered(self, result) -> None:
        self.progress.setValue(1000)
        self.progress_label.setText(
            f"{result.seconds_of_audio:.1f} s of speech in {len(result.files)} file(s)")
        text = f"Rendered {len(result.files)} clip(s) into {result.folder}."
        if result.skipped:
            lines = ", ".join(str(n) for n, _why in result.skipped)
            self.script_message.show_message(
                f"{text} Skipped line(s) {lines}: nothing speakable.", "warning")
        else:
            self.script_message.show_message(text, "ok")
        self.ctx.status.emit(f"Rendered {len(result.files)} clips")
        self.script_rendered.emit(result)

    def _on_render_failed(self, message: str) -> None:
        self.progress.setValue(0)
        self.progress_label.setText("")
        text = f"The script was not rendered: {message}"
        self.script_message.error(text)
        self.script_failed.emit(text)

    def _on_render_cancelled(self) -> None:
        self.progress.setValue(0)
        self.progress_label.setText("")
        self.script_message.show_message("Cancelled: no clips were written.", "info")
        self.script_cancelled.emit()

    def _on_task_finished(self, task) -> None:
        self._tasks.discard(task)
        if task is self._task:
            self._task = None
        self.render_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def shutdown(self) -> None:
        """Cancel a script render or dub and wait for it; safe to call twice."""
        self.dubbing.shutdown()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            task.wait(120_000)
