"""The microphone picker: the inputs PortAudio lists, the system default first.

The choice itself is ``StudioContext.input_device`` (None: the system default), so it
survives restarts and an unplugged microphone: an input chosen earlier that is not
connected now stays in the list, marked "(not found)", with a warning in ``message``.
Which entries to show is decided in :func:`voicestudio.gui.controllers.record.input_choices`.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from voicestudio.errors import VoiceStudioError
from voicestudio.gui.context import StudioContext
from voicestudio.gui.controllers import record as control
from voicestudio.gui.widgets.inline_message import InlineMessage


class InputPicker(QWidget):
    """"Input" label, the device list and a Refresh button. ``chosen`` carries the entry a
    person picked (its name, or None for the system default) for the panel to :meth:`select`;
    ``listed`` is emitted after each listing (the status bar follows :meth:`summary`)."""

    chosen = Signal(object)
    listed = Signal()

    def __init__(
        self, ctx: StudioContext, message: InlineMessage, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.message = message
        label = QLabel("Input")
        label.setProperty("role", "hint")
        self.combo = QComboBox()
        self.combo.setMinimumWidth(260)
        self.combo.setToolTip("The microphone to record from")
        self.combo.activated.connect(lambda row: self.chosen.emit(self.combo.itemData(row)))
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("List the audio inputs again")
        self.refresh_button.clicked.connect(self.refresh)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (label, self.combo, self.refresh_button):
            row.addWidget(widget)
        ctx.devices_changed.connect(self._follow_choice)

    def refresh(self) -> None:
        """List the input devices again and select the chosen one."""
        from voicestudio.audio.devices import AudioDeviceError, list_devices

        self.combo.blockSignals(True)
        try:
            self.combo.clear()
            try:
                choices = control.input_choices(list_devices("input"))
            except AudioDeviceError as exc:
                self.combo.addItem("No audio input available", None)
                self.message.error(str(exc))
                return
            if not choices:
                self.combo.addItem("No microphone found", None)
                self.message.error(control.NO_INPUT_HINT)
                return
            self.message.clear_message()
            for choice in choices:
                self.combo.addItem(choice.text, choice.name)
            self._show_choice(self.ctx.input_device)
        finally:
            self.combo.blockSignals(False)
            self.listed.emit()

    def select(self, name: str | None) -> bool:
        """Record from ``name`` (None = the system default). Shows an inline error and returns
        False when no such input exists; the choice is kept either way (it may come back)."""
        from voicestudio.audio.devices import find_device

        self.ctx.input_device = name  # emits devices_changed → the list follows
        try:
            device = find_device(name, "input")
        except VoiceStudioError as exc:
            self.message.error(f"{exc}")
            return False
        self.message.clear_message()
        self.ctx.status.emit(f"Recording from {device.name}")
        return True

    def names(self) -> list[str]:
        """The entries as listed."""
        return [self.combo.itemText(i) for i in range(self.combo.count())]

    def summary(self) -> str:
        """The input in use as the list shows it ("No microphone found" when there is none)."""
        return self.combo.currentText() or "system default"

    def _show_choice(self, name: str | None) -> None:
        index = self.combo.findData(name)
        if index < 0 and name is not None:  # chosen earlier, not connected now: keep it visible
            self.combo.addItem(f"{name} (not found)", name)
            index = self.combo.count() - 1
            self.message.show_message(control.missing_input_text(name), "warning")
        self.combo.setCurrentIndex(max(0, index))

    def _follow_choice(self) -> None:
        if self.combo.currentData() == self.ctx.input_device:
            return
        self.combo.blockSignals(True)
        try:
            index = self.combo.findData(self.ctx.input_device)
            if index >= 0:
                self.combo.setCurrentIndex(index)
            else:
                self._show_choice(self.ctx.input_device)
        finally:
            self.combo.blockSignals(False)
