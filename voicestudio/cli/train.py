"""``voicestudio train`` (moving here from train_cli)."""

from voicestudio.train_cli import add_parser, run

__all__ = ["add_parser", "run"]
