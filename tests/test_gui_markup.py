"""Speech markup and the word being heard in the Synthesize panel, offscreen, with the
bundled voice: the "Speech markup" switch, a markup error shown at its place, and the word
marked in the text and on the waveform as playback moves."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_layout import clipped  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QTextCursor, QTextDocument  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from voicestudio.audio.io import Audio  # noqa: E402
from voicestudio.gui.context import StudioContext  # noqa: E402
from voicestudio.gui.panels.synthesize import SynthesizePanel  # noqa: E402
from voicestudio.styling.controls import StyleControls  # noqa: E402
from voicestudio.text.markup import MarkupError, parse_markup  # noqa: E402

RENDER_MS = 60_000
MARKED = 'Wait <break time="700ms"/> for me.'
BAD = "<speak>Hi <emphasis>there</speak>"


@pytest.fixture
def panel(qtbot, themed_synthesize_panel):
    widget = themed_synthesize_panel()
    with qtbot.waitSignal(widget.rendered, timeout=RENDER_MS):  # variability 0: repeatable
        widget.set_controls(StyleControls(variability=0.0))
    return widget


def type_text(qtbot, panel: SynthesizePanel, text: str) -> None:
    panel.text.clear()
    qtbot.keyClicks(panel.text, text)
    assert panel.current_text() == text


def speak(qtbot, panel: SynthesizePanel) -> Audio:
    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS) as blocker:
        qtbot.mouseClick(panel.speak_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def spoken(qtbot, panel: SynthesizePanel, text: str, markup: bool) -> Audio:
    """The panel's render of ``text`` with the switch set to ``markup``."""
    panel.markup_toggle.blockSignals(True)  # this test's own render, not the switch's
    panel.markup_toggle.setChecked(markup)
    panel.markup_toggle.blockSignals(False)
    type_text(qtbot, panel, text)
    return speak(qtbot, panel)


def marked_words(panel: SynthesizePanel) -> list[tuple[int, int]]:
    """(start, end) of each character range marked in the text box."""
    return [(s.cursor.selectionStart(), s.cursor.selectionEnd())
            for s in panel.text.extraSelections()]


def test_the_switch_reads_the_text_as_markup_and_rerenders(qtbot, panel):
    switch = panel.markup_toggle
    assert switch.text() == "Speech markup" and not switch.isChecked()
    tip = QTextDocument()
    tip.setHtml(switch.toolTip())  # as the tooltip shows it
    for element in ('<break time="500ms"/>', "<emphasis>", "<prosody rate", "<phoneme ph",
                    "<sub alias", "<say-as interpret-as", "README: Speech markup"):
        assert element in tip.toPlainText(), element

    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS):
        qtbot.mouseClick(switch, Qt.MouseButton.LeftButton)  # a switch is a style: re-render
    assert switch.isChecked() and panel.controller.renders.latest_id >= 2
    marked = spoken(qtbot, panel, MARKED, markup=True)
    without = spoken(qtbot, panel, "Wait for me.", markup=True)
    assert marked.duration_s - without.duration_s >= 0.6
    assert panel.message.level != "error", panel.message.text()
    assert "left out" not in panel.message.text() and "markup" not in panel.message.text()

    # off, the same text is plain: the tag is no pause (its letters are read instead)
    type_text(qtbot, panel, MARKED)
    with qtbot.waitSignal(panel.rendered, timeout=RENDER_MS) as blocker:
        switch.setChecked(False)
    assert abs(blocker.args[0].duration_s - marked.duration_s) > 0.05
    assert panel.controller.words is not None
    assert "<break" in [w.text for w in panel.controller.words]


def test_bad_markup_is_shown_inline_with_the_cursor_at_its_place(qtbot, panel, artifacts_dir):
    with pytest.raises(MarkupError) as expected:
        parse_markup(BAD)
    place = expected.value
    type_text(qtbot, panel, BAD)  # starts with <speak>: markup with the switch off too
    panel.text.moveCursor(QTextCursor.MoveOperation.Start)
    qtbot.mouseClick(panel.speak_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message.level == "error", timeout=RENDER_MS)
    message = panel.message.text()
    assert f"line 1, column {place.column}" in message and place.reason in message
    assert panel.text.textCursor().position() == place.column - 1
    assert panel.text.hasFocus() or not QApplication.focusWindow()

    qtbot.wait(50)
    assert clipped(panel) == []
    path = artifacts_dir / "panel_synthesize_markup_error.png"
    panel.grab().save(str(path))
    assert path.stat().st_size > 10_000


def test_the_word_heard_is_marked_in_the_text_and_on_the_waveform(
        qtbot, panel, artifacts_dir: Path):
    spoken(qtbot, panel, MARKED, markup=True)
    words = panel.controller.words
    assert [w.text for w in words] == ["Wait", "for", "me."]
    second = words[1]
    assert second.start > words[0].end + 0.6  # the break lies between them

    during = (second.start + second.end) / 2
    panel.spoken.update_position(during)
    start = MARKED.index("for")
    assert marked_words(panel) == [(start, start + 3)]
    region = panel.waveform.word_region
    assert region.isVisible() and region.getRegion() == pytest.approx((second.start, second.end))
    assert panel.waveform.playhead.isVisible()
    assert panel.waveform.playhead.value() == pytest.approx(during)

    panel.message.clear_message()  # no output device here: the playback warning is not the point
    qtbot.wait(50)
    assert clipped(panel) == []
    path = artifacts_dir / "panel_synthesize_markup.png"
    panel.grab().save(str(path))
    assert path.stat().st_size > 10_000

    select = panel.text.textCursor()  # the user's own selection, "Wait", stays as it is
    select.setPosition(0)
    select.setPosition(4, QTextCursor.MoveMode.KeepAnchor)
    panel.text.setTextCursor(select)
    panel.spoken.update_position(words[2].start + 0.01)
    me = MARKED.index("me.")
    assert marked_words(panel) == [(me, me + 2)]
    assert panel.text.textCursor().selectedText() == "Wait"
    assert region.getRegion() == pytest.approx((words[2].start, words[2].end))

    panel.spoken.update_position((words[0].end + second.start) / 2)  # in the break: no word
    assert marked_words(panel) == [] and not region.isVisible()
    panel.spoken.update_position(during)
    panel.text.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(panel.text, " Now.")  # the text changed: the words no longer stand there
    assert marked_words(panel) == [] and not region.isVisible()
    assert not panel.waveform.playhead.isVisible()


def test_playback_is_followed_while_the_panel_s_sound_plays(qtbot, panel, monkeypatch):
    """The timer path, with the player's position stood in for (no audio device needed)."""
    spoken(qtbot, panel, MARKED, markup=True)
    second = panel.controller.words[1]
    position = {"s": (second.start + second.end) / 2}
    monkeypatch.setattr(StudioContext, "playback_position_s",
                        property(lambda _self: position["s"]))
    panel.spoken.follow()
    assert panel.spoken.timer.isActive()
    start = MARKED.index("for")
    qtbot.waitUntil(lambda: marked_words(panel) == [(start, start + 3)], timeout=2000)

    position["s"] = None  # playback ended
    qtbot.waitUntil(lambda: not panel.spoken.timer.isActive(), timeout=2000)
    assert marked_words(panel) == [] and not panel.waveform.word_region.isVisible()

    position["s"] = second.start + 0.01
    panel.spoken.follow()
    panel.ctx.sounds_played += 1  # another sound took the speaker
    qtbot.waitUntil(lambda: not panel.spoken.timer.isActive(), timeout=2000)
    assert marked_words(panel) == []
