"""The "Fix pronunciation" dialog: one word, what the voice says now, and how it should say it.

The user picks "Sounds like" (a respelling) or "Phonemes (IPA)", types the value, and hears
it at once: "Listen" renders the sentence around the word (or the word alone) with the entry
laid over the lexicon in use, in a worker task, with the panel's voice and style controls.
Every keystroke checks the entry by the engine's rules (an unknown phoneme is named inline and
Save stays disabled). Save writes it to the project's lexicon or the user's. The checks and
the writing are :mod:`voicestudio.gui.controllers.pronunciation`; this is only the face.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from voicestudio.audio.io import Audio
from voicestudio.errors import VoiceStudioError
from voicestudio.gui.controllers.pronunciation import (
    KIND_LABELS,
    SCOPE_LABELS,
    Draft,
    DraftCheck,
    PronunciationContext,
    StoredEntry,
    candidate_lexicon,
    check_draft,
    phonemes_of,
    render_candidate,
    save_entry,
    scope_unavailable,
    sentence_case,
)
from voicestudio.gui.widgets.inline_message import InlineMessage
from voicestudio.gui.workers import run_task
from voicestudio.project.lexicon_store import Scope
from voicestudio.text.lexicon import Pronunciation

KIND_HINTS = {
    Pronunciation.SOUNDS_LIKE: "Spell it the way it sounds, as you would for a reader: "
                               "“win” for Nguyen, “zor blacks”.",
    Pronunciation.PHONEMES: "Phonemes in the voice's alphabet (espeak IPA), one symbol per "
                            "character; ˈ before the stressed syllable. “Says now” is a start.",
}
SCOPE_TIPS = {Scope.PROJECT: "Only when speaking for this project (wins over yours)",
              Scope.USER: "Your lexicon: every voice, every project"}


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setProperty("role", "hint")
    return label


def _phonemes_label() -> QLabel:
    """Phonemes, a little larger than the text around them: stress marks are small."""
    label = QLabel()
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    label.setStyleSheet("font-size: 12pt;")  # over the theme's 10 pt
    return label


class PronunciationDialog(QDialog):
    """Fix (or add, or edit) one word's entry; see the module docstring. ``editing`` is the
    entry the word has now, if any: the dialog starts from it and Save replaces it."""

    #: The entry saved (a LexiconEntry) and the Scope it went to.
    saved = Signal(object, object)
    #: Every "Listen" render (an Audio), whether or not it could be played.
    listened = Signal(object)

    def __init__(self, context: PronunciationContext, play: Callable[[Audio], None],
                 word: str = "", sentence: str = "", editing: StoredEntry | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.editing = editing
        self.sentence = sentence
        self.check = DraftCheck(None)
        self.audio: Audio | None = None  # the last Listen
        self._play = play
        self._tasks: set = set()
        self._now = ""  # what the word becomes now
        self.setWindowTitle("Fix pronunciation" if sentence else "Edit pronunciation"
                            if editing is not None else "Add pronunciation")
        self.setMinimumWidth(560)
        self._build(word)
        self._start_from(editing)
        self._word_changed()

    # ------------------------------------------------------------------ layout
    def _build(self, word: str) -> None:
        self.word_edit = QLineEdit(word)
        self.word_edit.setPlaceholderText("The word, as it is written")
        self.word_edit.textChanged.connect(self._word_changed)
        self.exact = QCheckBox("Exact case only, for acronyms (NASA, not nasa)")
        self.exact.toggled.connect(self._update)
        self.now_label = _phonemes_label()
        self.now_label.setToolTip("The voice's phonemes for the word with the pronunciations in "
                                  "use (as `voicestudio phonemes` shows them)")

        self.kind_group = QButtonGroup(self)
        kind_row = QHBoxLayout()
        self.kind_buttons: dict[Pronunciation, QRadioButton] = {}
        for kind in Pronunciation:
            button = QRadioButton(KIND_LABELS[kind])
            self.kind_group.addButton(button)
            self.kind_buttons[kind] = button
            kind_row.addWidget(button)
            button.toggled.connect(lambda on, kind=kind: on and self._kind_chosen(kind))
        kind_row.addStretch(1)
        self.value_edit = QLineEdit()
        self.value_edit.textChanged.connect(self._update)
        self.kind_hint = _hint()
        self.kind_buttons[Pronunciation.SOUNDS_LIKE].setChecked(True)
        self.with_label = _phonemes_label()
        self.with_label.setToolTip("What the voice will say with this entry")
        self.message = InlineMessage()

        # A grid, not a QFormLayout: the form sizes wrapped labels by their size hint, not
        # by their height at the width they get, and leaves gaps around them.
        form = QGridLayout()
        form.setColumnStretch(1, 1)
        rows = [("Word", self.word_edit), ("", self.exact)]
        if self.sentence:
            self.sentence_label = _hint(f"“{self.sentence}”")
            rows.append(("In", self.sentence_label))
        rows += [("Says now", self.now_label), ("Say it as", kind_row), ("", self.value_edit),
                 ("", self.kind_hint), ("With it", self.with_label),
                 ("Listen to", self._build_listen()), ("", self.listen_state),
                 ("Save to", self._build_scopes()), ("", self.scope_reason)]
        for row, (label, field) in enumerate(rows):
            if label:
                form.addWidget(QLabel(label), row, 0)
            if isinstance(field, QWidget):
                form.addWidget(field, row, 1)
            else:
                form.addLayout(field, row, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    def _build_listen(self) -> QHBoxLayout:
        """The sentence or the word alone, and the Listen button; what the last one did goes
        below (``listen_state``)."""
        self.listen_sentence = QRadioButton("the sentence")
        self.listen_word = QRadioButton("the word alone")
        self.listen_group = QButtonGroup(self)  # radio buttons of one dialog: one group each
        self.listen_group.addButton(self.listen_sentence)
        self.listen_group.addButton(self.listen_word)
        (self.listen_sentence if self.sentence else self.listen_word).setChecked(True)
        self.listen_sentence.setVisible(bool(self.sentence))  # no text around it: the word
        self.listen_button = QPushButton("Listen")
        self.listen_button.setToolTip("Hear it with this entry, the chosen voice and the style "
                                      "controls (nothing is saved)")
        self.listen_button.clicked.connect(self.listen)
        self.listen_state = _hint()
        self.listen_state.hide()  # until there is something to say
        row = QHBoxLayout()
        row.addWidget(self.listen_sentence)
        row.addWidget(self.listen_word)
        row.addStretch(1)
        row.addWidget(self.listen_button)
        return row

    def _build_scopes(self) -> QHBoxLayout:
        """This project or all my voices; why the project cannot be chosen goes below
        (``scope_reason``)."""
        self.scope_buttons: dict[Scope, QRadioButton] = {}
        self.scope_group = QButtonGroup(self)
        row = QHBoxLayout()
        for scope in (Scope.PROJECT, Scope.USER):
            button = QRadioButton(SCOPE_LABELS[scope])
            self.scope_group.addButton(button)
            button.setToolTip(SCOPE_TIPS[scope])
            button.toggled.connect(self._update)
            self.scope_buttons[scope] = button
            row.addWidget(button)
        row.addStretch(1)
        reason = scope_unavailable(Scope.PROJECT, self.context.project)
        self.scope_buttons[Scope.PROJECT].setEnabled(not reason)
        if reason:
            self.scope_buttons[Scope.PROJECT].setToolTip(reason)
        self.scope_buttons[Scope.PROJECT if not reason else Scope.USER].setChecked(True)
        self.scope_reason = _hint(reason)
        self.scope_reason.setVisible(bool(reason))
        return row

    def _start_from(self, editing: StoredEntry | None) -> None:
        if editing is None:
            return
        entry = editing.entry
        self.kind_buttons[entry.kind].setChecked(True)
        self.value_edit.setText(entry.value)
        self.exact.setChecked(entry.case_sensitive)
        if not scope_unavailable(editing.scope, self.context.project):
            self.scope_buttons[editing.scope].setChecked(True)

    # ------------------------------------------------------------------ state
    @property
    def kind(self) -> Pronunciation:
        return next(k for k, b in self.kind_buttons.items() if b.isChecked())

    @property
    def scope(self) -> Scope:
        return next(s for s, b in self.scope_buttons.items() if b.isChecked())

    @property
    def _replaced(self) -> StoredEntry | None:
        """The entry Save replaces: the one being edited; when fixing a word of the text, only
        while the word is still that one (another word typed is a new entry, not a rename)."""
        editing = self.editing
        if editing is None or (self.sentence and self.word_edit.text().strip().casefold()
                               != editing.entry.word.casefold()):
            return None
        return editing

    @property
    def _replacing(self):
        return self._replaced.entry if self._replaced is not None else None

    def _fit(self) -> None:
        """Grow to show every wrapped line: a top-level window does not follow its labels'
        height for its width by itself."""
        need = max(self.minimumSizeHint().height(), self.heightForWidth(self.width()))
        if need > self.height():
            self.resize(self.width(), need)

    def _word_changed(self) -> None:
        word = self.word_edit.text().strip()
        try:
            self._now = phonemes_of(word, self.context.lexicon, self.context.config) if word \
                else ""
        except VoiceStudioError as exc:  # an entry of the lexicon in use is bad for this voice
            self._now = ""
            self.now_label.setText(sentence_case(str(exc)))
        else:
            self.now_label.setText(self._now or "—")
        self._update()

    def _kind_chosen(self, kind: Pronunciation) -> None:
        self.kind_hint.setText(KIND_HINTS[kind])
        self.value_edit.setPlaceholderText("zor blacks" if kind is Pronunciation.SOUNDS_LIKE
                                           else "zˈɔːɹblæks")
        if kind is Pronunciation.PHONEMES and not self.value_edit.text().strip() and self._now:
            self.value_edit.setText(self._now)  # a start: change what is wrong in it
        self._update()

    def _update(self, *_args) -> None:
        if not hasattr(self, "save_button"):
            return  # still building
        draft = Draft(self.word_edit.text(), self.kind, self.value_edit.text(),
                      self.exact.isChecked())
        self.check = check_draft(draft, self.context.config, self.context.lexicon,
                                 self._replacing)
        self.with_label.setText(self.check.phonemes or "—")
        if self.check.error:
            self.message.error(self.check.error)
        elif self.message.level == "error":
            self.message.clear_message()
        self.save_button.setEnabled(self.check.valid and not scope_unavailable(
            self.scope, self.context.project))
        self.listen_button.setEnabled(self.check.valid and not self._tasks)
        QTimer.singleShot(0, self, self._fit)  # once the labels have their new text

    # ------------------------------------------------------------------ actions
    def listen(self) -> None:
        """Render the sentence (or the word) with the entry, then play it."""
        if not self.check.valid or self._tasks:
            return
        entry = self.check.entry
        text = self.sentence if self.sentence and self.listen_sentence.isChecked() else entry.word
        lexicon = candidate_lexicon(self.context.lexicon, entry, self._replacing)
        voice, controls = self.context.voice, self.context.controls()
        self._listen_said("Rendering…")
        task = run_task(lambda _handle: render_candidate(voice(), lexicon, text, controls), self,
                        done=self._heard, failed=self._not_heard)
        self._tasks.add(task)
        task.finished.connect(lambda: self._task_ended(task))
        self._update()

    def _task_ended(self, task) -> None:
        self._tasks.discard(task)
        self._update()

    def _listen_said(self, text: str) -> None:
        self.listen_state.setText(text)
        self.listen_state.setVisible(bool(text))
        QTimer.singleShot(0, self, self._fit)

    def _heard(self, audio: Audio) -> None:
        if not self.isVisible():
            return  # closed while it rendered: not to be played any more
        self.audio = audio
        self._listen_said(f"{audio.duration_s:.1f} s, playing.")
        self.listened.emit(audio)
        try:
            self._play(audio)
        except VoiceStudioError as exc:
            self._listen_said(f"Rendered {audio.duration_s:.1f} s, but it cannot be played: "
                              f"{exc}")

    def _not_heard(self, message: str) -> None:
        self._listen_said("")
        self.message.error(message)

    def save(self) -> bool:
        """Store the entry in the chosen lexicon; False (and the reason inline) when it
        cannot be."""
        if not self.check.valid:
            return False
        entry, scope = self.check.entry, self.scope
        try:
            save_entry(entry, scope, self.context.project, self._replaced)
        except VoiceStudioError as exc:
            self.message.error(str(exc))
            return False
        self.saved.emit(entry, scope)
        self.accept()
        return True

    def shutdown(self) -> None:
        """Wait for a Listen under way (a short render), so no thread outlives the dialog."""
        for task in list(self._tasks):
            task.wait(60_000)

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)
