"""The Dubbing view of the Export panel: a script or subtitles in, a timed track out.

A thin face over :mod:`voicestudio.dubbing` (the CLI's ``dub`` runs the same code): import
a text/CSV/TSV/SRT/WebVTT file, see its lines in a table (cue, slot against rendered
duration, tempo, status), render all of them in a worker with progress and cancel, play
or re-render one line, and export the track, stems and report into a folder. The voice
and style are the ones chosen in Synthesize & Customize; per-line overrides in the
script win. A line can be given a performance ("Perform…": a recording of it whose timing,
intonation and loudness the voice follows; a CSV's ``perform`` column does the same), kept in
the session's script like the line's text, so re-renders and new settings keep it, and saved
with the script file (:mod:`voicestudio.dubbing.performance_store`), so importing the same
script again, also after a restart, gives the lines their performances back. One
:class:`~voicestudio.dubbing.DubSession` per imported script, owned by one worker at a time
(the buttons that would start a second are disabled meanwhile).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
)

from voicestudio.audio.io import READABLE_SUFFIXES
from voicestudio.dubbing import (
    DubLine,
    DubScript,
    DubSession,
    DubSettings,
    FitLimits,
    LineRender,
    LineStatus,
    export_dub,
    load_dub_script,
)
from voicestudio.dubbing.export import OUTPUT_NAMES
from voicestudio.dubbing.loudness import BROADCAST_LUFS, WEB_LUFS
from voicestudio.dubbing.performance_store import PerformanceStore, restore
from voicestudio.dubbing.script import set_line_performance
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.theme import COLORS
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.workers import Cancelled, run_task
from voicestudio.voice.batch import RenderCancelled

COLUMNS = ("#", "Cue", "Slot s", "Rendered s", "Tempo", "Status", "Perform", "Text")
TEXT_COLUMN = COLUMNS.index("Text")
PERFORM_COLUMN = COLUMNS.index("Perform")
STATUS_LABELS = {LineStatus.PENDING: "pending", LineStatus.RENDERED: "ok",
                 LineStatus.TOO_LONG: "too long", LineStatus.SKIPPED: "skipped"}
STATUS_COLORS = {LineStatus.PENDING: COLORS["muted"], LineStatus.RENDERED: COLORS["ok"],
                 LineStatus.TOO_LONG: COLORS["error"], LineStatus.SKIPPED: COLORS["warning"]}
LOUDNESS_CHOICES = ((BROADCAST_LUFS, f"{BROADCAST_LUFS:g} LUFS (broadcast, EBU R128)"),
                    (WEB_LUFS, f"{WEB_LUFS:g} LUFS (web)"))
DUB_RATES = (48_000, 44_100, 22_050)
DUB_BITS = ((24, "24-bit PCM"), (16, "16-bit PCM"), (32, "32-bit float"))
SCRIPT_FILTER = "Scripts and subtitles (*.srt *.vtt *.csv *.tsv *.txt);;All files (*)"
RECORDING_FILTER = (f"Recordings ({' '.join('*' + s for s in READABLE_SUFFIXES)});;"
                    "All files (*)")


def cue_text(seconds: float | None) -> str:
    """``83.25`` → ``"1:23.250"``; untimed lines show a dash."""
    if seconds is None:
        return "–"
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:06.3f}"


def first_few(messages: list[str], shown: int = 3) -> str:
    """The first ``shown`` messages joined, and how many more there are."""
    more = len(messages) - shown
    return "; ".join(messages[:shown]) + (f"; and {more} more" if more > 0 else "")


class DubbingSection(QGroupBox):
    """Import, render, audition and export a dub; see the module docstring."""

    #: The :class:`~voicestudio.dubbing.DubScript` just imported.
    script_loaded = Signal(object)
    #: Every line rendered (the session's results list).
    rendered = Signal(object)
    #: One line (its :class:`~voicestudio.dubbing.LineRender`) re-rendered.
    line_rendered = Signal(object)
    #: A :class:`~voicestudio.dubbing.DubExport` after a finished export.
    exported = Signal(object)
    #: The message shown when a render or export failed.
    failed = Signal(str)
    #: A render or export was cancelled.
    cancelled = Signal()

    def __init__(self, ctx, synthesize_panel, parent=None) -> None:
        super().__init__("Dubbing: subtitles and scripts", parent)
        self.ctx = ctx
        self.synthesize = synthesize_panel
        self.script: DubScript | None = None
        self.session: DubSession | None = None
        self._performances: PerformanceStore | None = None  # the imported script's saved ones
        self._session_voice: tuple[str | None, str] | None = None
        self._shown: list[LineRender | None] = []  # what each table row shows
        self._task = None
        self._tasks: set = set()
        self._build()
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        grid = QGridLayout(self)
        grid.setColumnStretch(1, 1)
        explain = QLabel("SRT or WebVTT subtitles (each line fitted into its cue), a CSV/TSV table "
                         "(id, text, and optional voice, emotion, intensity, pitch, speed, start, "
                         "end, perform) or plain text. Spoken with the voice and style of "
                         "Synthesize & Customize; per-line settings win. Perform… gives a line "
                         "a recording whose delivery the voice follows.")
        explain.setProperty("role", "hint")
        explain.setWordWrap(True)
        grid.addWidget(explain, 0, 0, 1, 3)

        self.script_edit = QLineEdit()
        self.script_edit.setPlaceholderText("A subtitle file or script")
        self.script_edit.returnPressed.connect(
            lambda: self.import_script(self.script_edit.text().strip() or None))
        import_button = QPushButton("Import…")
        import_button.setToolTip("Read a script or subtitle file (its lines appear below)")
        import_button.clicked.connect(lambda: self.import_script())
        grid.addWidget(QLabel("Script"), 1, 0)
        grid.addWidget(self.script_edit, 1, 1)
        grid.addWidget(import_button, 1, 2)
        grid.addWidget(QLabel("Output"), 2, 0)
        grid.addLayout(self._build_output_row(), 2, 1, 1, 2)
        fit_label = QLabel("Fit")
        fit_label.setToolTip("Lines longer than their cue are sped up (pitch kept) within these "
                             "limits; lines that still do not fit are reported, never cut")
        grid.addWidget(fit_label, 3, 0)
        grid.addLayout(self._build_fit_row(), 3, 1, 1, 2)
        grid.addWidget(self._build_table(), 4, 0, 1, 3)
        grid.addLayout(self._build_buttons(), 5, 0, 1, 3)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p %")
        self.progress_label = QLabel()
        self.progress_label.setProperty("role", "hint")
        grid.addWidget(self.progress, 6, 0, 1, 3)
        grid.addWidget(self.progress_label, 7, 0, 1, 3)
        self.message = InlineMessage()
        grid.addWidget(self.message, 8, 0, 1, 3)

    def _build_output_row(self) -> QHBoxLayout:
        """Loudness target, sample rate and bit depth of the dub."""
        self.loudness_combo = QComboBox()
        for lufs, label in LOUDNESS_CHOICES:
            self.loudness_combo.addItem(label, lufs)
        self.dub_rate_combo = QComboBox()
        for rate in DUB_RATES:
            self.dub_rate_combo.addItem(f"{rate} Hz", rate)
        self.bits_combo = QComboBox()
        for bits, label in DUB_BITS:
            self.bits_combo.addItem(label, bits)
        row = QHBoxLayout()
        row.addWidget(self.loudness_combo)
        row.addWidget(self.dub_rate_combo)
        row.addWidget(self.bits_combo)
        row.addStretch(1)
        return row

    def _build_fit_row(self) -> QHBoxLayout:
        """The tempo limits a line may be fitted with, and whether short lines are slowed."""
        limits = FitLimits()
        self.slowest_spin = QDoubleSpinBox()
        self.slowest_spin.setRange(0.5, 1.0)
        self.slowest_spin.setSingleStep(0.05)
        self.slowest_spin.setValue(limits.slowest)
        self.slowest_spin.setSuffix(" ×")
        self.fastest_spin = QDoubleSpinBox()
        self.fastest_spin.setRange(1.0, 2.0)
        self.fastest_spin.setSingleStep(0.05)
        self.fastest_spin.setValue(limits.fastest)
        self.fastest_spin.setSuffix(" ×")
        self.fill_check = QCheckBox("slow short lines to fill their cue")
        row = QHBoxLayout()
        row.addWidget(QLabel("tempo from"))
        row.addWidget(self.slowest_spin)
        row.addWidget(QLabel("to"))
        row.addWidget(self.fastest_spin)
        row.addSpacing(12)
        row.addWidget(self.fill_check)
        row.addStretch(1)
        return row

    def _build_table(self) -> QTableWidget:
        """One row per line of the script; double-click plays it."""
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(TEXT_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(180)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(lambda row, _column: self.play_line(row + 1))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_line_menu)
        return self.table

    def _build_buttons(self) -> QHBoxLayout:
        """Play and re-render the selected line; render all, cancel, export."""
        self.play_button = QPushButton("Play line")
        self.play_button.setToolTip(
            "Play the selected line as rendered (double-click a row does the same)")
        self.play_button.clicked.connect(lambda: self.play_line())
        self.rerender_button = QPushButton("Re-render line")
        self.rerender_button.setToolTip(
            "Render the selected line again (a new take), leaving the others")
        self.rerender_button.clicked.connect(lambda: self.rerender_line())
        self.perform_action = QAction("Perform like a recording…", self)
        self.perform_action.setToolTip(
            "Choose a recording of the selected line: the voice follows its timing, intonation "
            "and loudness, and the line is fitted to its cue like any other")
        self.perform_action.triggered.connect(lambda: self.perform_line())
        self.clear_perform_action = QAction("Clear performance", self)
        self.clear_perform_action.setToolTip("Speak the selected line in the voice's own delivery")
        self.clear_perform_action.triggered.connect(lambda: self.clear_performance())
        self.perform_menu = QMenu(self)
        self.perform_menu.addAction(self.perform_action)
        self.perform_menu.addAction(self.clear_perform_action)
        self.perform_button = QPushButton("Perform…")
        self.perform_button.setToolTip(
            "Give the selected line a performance: a recording of it whose delivery the voice "
            "follows (or clear it)")
        self.perform_button.setMenu(self.perform_menu)
        self.render_button = QPushButton("Render all")
        self.render_button.setToolTip("Render every line not rendered yet")
        self.render_button.clicked.connect(lambda: self.render_all())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export dub…")
        self.export_button.setProperty("accent", True)
        self.export_button.setToolTip("Write track.wav, stems/, report.csv, words.csv (each word's "
                                      "time) and track.srt/.vtt subtitles into a folder")
        self.export_button.clicked.connect(lambda: self.export())
        row = QHBoxLayout()
        for button in (self.play_button, self.rerender_button, self.perform_button):
            row.addWidget(button)
        row.addStretch(1)
        for button in (self.render_button, self.cancel_button, self.export_button):
            row.addWidget(button)
        return row

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self._task is not None

    def selected_line(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() + 1 if rows else None

    def _update_buttons(self) -> None:
        has_script, busy = self.script is not None, self.busy
        line = self.selected_line()
        result = None
        if self.session is not None and line is not None:
            result = self.session.results[line - 1]
        self.render_button.setEnabled(has_script and not busy)
        self.export_button.setEnabled(has_script and not busy)
        self.cancel_button.setEnabled(busy)
        self.rerender_button.setEnabled(has_script and not busy and line is not None)
        self.play_button.setEnabled(result is not None and result.samples is not None)
        can_perform = has_script and not busy and line is not None
        self.perform_button.setEnabled(can_perform)
        self.perform_action.setEnabled(can_perform)
        performed = can_perform and self.script.lines[line - 1].perform is not None
        self.clear_perform_action.setEnabled(performed)

    def settings(self) -> DubSettings:
        """The dub's settings from these fields and the Synthesize panel (raises on bad
        values)."""
        return DubSettings(
            voice=None,  # the Synthesize panel's voice comes in as the session's synthesizer
            controls=self.synthesize.current_controls(),
            fit=FitLimits(self.slowest_spin.value(), self.fastest_spin.value(),
                          self.fill_check.isChecked()),
            rate=int(self.dub_rate_combo.currentData()),
            bits=int(self.bits_combo.currentData()),
            target_lufs=float(self.loudness_combo.currentData()),
            provider=self.ctx.provider,
        ).validated()

    def set_output(self, lufs: float, rate: int, bits: int) -> None:
        """Choose loudness target, sample rate and bit depth (from the offered choices)."""
        for combo, value in ((self.loudness_combo, lufs), (self.dub_rate_combo, rate),
                             (self.bits_combo, bits)):
            index = combo.findData(value)
            if index < 0:
                raise ValueError(f"not offered: {value}")
            combo.setCurrentIndex(index)

    # ------------------------------------------------------------------ import
    def import_script(self, path: str | None = None) -> bool:
        """Read ``path`` (or ask for one) and show its lines. A malformed file shows its line
        number and what is wrong; the script shown before stays."""
        self.message.clear_message()
        if self.busy:
            self.message.show_message("Wait for the current render to finish, or cancel it.",
                                      "warning")
            return False
        if path is None:
            start = self.script_edit.text().strip() or str(self._default_folder())
            path, _filter = QFileDialog.getOpenFileName(self, "Script or subtitles to dub", start,
                                                        SCRIPT_FILTER)
            if not path:
                return False
        try:
            script = load_dub_script(Path(path).expanduser())
        except VoiceStudioError as exc:
            self.message.error(f"Not imported: {exc}")
            return False
        store = PerformanceStore.for_script(Path(path).expanduser())
        restored = restore(script, store)
        self.script, self.session, self._session_voice = script, None, None
        self._performances = store
        self.script_edit.setText(str(path))
        self._fill_table()
        kind = (f"{len(script.lines)} timed cue(s) ending at {cue_text(script.end_s)}"
                if script.timed else f"{len(script.lines)} line(s), untimed")
        name = Path(path).name
        if script.warnings:
            shown = first_few([w.message for w in script.warnings])
            text = f"Imported {kind} from {name}, with warnings: {shown}."
        else:
            text = f"Imported {kind} from {name} ({script.format})."
        if restored.summary:
            text += f" {restored.summary}"
        if restored.notes:
            text += f" {first_few([n.message for n in restored.notes])}."
        warned = bool(script.warnings or restored.notes)
        self.message.show_message(text, "warning" if warned else "ok")
        self.progress.setValue(0)
        self.progress_label.setText("")
        self._update_buttons()
        self.script_loaded.emit(script)
        return True

    def _default_folder(self) -> Path:
        project = self.ctx.project
        return project.folder if project is not None else Path.home()

    def _fill_table(self) -> None:
        lines = self.script.lines if self.script is not None else []
        self._shown = []
        self.table.setRowCount(len(lines))
        for row, line in enumerate(lines):
            cue = cue_text(line.start_s) if line.timed else "–"
            slot = f"{line.slot_s:.2f}" if line.slot_s is not None else "–"
            pending = STATUS_LABELS[LineStatus.PENDING]
            cells = (str(line.index), cue, slot, "", "", pending, "", line.text)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column not in (TEXT_COLUMN, PERFORM_COLUMN):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
            self._show_performance(row, line)
        self._refresh_rows()

    def _show_performance(self, row: int, line: DubLine) -> None:
        """The Perform cell: the recording's name (its path in the tooltip), or nothing."""
        item = self.table.item(row, PERFORM_COLUMN)
        if item is not None:
            item.setText(line.perform.name if line.perform is not None else "")
            item.setToolTip(f"Performed like {line.perform}" if line.perform is not None
                            else "The voice's own delivery (Perform… to give it a recording)")

    def _refresh_rows(self) -> None:
        """Show the results that changed since last time (a 1,000-cue table stays cheap)."""
        if self.session is None:
            return
        results = list(self.session.results)  # the worker replaces items, never mutates them
        if len(self._shown) != len(results):
            self._shown = [None] * len(results)
        for row, result in enumerate(results):
            if self._shown[row] is not result:
                self._show_result(row, result)
                self._shown[row] = result

    def _show_result(self, row: int, result: LineRender) -> None:
        done = result.samples is not None
        cells = {
            "Rendered s": f"{result.rendered_s:.2f}" if done else "",
            "Tempo": f"{result.tempo:.2f}×" if done else "",
            "Status": STATUS_LABELS.get(result.status, result.status),
            "Text": result.line.text,
        }
        for name, text in cells.items():
            item = self.table.item(row, COLUMNS.index(name))
            if item is not None:
                item.setText(text)
        self._show_performance(row, result.line)
        status = self.table.item(row, COLUMNS.index("Status"))
        if status is not None:
            status.setToolTip("\n".join(w.message for w in result.warnings)
                              or f"fit: {result.fit_method}")
            status.setForeground(QColor(STATUS_COLORS.get(result.status, COLORS["text"])))

    # ------------------------------------------------------------------ background work
    def _session_for(self, settings: DubSettings):
        """A function for the worker that returns the session, built or updated for
        ``settings`` (a new voice needs a new session; a new style only new settings, its cache
        stays)."""
        spec, provider = self.synthesize.current_voice_spec(), self.ctx.provider
        key = (spec, provider)
        script, ctx = self.script, self.ctx

        def get() -> DubSession:
            if self.session is None or self._session_voice != key:
                synthesizer = ctx.synthesizer(spec)
                self.session = DubSession(script, settings, synthesizer=synthesizer)
                self._session_voice = key
            elif self.session.settings != settings:
                self.session.set_settings(settings)
            return self.session

        return get

    def _start(self, work, done, what: str) -> bool:
        self.message.clear_message()
        if self.busy:
            self.message.show_message("Already working; wait or cancel.", "warning")
            return False
        if self.script is None:
            self.message.error("Import a script or subtitle file first.")
            return False
        try:
            settings = self.settings()
        except VoiceStudioError as exc:
            self.message.error(str(exc))
            return False
        get_session = self._session_for(settings)
        self.progress.setValue(0)
        self.progress_label.setText(f"{what}…")
        task = run_task(lambda handle: work(get_session, handle), self, done=done,
                        failed=self._on_failed, cancelled=self._on_cancelled,
                        progress=self._on_progress)
        self._task = task
        self._tasks.add(task)
        task.finished.connect(lambda: self._on_task_finished(task))
        self._update_buttons()
        return True

    def render_all(self) -> bool:
        """Render every line in the background. True when the render started."""

        def work(get_session, handle):
            session = get_session()
            try:
                return session.render_all(handle.report, lambda: handle.cancelled)
            except RenderCancelled:
                raise Cancelled() from None

        return self._start(work, self._on_rendered, "Rendering")

    def rerender_line(self, index: int | None = None) -> bool:
        """Render line ``index`` (1-based; default the selected one) anew, then play it."""
        index = index or self.selected_line()
        if index is None:
            self.message.error("Select a line to re-render.")
            return False

        def work(get_session, handle):
            handle.report(0.0, f"re-rendering line {index}")
            return get_session().render_line(index, fresh=True)

        return self._start(work, self._on_line_rendered, f"Re-rendering line {index}")

    def perform_line(self, index: int | None = None, recording: str | None = None) -> bool:
        """Perform line ``index`` (default the selected one) like ``recording`` (asked for when
        None), then render it. True when the render started."""
        index = index or self.selected_line()
        if self.script is None or index is None:
            self.message.error("Select a line to perform.")
            return False
        if recording is None:
            line = self.script.lines[index - 1]
            start = line.perform or Path(self.script_edit.text().strip() or self._default_folder())
            recording, _filter = QFileDialog.getOpenFileName(
                self, f"A recording of {line.label}", str(start.parent if start.is_file()
                                                          else start), RECORDING_FILTER)
            if not recording:
                return False
        return self._set_performance(index, recording)

    def clear_performance(self, index: int | None = None) -> bool:
        """Speak line ``index`` (default the selected one) in the voice's own delivery again,
        then render it. True when the render started."""
        index = index or self.selected_line()
        if self.script is None or index is None:
            self.message.error("Select a line whose performance to clear.")
            return False
        return self._set_performance(index, None)

    def _set_performance(self, index: int, recording: str | None) -> bool:
        """Give the line its recording (None: none) in the session's script, save the choice
        with the script file, show it, and render the line. A recording that cannot be read is
        refused here, naming the line; one that reads another text is found when the line
        renders (its Status says why). A choice that cannot be saved still holds this session."""
        self.message.clear_message()
        if self.busy:
            self.message.show_message("Wait for the current render to finish, or cancel it.",
                                      "warning")
            return False
        try:
            if self.session is not None:
                line = self.session.set_performance(index, recording)
            else:
                line = set_line_performance(self.script, index, recording)
        except VoiceStudioError as exc:
            self.message.error(f"Not performed: {exc}")
            return False
        not_saved = None
        if self._performances is not None:
            try:
                self._performances.keep(line, self.session.script if self.session is not None
                                        else self.script)
            except VoiceStudioError as exc:
                not_saved = f"Performance kept for this session only: {exc}"
        self._show_performance(index - 1, line)
        self._refresh_rows()
        what = f"Performing line {index}" if recording is not None else f"Rendering line {index}"

        def work(get_session, handle):
            handle.report(0.0, what.lower())
            return get_session().render_line(index)

        started = self._start(work, self._on_line_rendered, what)
        if not_saved is not None:  # after _start, which clears the message
            also = "" if started else f" {self.message.text()}"
            self.message.error(not_saved + also)
        return started

    def _show_line_menu(self, at: QPoint) -> None:
        """The right-click menu of a row: play, re-render, perform, clear the performance."""
        row = self.table.rowAt(at.y())
        if row < 0:
            return
        self.table.selectRow(row)
        menu = QMenu(self)
        play = menu.addAction("Play line", lambda: self.play_line())
        play.setEnabled(self.play_button.isEnabled())
        again = menu.addAction("Re-render line", lambda: self.rerender_line())
        again.setEnabled(self.rerender_button.isEnabled())
        menu.addSeparator()
        menu.addAction(self.perform_action)
        menu.addAction(self.clear_perform_action)
        menu.popup(self.table.viewport().mapToGlobal(at))

    def export(self, out_dir: str | None = None, overwrite: bool | None = None) -> bool:
        """Render what is missing and write the dub into ``out_dir`` (asked for when None).
        Existing dub outputs there are replaced only after the user agrees (or ``overwrite``)."""
        if out_dir is None:
            out_dir = QFileDialog.getExistingDirectory(self, "Folder for the dub",
                                                       str(self._default_folder()))
            if not out_dir:
                return False
        folder = Path(out_dir).expanduser()
        taken = [name for name in OUTPUT_NAMES if (folder / name).exists()]
        if taken and overwrite is None:
            answer = QMessageBox.question(self, "Replace the dub?",
                                          f"{folder} already holds {', '.join(taken)}. "
                                          "Replace them?")
            overwrite = answer == QMessageBox.StandardButton.Yes
            if not overwrite:
                return False

        def work(get_session, handle):
            try:
                return export_dub(get_session(), folder, handle.report, lambda: handle.cancelled,
                                  bool(overwrite))
            except RenderCancelled:
                raise Cancelled() from None

        return self._start(work, self._on_exported, "Exporting")

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Cancelling after the current line…")

    def play_line(self, index: int | None = None) -> bool:
        index = index or self.selected_line()
        if self.session is None or index is None or not 1 <= index <= len(self.session.results):
            return False
        result = self.session.results[index - 1]
        if result.samples is None:
            self.message.show_message(f"Line {index} is not rendered yet.", "info")
            return False
        try:
            self.ctx.play(result.samples, result.sample_rate)
        except VoiceStudioError as exc:
            self.message.error(f"Cannot play: {exc}")
            return False
        return True

    # ------------------------------------------------------------------ outcomes (GUI thread)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(fraction * 1000)))
        if message:
            self.progress_label.setText(message)
        self._refresh_rows()

    def _summary(self) -> tuple[str, str]:
        results = self.session.results
        unit = results[0].line.unit if results else "line"  # counted as the table's "#" column
        too_long = [r.line.index for r in results if r.status == LineStatus.TOO_LONG]
        skipped = [r.line.index for r in results if r.status == LineStatus.SKIPPED]
        notes = []
        if too_long:
            notes.append(f"{unit}(s) {', '.join(map(str, too_long))} still too long for their slot "
                         "(the Status tooltip says how far they run on)")
        if skipped:
            notes.append(f"{unit}(s) {', '.join(map(str, skipped))} skipped (the Status tooltip "
                         "says why)")
        return "; ".join(notes), "warning" if notes else "ok"

    def _on_rendered(self, results) -> None:
        self._refresh_rows()
        self.progress.setValue(1000)
        notes, level = self._summary()
        self.progress_label.setText(f"rendered {len(results)} line(s)")
        self.message.show_message(
            f"Rendered {len(results)} line(s)." + (f" {notes}." if notes else ""), level)
        self.rendered.emit(results)

    def _on_line_rendered(self, result: LineRender) -> None:
        self._refresh_rows()
        self.progress.setValue(1000)
        self.progress_label.setText(f"line {result.line.index}: {result.rendered_s:.2f} s")
        self.play_line(result.line.index)
        self.line_rendered.emit(result)

    def _on_exported(self, result) -> None:
        self._refresh_rows()
        self.progress.setValue(1000)
        self.progress_label.setText(f"{result.duration_s:.1f} s, {result.integrated_lufs:.1f} "
                                    f"LUFS, true peak {result.true_peak_dbtp:.1f} dBTP")
        notes, level = self._summary()
        self.message.show_message(
            f"Exported the dub to {result.folder}: track.wav, {len(result.stems)} stem(s), "
            f"report.csv, words.csv, track.srt and track.vtt." + (f" {notes}." if notes else ""),
            level)
        self.ctx.status.emit(f"Exported the dub to {result.folder.name}")
        self.exported.emit(result)

    def _on_failed(self, message: str) -> None:
        self._refresh_rows()
        self.progress.setValue(0)
        self.progress_label.setText("")
        self.message.error(f"Not done: {message}")
        self.failed.emit(message)

    def _on_cancelled(self) -> None:
        self._refresh_rows()
        self.progress.setValue(0)
        self.progress_label.setText("")
        self.message.show_message(
            "Cancelled: lines rendered so far are kept; nothing was exported.", "info")
        self.cancelled.emit()

    def _on_task_finished(self, task) -> None:
        self._tasks.discard(task)
        if task is self._task:
            self._task = None
        self._update_buttons()

    def shutdown(self) -> None:
        """Cancel the running job and wait for it; safe to call twice."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            task.wait(120_000)
