"""The studio window: a side bar of panels (Record, Train, Synthesize & Customize, Export),
a project menu with recent projects, a status bar, shortcuts, and remembered layout.

The window only routes: panels do their own work through the shared StudioContext.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from voicestudio import __version__
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.context import StudioContext
from voicestudio.gui.panels.export import ExportPanel
from voicestudio.gui.panels.record import RecordPanel
from voicestudio.gui.panels.synthesize import SynthesizePanel
from voicestudio.gui.panels.train import TrainPanel
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.paths import resources_dir

ABOUT_TEXT = """<h3>VoiceStudio {version}</h3>
<p>Record your voice, train a clone of it, and speak any text with it — offline.</p>
<p>Copyright © the VoiceStudio developers. VoiceStudio is free software: you can redistribute
it and/or modify it under the terms of the <b>GNU General Public License, version 3 or (at your
option) any later version</b>. It comes with ABSOLUTELY NO WARRANTY. It uses Piper and
espeak-ng (GPL-3.0), ONNX Runtime (MIT), Qt for Python (LGPL-3.0) and the en_US "joe" voice.</p>
<p>See the LICENSE file or <i>https://www.gnu.org/licenses/gpl-3.0.html</i>.</p>"""


class NewProjectDialog(QDialog):
    """Name, speaker and parent folder of a new voice project, with a Browse button and the
    folder the project will get shown as it is typed. OK waits for a name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from voicestudio.project.project import default_projects_dir

        self.setWindowTitle("New voice project")
        self.setMinimumWidth(560)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. My voice")
        self.speaker = QLineEdit()
        self.speaker.setPlaceholderText("the person who will record (optional)")
        self.folder = QLineEdit(str(default_projects_dir()))
        self.folder.setToolTip("The folder the project's own folder is made in")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse_button)
        self.target = QLabel()
        self.target.setProperty("role", "hint")
        self.target.setWordWrap(True)
        form.addRow("Project name", self.name)
        form.addRow("Speaker", self.speaker)
        form.addRow("Parent folder", folder_row)
        form.addRow("", self.target)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.name.textChanged.connect(self._update_target)
        self.folder.textChanged.connect(self._update_target)
        self._update_target()

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(
            self, "Parent folder of the new project", self.folder.text()
        )
        if chosen:
            self.folder.setText(chosen)

    def _update_target(self) -> None:
        name = self.name.text().strip()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(name))
        where = Path(self.folder.text().strip() or ".").expanduser()
        self.target.setText(f"The project will be made in {where / name}" if name
                            else "Give the project a name.")


class MainWindow(QMainWindow):
    """The studio. ``project`` (a folder or name) is opened at start when given."""

    def __init__(self, project: str | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"VoiceStudio {__version__}")
        self.setWindowIcon(QIcon(str(resources_dir() / "voicestudio.png")))
        self.ctx = StudioContext(settings or QSettings(), self)
        self.banner = InlineMessage()

        self.record = RecordPanel(self.ctx)
        self.train = TrainPanel(self.ctx)
        self.synthesize = SynthesizePanel(self.ctx)
        self.export = ExportPanel(self.ctx, self.synthesize)
        self.panels = [self.record, self.train, self.synthesize, self.export]

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(232)
        self.sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrows belong to the prompt shortcuts
        self.stack = QStackedWidget()
        for panel in self.panels:
            self.sidebar.addItem(panel.title)
            self.stack.addWidget(panel)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.currentRowChanged.connect(self._clear_done_banner)

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(12, 10, 12, 6)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(right, 1)
        self.setCentralWidget(central)
        # Below this the Record panel's live view and prompt list get too cramped to use.
        self.setMinimumSize(self.minimumSizeHint().expandedTo(QSize(1000, 620)))

        self._build_menus()
        self._build_status_bar()
        self._build_shortcuts()
        self.ctx.project_changed.connect(self._on_project_changed)
        self.ctx.devices_changed.connect(self._update_status)
        self.record.inputs_listed.connect(self._update_status)
        self.train.record_statement.connect(self._record_statement)
        self.ctx.status.connect(lambda text: self.statusBar().showMessage(text, 8000))

        self._restore_state()
        if project:
            self.open_project(project)
        else:
            self._update_status()

    # ------------------------------------------------------------------ navigation
    def show_panel(self, panel: QWidget) -> None:
        self.sidebar.setCurrentRow(self.panels.index(panel))

    def _clear_done_banner(self) -> None:
        """A success note belongs to the moment it was shown; errors stay until dealt with."""
        if self.banner.level in ("ok", "info"):
            self.banner.clear_message()

    @property
    def current_panel(self) -> QWidget:
        return self.panels[self.stack.currentIndex()]

    # ------------------------------------------------------------------ projects
    def new_project(self, name: str | None = None, parent: str | None = None, speaker: str = ""):
        """Create a project (asking for its name when none is given) and open it."""
        from voicestudio.project.project import VoiceProject

        if name is None:
            dialog = NewProjectDialog(self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            name, speaker, parent = (
                dialog.name.text().strip(),
                dialog.speaker.text().strip(),
                dialog.folder.text(),
            )
        try:
            project = VoiceProject.create(name, parent=parent or None, speaker=speaker)
        except VoiceStudioError as exc:
            self.banner.error(f"Cannot create the project: {exc}")
            return None
        self.ctx.set_project(project)
        self.show_panel(self.record)
        self.banner.show_message(
            f"Created project “{project.name}” in {project.folder}. Start with the consent "
            "statement on the Record panel.",
            "ok",
        )
        return project

    def open_project(self, path: str | None = None):
        """Open a project folder (asking for it when none is given); errors show in the banner."""
        from voicestudio.project.project import VoiceProject

        if path is None:
            path = QFileDialog.getExistingDirectory(
                self, "Open voice project", str(self._projects_dir())
            )
            if not path:
                return None
        try:
            project = VoiceProject.open(path)
        except VoiceStudioError as exc:
            self.banner.error(f"Cannot open {path}: {exc}")
            return None
        except OSError as exc:
            self.banner.error(f"Cannot open {path}: {exc.strerror or exc}")
            return None
        self.banner.clear_message()
        self.ctx.set_project(project)
        return project

    def _record_statement(self, index: int) -> None:
        """The Train panel's "Record the statement now": that prompt, in Record."""
        self.show_panel(self.record)
        self.record.go_to_prompt(index)

    def _projects_dir(self) -> Path:
        from voicestudio.project.project import default_projects_dir

        return default_projects_dir()

    def _on_project_changed(self, project) -> None:
        self._refresh_recent_menu()
        self._update_status()
        title = f"VoiceStudio {__version__}"
        self.setWindowTitle(f"{project.name} — {title}" if project is not None else title)

    # ------------------------------------------------------------------ menus, status, keys
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, keys, slot in (
            ("&New project…", QKeySequence.StandardKey.New, lambda: self.new_project()),
            ("&Open project…", QKeySequence.StandardKey.Open, lambda: self.open_project()),
        ):
            action = QAction(text, self)
            action.setShortcut(keys)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addSeparator()
        export = QAction("&Export current line…", self)
        export.setShortcut(QKeySequence("Ctrl+E"))
        export.triggered.connect(self.export_current)
        file_menu.addAction(export)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.export_action = export

        view = self.menuBar().addMenu("&View")
        for n, panel in enumerate(self.panels):
            action = QAction(panel.title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{n + 1}"))
            action.triggered.connect(lambda _=False, p=panel: self.show_panel(p))
            view.addAction(action)

        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About VoiceStudio", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.ctx.recent_projects()
        for path in recent:
            action = QAction(path, self)
            action.triggered.connect(lambda _=False, p=path: self.open_project(p))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(recent))

    def _build_status_bar(self) -> None:
        self.device_label = QLabel()
        self.provider_label = QLabel()
        self.project_label = QLabel()
        for label in (self.project_label, self.device_label, self.provider_label):
            label.setProperty("role", "hint")
            self.statusBar().addPermanentWidget(label)

    def _update_status(self) -> None:
        project = self.ctx.project
        self.project_label.setText(
            f"Project: {project.name}" if project is not None else "No project open"
        )
        self.device_label.setText(f"Input: {self.record.input_summary()}")
        self.provider_label.setText(f"Synthesis: {self._provider_text()}")

    def _provider_text(self) -> str:
        from voicestudio.runtime import cuda_unavailable_reason

        choice = self.ctx.provider
        if choice == "cpu" or (choice == "auto" and cuda_unavailable_reason()):
            return "CPU"
        if choice == "cuda" and cuda_unavailable_reason():
            return "CPU (CUDA unavailable)"
        return "CUDA" if choice == "cuda" else "auto (CPU or CUDA, measured)"

    def _build_shortcuts(self) -> None:
        """R, Space and the arrows act on the panel in view; text fields keep their keys
        because Qt lets a focused editor override shortcuts for the keys it uses."""
        self.shortcuts = {}
        for key, method in (
            ("R", "toggle_record"),
            ("Space", "toggle_play"),
            ("Right", "next_prompt"),
            ("Left", "previous_prompt"),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda m=method: self._panel_action(m))
            self.shortcuts[key] = shortcut

    def _panel_action(self, method: str) -> None:
        action = getattr(self.current_panel, method, None)
        if action is not None:
            action()

    def export_current(self) -> None:
        """Ctrl+E: save the Synthesize panel's current line."""
        self.show_panel(self.export)
        self.export.export_current()

    def show_about(self) -> None:
        QMessageBox.about(self, "About VoiceStudio", ABOUT_TEXT.format(version=__version__))

    # ------------------------------------------------------------------ state
    def _restore_state(self) -> None:
        s = self.ctx.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 760)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        try:
            row = int(s.value("window/panel", 2))
        except (TypeError, ValueError):
            row = 2
        self.sidebar.setCurrentRow(row if 0 <= row < len(self.panels) else 2)

    def _save_state(self) -> None:
        s = self.ctx.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/panel", self.stack.currentIndex())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Ask before stopping a training run; then let every panel stop its threads."""
        if getattr(self.train, "busy", False) and not getattr(self, "_force_close", False):
            answer = QMessageBox.question(
                self,
                "Training is running",
                "A training run is in progress. Stop it? "
                "The best checkpoint so far is kept and can be resumed.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self._save_state()
        for panel in self.panels:
            panel.shutdown()
        self.ctx.close()
        super().closeEvent(event)
