"""The logic behind the pronunciation dialogs, without Qt: the word at the cursor, the sentence
around it, drafts checked against the base voice, candidate lexicons, table rows and the
lexicon files they edit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from voicestudio.gui.controllers.pronunciation import (
    NO_PROJECT_REASON,
    Draft,
    StoredEntry,
    candidate_lexicon,
    check_draft,
    export_tsv,
    import_tsv,
    lexicon_rows,
    phonemes_of,
    remove_stored,
    render_candidate,
    save_entry,
    scope_unavailable,
    sentence_around,
    stored_entry,
    table_rows,
    voice_config,
    word_at,
)
from voicestudio.project import lexicon_store as store
from voicestudio.project.lexicon_store import Scope
from voicestudio.project.project import VoiceProject
from voicestudio.styling.controls import StyleControls
from voicestudio.text.lexicon import Lexicon, LexiconEntry, LexiconError, Pronunciation

TEXT = "Hello! Please ask Zorblax about it, Dr. Smith. Don't worry (well-known)."
SOUNDS, IPA = Pronunciation.SOUNDS_LIKE, Pronunciation.PHONEMES
ZORBLAX = LexiconEntry("Zorblax", SOUNDS, "zor blocks")


@pytest.fixture(scope="module")
def config():
    return voice_config(None)  # the base voice's sidecar


@pytest.fixture
def user_data(tmp_path, monkeypatch) -> Path:
    """The user's lexicon in this test's own folder."""
    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def project(tmp_path, user_data) -> VoiceProject:
    return VoiceProject.create("Speaker", tmp_path, prompts=["One line."], consent_index=None)


def test_the_controller_imports_no_qt():
    code = textwrap.dedent("""
        import sys
        import voicestudio.gui.controllers.pronunciation
        assert not [m for m in sys.modules if m.startswith(("PySide6", "torch"))]
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(("start", "end", "word"), [
    (18, None, "Zorblax"), (21, None, "Zorblax"), (25, None, "Zorblax"),  # in it, at its end
    (20, 22, "Zorblax"),  # part of it selected: the whole word
    (17, 26, "Zorblax"),  # the spaces around it too
    (0, 0, "Hello"), (5, None, "Hello"),
    (38, None, "Dr"),  # the full stop is not part of the word
    (48, None, "Don't"), (62, None, "well-known"),  # apostrophes and hyphens inside a word
    (6, None, None),  # "!|": no word there
    (18, 31, None),  # two words selected
])
def test_word_at(start, end, word):
    span = word_at(TEXT, start, end)
    assert (span.word if span else None) == word
    if span:
        assert TEXT[span.start:span.end] == span.word


def test_sentence_around_follows_the_synthesizers_split():
    assert sentence_around(TEXT, word_at(TEXT, 20)) == "Please ask Zorblax about it, Dr. Smith."
    assert sentence_around(TEXT, word_at(TEXT, 43)) == "Please ask Zorblax about it, Dr. Smith."
    assert sentence_around(TEXT, word_at(TEXT, 2)) == "Hello!"
    assert sentence_around(TEXT, word_at(TEXT, 50)) == "Don't worry (well-known)."
    spaced = "One.\n\n  Two   words  here.  "
    assert sentence_around(spaced, word_at(spaced, spaced.index("words"))) == \
        "Two   words  here."


def test_phonemes_are_those_of_voicestudio_phonemes(config):
    plain = phonemes_of("Zorblax", Lexicon(), config)
    assert plain and "z" in plain
    assert phonemes_of("Zorblax", Lexicon([ZORBLAX]), config) == \
        phonemes_of("zor blocks", Lexicon(), config)
    ipa = LexiconEntry("zorblax", IPA, "kwˈɪmbəl")
    assert phonemes_of("Zorblax", Lexicon([ipa]), config) == "kwˈɪmbəl"
    assert phonemes_of("Hi. Zorblax.", Lexicon([ipa]), config).endswith("kwˈɪmbəl.")


def test_a_draft_is_checked_as_it_is_typed(config):
    base = Lexicon()
    assert check_draft(Draft("Zorblax", SOUNDS, ""), config, base) == check_draft(
        Draft("", SOUNDS, "x"), config, base)
    empty = check_draft(Draft("Zorblax", SOUNDS, "  "), config, base)
    assert not empty.valid and empty.error == ""  # incomplete, not wrong
    good = check_draft(Draft("Zorblax", SOUNDS, "zor  blocks"), config, base)
    assert good.valid and good.entry == ZORBLAX  # spaces folded as the engine stores it
    assert good.phonemes == phonemes_of("zor blocks", base, config)
    ipa = check_draft(Draft("NASA", IPA, "nˈæsə", case_sensitive=True), config, base)
    assert ipa.valid and ipa.entry.case_sensitive and ipa.phonemes == "nˈæsə"


@pytest.mark.parametrize(("draft", "named"), [
    (Draft("Zorblax", IPA, "zˈɔːɹbl@ks"), "'@' (U+0040)"),  # the symbol the voice lacks
    (Draft("two words", SOUNDS, "x"), "is not a word"),
    (Draft("Zorblax", SOUNDS, "!!!"), "nothing to say"),
    (Draft("Zorblax", SOUNDS, "x" * 201), "1 to 200 characters"),
])
def test_a_wrong_draft_says_why(config, draft, named):
    check = check_draft(draft, config, Lexicon())
    assert not check.valid and named in check.error and not check.error[0].islower()


def test_the_candidate_lies_over_the_lexicon_in_use():
    user = LexiconEntry("zorblax", IPA, "kwˈɪm")
    other = LexiconEntry("Nguyen", SOUNDS, "win")
    base = Lexicon([user, other])
    over = candidate_lexicon(base, ZORBLAX)
    assert over.lookup("ZORBLAX") == ZORBLAX and over.lookup("nguyen") == other
    exact = LexiconEntry("Zorblax", SOUNDS, "zor", case_sensitive=True)
    edited = candidate_lexicon(base, exact, replacing=user)  # the edited entry is gone
    assert edited.lookup("Zorblax") == exact and edited.lookup("zorblax") is None
    assert base.lookup("zorblax") == user  # the lexicon in use is untouched


def test_render_candidate_leaves_the_voices_lexicon_alone(joe, synth):
    controls = StyleControls(variability=0.0)
    plain = render_candidate(joe, Lexicon(), "Zorblax.", controls)
    fixed = render_candidate(joe, Lexicon([ZORBLAX]), "Zorblax.", controls)
    respelled = render_candidate(joe, Lexicon(), "zor blocks.", controls)
    assert plain.sample_rate == fixed.sample_rate == 22050
    assert np.array_equal(fixed.samples, respelled.samples)  # no variability: deterministic
    assert not np.array_equal(plain.samples, fixed.samples)
    assert not synth.lexicon


def test_save_edit_and_remove_in_both_files(user_data, project):
    assert scope_unavailable(Scope.PROJECT, None) == NO_PROJECT_REASON
    with pytest.raises(LexiconError, match="Open a project"):
        save_entry(ZORBLAX, Scope.PROJECT, None)
    save_entry(ZORBLAX, Scope.PROJECT, project)
    nasa = LexiconEntry("NASA", SOUNDS, "nassa", case_sensitive=True)
    plain_nasa = LexiconEntry("nasa", SOUNDS, "en ay es ay")
    save_entry(nasa, Scope.USER, None)
    save_entry(plain_nasa, Scope.USER, None)
    data = json.loads((project.folder / "lexicon.json").read_text())
    assert data["entries"] == [{"word": "Zorblax", "kind": "sounds-like", "value": "zor blocks",
                                "case_sensitive": False}]
    assert stored_entry("zorblax", project) == StoredEntry(ZORBLAX, Scope.PROJECT)
    assert stored_entry("NASA", project) == StoredEntry(nasa, Scope.USER)
    assert stored_entry("zorblax", None) is None

    # an edit that moves the entry to the user's file takes it out of the project's
    moved = LexiconEntry("Zorblax", IPA, "zˈɔːɹ", case_sensitive=True)
    save_entry(moved, Scope.USER, project, replacing=StoredEntry(ZORBLAX, Scope.PROJECT))
    assert len(store.load_lexicon(project.folder / "lexicon.json")) == 0
    assert stored_entry("Zorblax", project) == StoredEntry(moved, Scope.USER)
    # removing one row keeps the same word's other-case entry
    assert remove_stored(StoredEntry(nasa, Scope.USER), project)
    assert not remove_stored(StoredEntry(nasa, Scope.USER), project)
    assert stored_entry("NASA", project) == StoredEntry(plain_nasa, Scope.USER)


def test_rows_mark_project_entries_that_override_the_users():
    user = Lexicon([LexiconEntry("Zorblax", SOUNDS, "zor"), LexiconEntry("Nguyen", SOUNDS, "win")])
    project = Lexicon([LexiconEntry("zorblax", IPA, "kwˈɪm")])
    rows = table_rows(user, project)
    assert [row.cells for row in rows] == [
        ("zorblax", "Phonemes (IPA)", "kwˈɪm", "any", "This project (overrides yours)"),
        ("Nguyen", "Sounds like", "win", "any", "All my voices"),
        ("Zorblax", "Sounds like", "zor", "any", "All my voices (the project's wins)"),
    ]
    assert [row.stored.scope for row in rows] == [Scope.PROJECT, Scope.USER, Scope.USER]
    assert [row.cells[0] for row in table_rows(user, None)] == ["Nguyen", "Zorblax"]


def test_import_export_and_a_bad_file_imports_nothing(user_data, project, tmp_path):
    save_entry(ZORBLAX, Scope.USER, None)
    good = tmp_path / "names.tsv"
    good.write_text("word\tkind\tpronunciation\tcase\nNguyen\tsounds-like\twin\tany\n"
                    "NASA\tipa\tnˈæsə\texact\n", encoding="utf-8")
    assert import_tsv(good, Scope.PROJECT, project) == 2
    assert [r.cells[0] for r in lexicon_rows(project)] == ["NASA", "Nguyen", "Zorblax"]
    bad = tmp_path / "bad.tsv"
    bad.write_text("Siobhan\tipa\tʃɪvˈɔːn\nOops\tspelled\tx\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="bad.tsv, line 2"):
        import_tsv(bad, Scope.PROJECT, project)
    assert [r.cells[0] for r in lexicon_rows(project)] == ["NASA", "Nguyen", "Zorblax"]
    with pytest.raises(LexiconError, match="Open a project"):
        import_tsv(good, Scope.PROJECT, None)
    out = tmp_path / "out.tsv"
    assert export_tsv(out, Scope.PROJECT, project) == 2
    assert store.read_tsv(out.read_text(encoding="utf-8"), "out.tsv") == \
        store.read_tsv(good.read_text(encoding="utf-8"), "names.tsv")[::-1]
    with pytest.raises(LexiconError, match="cannot write"):
        export_tsv(tmp_path / "missing" / "x.tsv", Scope.USER, None)


class LexiconView:
    """The least of a SynthesizeView that loading a voice and a lexicon change touch."""

    def __init__(self) -> None:
        self.words = Lexicon()

    def lexicon(self) -> Lexicon:
        return self.words

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: None


def test_an_edited_lexicon_reaches_the_voice_in_use_or_the_one_loading():
    from types import SimpleNamespace

    from voicestudio.gui.controllers.synthesize import Line, SynthesizeController, VoiceKey

    def session():
        return SimpleNamespace(synthesizer=SimpleNamespace(lexicon=Lexicon()))

    view = LexiconView()
    controller = SynthesizeController(view)
    joe, other = VoiceKey("joe", "cpu"), VoiceKey("other", "cpu")
    controller.voice_chosen(Line("", StyleControls(), joe))  # nothing shown: only loaded
    view.words = Lexicon([ZORBLAX])
    controller.lexicon_changed()  # while joe loads: it gets the new words when it arrives
    loaded = session()
    assert controller.voice_loaded(joe, loaded)
    assert loaded.synthesizer.lexicon.lookup("zorblax") == ZORBLAX
    view.words = Lexicon()
    controller.lexicon_changed()  # the voice in use
    assert not loaded.synthesizer.lexicon
    # nothing edited while this one loads: it keeps its own
    controller.voice_chosen(Line("", StyleControls(), other))
    fresh = session()
    fresh.synthesizer.lexicon = Lexicon([ZORBLAX])
    assert controller.voice_loaded(other, fresh)
    assert fresh.synthesizer.lexicon.lookup("zorblax") == ZORBLAX
