"""Pronunciation lexicon (issue 17, item 1): entries change what a made-up word becomes, in
phonemes and in the audio of the bundled voice, and nothing else; the project's lexicon wins
over the user's; a phoneme the voice lacks is refused with its name; the files are versioned
JSON and TSV, and bad ones are refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from voicestudio.cli import main
from voicestudio.project import lexicon_store as store
from voicestudio.project.lexicon_store import Scope
from voicestudio.project.project import VoiceProject
from voicestudio.styling.controls import StyleControls
from voicestudio.text.lexicon import (
    Lexicon,
    LexiconEntry,
    LexiconError,
    Pronunciation,
    phonemize_with,
)
from voicestudio.voice.model import text_phonemes
from voicestudio.voice.preview import PreviewSession
from voicestudio.voice.synthesizer import Synthesizer

WORD = "Zorbleflax"  # made up: espeak spells it out its own way
IPA = "kwˈɪmbəlɹˌoʊ"  # nothing like it
STEADY = StyleControls(variability=0.0)


@pytest.fixture
def user_data(tmp_path, monkeypatch) -> Path:
    """A fresh user data folder, so the user's lexicon starts empty for each test."""
    folder = tmp_path / "data"
    monkeypatch.setenv("VOICESTUDIO_DATA_DIR", str(folder))
    return folder


def phonemes(lexicon: Lexicon, text: str, joe) -> str:
    config = joe.config
    return "".join(phonemize_with(lexicon, text, lambda t: text_phonemes(t, config),
                                  config.phoneme_id_map))


def spoken(synth: Synthesizer, text: str) -> list[np.ndarray]:
    return [chunk.samples for chunk in synth.synthesize(text, STEADY)]


def test_a_phoneme_entry_changes_that_word_and_only_that_word(joe):
    entry = LexiconEntry(WORD, Pronunciation.PHONEMES, IPA)
    plain, fixed = Lexicon(), Lexicon([entry])
    text = f"Please tell {WORD} to come in, then close the door."
    before, after = phonemes(plain, text, joe), phonemes(fixed, text, joe)
    assert IPA in after and IPA not in before
    head, tail = after.split(IPA)
    assert before.startswith(head) and before.endswith(tail)  # the rest is as it was
    assert IPA in phonemes(fixed, text.lower(), joe)  # any case matches an entry not exact

    # The audio: sentences are spoken one by one, so with the entry only the word's
    # sentence changes, and the others stay sample for sample the same.
    story = f"The meeting starts at nine. {WORD} will open it. Everyone is welcome."
    old = spoken(Synthesizer(joe), story)
    new = spoken(Synthesizer(joe, lexicon=fixed), story)
    assert len(old) == len(new) == 3
    assert np.array_equal(old[0], new[0]) and np.array_equal(old[2], new[2])
    assert len(old[1]) != len(new[1]) or not np.allclose(old[1], new[1], atol=1e-3)


def test_a_respelling_is_read_like_the_respelled_text(joe):
    lexicon = Lexicon([LexiconEntry("Nguyen", Pronunciation.SOUNDS_LIKE, "win")])
    assert phonemes(lexicon, "Ask Nguyen.", joe) == phonemes(Lexicon(), "Ask win.", joe)
    assert phonemes(lexicon, "Ask Nguyenson.", joe) == phonemes(Lexicon(), "Ask Nguyenson.", joe)


def test_an_exact_entry_matches_its_own_spelling_only(joe):
    lexicon = Lexicon([LexiconEntry("US", Pronunciation.SOUNDS_LIKE, "you ess", True)])
    assert phonemes(lexicon, "The US and us.", joe) == phonemes(Lexicon(), "The you ess and us.",
                                                                 joe)


def test_punctuation_after_a_phoneme_entry_is_kept(joe):
    lexicon = Lexicon([LexiconEntry(WORD, Pronunciation.PHONEMES, IPA)])
    said = phonemes(lexicon, f"Well, {WORD}, hello.", joe)
    assert f"{IPA}, " in said and said.endswith(".")


def test_the_project_lexicon_wins_over_the_users(tmp_path, user_data, joe):
    project = VoiceProject.create("Lex", tmp_path, prompts=["One line."], consent_index=None)
    store.add_entry(store.lexicon_path(Scope.USER), LexiconEntry(WORD, Pronunciation.PHONEMES,
                                                                  "bˈæd"))
    store.add_entry(store.lexicon_path(Scope.USER), LexiconEntry("Nguyen",
                                                                  Pronunciation.SOUNDS_LIKE, "win"))
    store.add_entry(store.lexicon_path(Scope.PROJECT, project),
                    LexiconEntry(WORD.lower(), Pronunciation.PHONEMES, IPA))
    assert IPA in phonemes(store.lexicon_for(project), f"Say {WORD}.", joe)
    assert "bˈæd" in phonemes(store.lexicon_for(None), f"Say {WORD}.", joe)
    # the user's other entries still apply in the project
    assert phonemes(store.lexicon_for(project), "Nguyen", joe) == phonemes(Lexicon(), "win", joe)


def test_an_unknown_phoneme_is_refused_with_its_name(user_data, capsys, joe):
    assert main(["lexicon", "add", "robot", "--ipa", "ɹˈoʊbɑt√"]) == 1
    err = capsys.readouterr().err
    assert "'√' (U+221A)" in err and "'robot'" in err
    assert not store.lexicon_path(Scope.USER).exists()  # nothing stored
    # an entry made elsewhere (another voice's alphabet) is refused when it is spoken
    lexicon = Lexicon([LexiconEntry("robot", Pronunciation.PHONEMES, "ɹˈoʊ√")])
    with pytest.raises(LexiconError, match=r"'robot'.*'√'"):
        list(Synthesizer(joe, lexicon=lexicon).sentences("The robot waves."))


def test_the_cli_adds_lists_removes_and_shows_phonemes(user_data, capsys):
    assert main(["phonemes", f"Meet {WORD}."]) == 0
    plain = capsys.readouterr().out.strip()
    assert main(["lexicon", "add", WORD, "--ipa", IPA]) == 0
    assert main(["phonemes", f"Meet {WORD}."]) == 0
    fixed = capsys.readouterr().out.strip().splitlines()[-1]
    assert IPA in fixed and IPA not in plain
    assert main(["lexicon", "list"]) == 0
    assert f"{WORD}\tipa\t{IPA}" in capsys.readouterr().out
    assert main(["lexicon", "remove", WORD.upper()]) == 0
    assert main(["lexicon", "remove", WORD]) == 1  # gone already
    assert main(["phonemes", f"Meet {WORD}."]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == plain


def test_say_speaks_the_word_as_the_lexicon_says(user_data, tmp_path):
    import soundfile as sf

    text = f"{WORD} is here."
    plain, fixed = tmp_path / "plain.wav", tmp_path / "fixed.wav"
    assert main(["say", text, "-o", str(plain), "--variability", "0", "-q"]) == 0
    assert main(["lexicon", "add", WORD, "--ipa", IPA]) == 0
    assert main(["say", text, "-o", str(fixed), "--variability", "0", "-q"]) == 0
    a, b = sf.read(plain)[0], sf.read(fixed)[0]
    assert len(a) != len(b) or not np.allclose(a, b, atol=1e-3)


def test_tsv_round_trip_and_bad_lines(user_data, tmp_path, capsys):
    tsv = tmp_path / "names.tsv"
    tsv.write_text("word\tkind\tpronunciation\tcase\n"
                   f"{WORD}\tipa\t{IPA}\tany\n"
                   "NASA\tsounds-like\tnassa\texact\n", encoding="utf-8")
    assert main(["lexicon", "import", str(tsv)]) == 0
    lexicon = store.load_lexicon(store.lexicon_path(Scope.USER))
    assert [(e.word, e.case_sensitive) for e in lexicon.entries] == [("NASA", True), (WORD, False)]
    out = tmp_path / "out.tsv"
    assert main(["lexicon", "export", str(out)]) == 0
    assert store.read_tsv(out.read_text(encoding="utf-8"), "out") == lexicon.entries

    bad = tmp_path / "bad.tsv"
    bad.write_text(f"{WORD}\tipa\t{IPA}\nrobot\tspelling\trobo\n", encoding="utf-8")
    assert main(["lexicon", "import", str(bad)]) == 1
    assert "bad.tsv, line 2: kind must be sounds-like or ipa" in capsys.readouterr().err
    assert len(store.load_lexicon(store.lexicon_path(Scope.USER))) == 2  # nothing half-imported


def test_damaged_and_newer_lexicon_files_are_refused_with_the_reason(tmp_path):
    path = tmp_path / "lexicon.json"
    path.write_text('{"format": "voicestudio-lexicon", "version": 1, "entries": [', "utf-8")
    with pytest.raises(LexiconError, match="damaged.*line 1"):
        store.load_lexicon(path)
    path.write_text(json.dumps({"format": "voicestudio-lexicon", "version": 9, "entries": []}),
                    "utf-8")
    with pytest.raises(LexiconError, match="newer VoiceStudio"):
        store.load_lexicon(path)
    path.write_text(json.dumps({"format": "voicestudio-lexicon", "version": 1, "entries": [
        {"word": "two words", "kind": "ipa", "value": "x"}]}), "utf-8")
    with pytest.raises(LexiconError, match="entry 1.*not a word"):
        store.load_lexicon(path)


def test_a_changed_lexicon_is_a_new_preview(joe):
    synth = Synthesizer(joe)
    session = PreviewSession(synth)
    session.prepare(f"Hi {WORD}.", 0.0)
    session.prepare(f"Hi {WORD}.", 0.0)
    assert session.model_runs == 1
    synth.lexicon = Lexicon([LexiconEntry(WORD, Pronunciation.PHONEMES, IPA)])
    session.prepare(f"Hi {WORD}.", 0.0)
    assert session.model_runs == 2  # not the cached line of the old pronunciation


def test_the_dub_cache_and_the_apps_voices_follow_the_lexicon(tmp_path, user_data, joe, ctx):
    """A dub line rendered before an entry was added is not taken from the cache after; the
    app's voices say words as the user's and the open project's lexicons say."""
    from voicestudio.dubbing import DubSession, parse_dub_script

    script = parse_dub_script(f"{WORD} speaks.", "text", "lines.txt")
    plain = Synthesizer(joe)
    fixed = Synthesizer(joe, lexicon=Lexicon([LexiconEntry(WORD, Pronunciation.PHONEMES, IPA)]))
    session = DubSession(script, synthesizer=plain, cache_dir=tmp_path / "cache")
    controls = StyleControls()
    assert session.cache_key(WORD, plain, controls) != session.cache_key(WORD, fixed, controls)

    project = VoiceProject.create("App", tmp_path, prompts=["One line."], consent_index=None)
    store.add_entry(store.lexicon_path(Scope.PROJECT, project),
                    LexiconEntry(WORD, Pronunciation.PHONEMES, IPA))
    assert not ctx.synthesizer().lexicon  # no project open, nothing in the user's lexicon
    ctx.set_project(project)
    assert ctx.synthesizer().lexicon.lookup(WORD).value == IPA
