"""``voicestudio phonemes``: the phonemes a text becomes for a voice, lexicon applied."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    ph = sub.add_parser("phonemes", help="show the phonemes a text becomes (lexicon applied)")
    ph.add_argument("text")
    ph.add_argument("--voice", metavar="PATH|NAME", help="voice (default: the base voice)")
    ph.add_argument("--project", metavar="P", help="apply this project's lexicon too")


def run(args: argparse.Namespace) -> int:
    from voicestudio.project import lexicon_store as store
    from voicestudio.project.project import VoiceProject
    from voicestudio.text.lexicon import phonemize_with
    from voicestudio.text.normalize import split_sentences
    from voicestudio.voice.catalog import resolve_voice
    from voicestudio.voice.model import VoiceConfig, text_phonemes

    config = VoiceConfig.from_file(resolve_voice(args.voice).config_path)
    project = VoiceProject.open(args.project) if args.project else None
    lexicon = store.lexicon_for(project)
    for sentence in split_sentences(args.text):
        phonemes = phonemize_with(lexicon, sentence, lambda t: text_phonemes(t, config),
                                  config.phoneme_id_map)
        print("".join(phonemes))
    return 0
