"""The styling options that ``say`` and ``dub`` share: the same names, ranges and help."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voicestudio.styling.controls import StyleControls


def add_style_options(p: argparse.ArgumentParser) -> None:
    from voicestudio.styling.controls import CONTROL_SPECS, emotion_presets

    def spec(name: str) -> str:
        s = CONTROL_SPECS[name]
        return f"{s.low:g}..{s.high:g}, default {s.default:g}"

    g = p.add_argument_group("styling")
    g.add_argument(
        "--pitch",
        type=float,
        default=0.0,
        metavar="ST",
        help=f"pitch shift in semitones ({spec('pitch')})",
    )
    g.add_argument("--range", dest="pitch_range", type=float, default=1.0, metavar="X",
                   help=f"pitch range factor ({spec('pitch_range')})")
    g.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help=f"tempo, pitch kept ({spec('speed')})"
    )
    g.add_argument(
        "--energy",
        type=float,
        default=0.0,
        metavar="DB",
        help=f"level change in dB ({spec('energy')})",
    )
    g.add_argument(
        "--breathiness",
        type=float,
        default=0.0,
        metavar="X",
        help=f"breathy voice ({spec('breathiness')})",
    )
    g.add_argument(
        "--variability",
        type=float,
        default=1.0,
        metavar="X",
        help=f"randomness of the voice model, 0 = same every time ({spec('variability')})",
    )
    g.add_argument(
        "--emotion",
        default="neutral",
        metavar="NAME",
        help=f"one of: {', '.join(emotion_presets())}",
    )
    g.add_argument(
        "--intensity",
        type=float,
        default=100.0,
        metavar="PCT",
        help=f"emotion strength in %% ({spec('intensity')})",
    )


def style_controls(args: argparse.Namespace) -> StyleControls:
    """The styling options of ``args`` as validated controls (a bad value: ControlRangeError)."""
    from voicestudio.styling.controls import StyleControls

    return StyleControls(
        pitch=args.pitch, pitch_range=args.pitch_range, speed=args.speed, energy=args.energy,
        breathiness=args.breathiness, variability=args.variability, emotion=args.emotion,
        intensity=args.intensity,
    ).validated()
