"""``voicestudio lexicon``: how words are said (add, list, remove, import, export)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub) -> None:
    lex = sub.add_parser(
        "lexicon", help="how words are said: your pronunciations and a project's",
        description="Entries map a word to a respelling (--sounds-like) or to phonemes in the "
                    "voice's alphabet (--ipa, espeak IPA). Your lexicon applies to every voice; "
                    "a project's (--project) applies when speaking for it and wins a shared "
                    "word. Every command that speaks uses them.")
    lsub = lex.add_subparsers(dest="lexicon_command", metavar="ACTION", required=True)
    add = lsub.add_parser("add", help="add or replace the entry for a word")
    add.add_argument("word")
    how = add.add_mutually_exclusive_group(required=True)
    how.add_argument("--sounds-like", metavar="TEXT", help="a respelling, e.g. win for Nguyen")
    how.add_argument("--ipa", metavar="PHONEMES", help="phonemes, e.g. nˈuːjɛn")
    add.add_argument("--exact", action="store_true",
                     help="match this spelling only (an acronym), not any case")
    add.add_argument("--voice", metavar="PATH|NAME",
                     help="check --ipa against this voice's phonemes (default: the base voice)")
    rm = lsub.add_parser("remove", help="remove the entries for a word")
    rm.add_argument("word")
    lsub.add_parser("list", help="print the entries")
    imp = lsub.add_parser("import", help="add the entries of a TSV file")
    imp.add_argument("file", type=Path, metavar="FILE.tsv")
    exp = lsub.add_parser("export", help="write the entries to a TSV file")
    exp.add_argument("file", type=Path, metavar="FILE.tsv")
    for p in (add, rm, imp, exp, lsub.choices["list"]):
        p.add_argument("--project", metavar="P",
                       help="the project's lexicon instead of yours (folder or name)")


def run(args: argparse.Namespace) -> int:
    from voicestudio.project import lexicon_store as store

    path = store.lexicon_path(*_scope(args))
    action = args.lexicon_command
    if action == "add":
        return _add(args, path)
    if action == "remove":
        found = store.remove_entry(path, args.word)
        print(f"removed {args.word!r} from {path}" if found else f"{args.word!r} is not in {path}")
        return 0 if found else 1
    if action == "import":
        return _import(args.file, path)
    lexicon = store.load_lexicon(path)
    if action == "export":
        args.file.write_text(store.write_tsv(lexicon), encoding="utf-8")
        print(f"wrote {len(lexicon)} {'entry' if len(lexicon) == 1 else 'entries'} to {args.file}")
        return 0
    for entry in lexicon.entries:
        exact = " (exact case)" if entry.case_sensitive else ""
        print(f"{entry.word}\t{entry.kind.value}\t{entry.value}{exact}")
    if not lexicon:
        print(f"no entries in {path}", file=sys.stderr)
    return 0


def _scope(args: argparse.Namespace):
    from voicestudio.project.lexicon_store import Scope
    from voicestudio.project.project import VoiceProject

    if args.project:
        return Scope.PROJECT, VoiceProject.open(args.project)
    return Scope.USER, None


def _add(args: argparse.Namespace, path: Path) -> int:
    from voicestudio.project import lexicon_store as store
    from voicestudio.text.lexicon import LexiconEntry, Pronunciation
    from voicestudio.voice.catalog import resolve_voice
    from voicestudio.voice.model import VoiceConfig

    kind = Pronunciation.PHONEMES if args.ipa is not None else Pronunciation.SOUNDS_LIKE
    entry = LexiconEntry(args.word, kind, args.ipa or args.sounds_like, args.exact).checked()
    config = VoiceConfig.from_file(resolve_voice(args.voice).config_path)
    entry.check_symbols(config.phoneme_id_map)  # an unknown symbol: refused, named
    store.add_entry(path, entry)
    print(f"{entry.word} → {entry.value} ({kind.value}) in {path}")
    return 0


def _import(file: Path, path: Path) -> int:
    from voicestudio.project import lexicon_store as store

    count = store.import_tsv(path, file)  # every line checked before anything is stored
    print(f"imported {count} {'entry' if count == 1 else 'entries'} into {path}")
    return 0
