"""Dubbing: a script or subtitles in, a timed, loudness-normalized track and stems out.

The pipeline, one module each: :mod:`.script` (read text, CSV/TSV, SRT, WebVTT),
:mod:`.render` (speak each line, cached), :mod:`.timefit` (fit a line to its cue),
:mod:`.mix` and :mod:`.loudness` (timeline, EBU R128), :mod:`.export` (the output folder);
:mod:`.types` holds the records they share.
The CLI's ``dub`` command and the GUI's Dubbing view both call these.
"""

from voicestudio.dubbing.export import DubExport, dub, export_dub, write_dub
from voicestudio.dubbing.mix import DubMix, Placement, mix
from voicestudio.dubbing.render import DubSession
from voicestudio.dubbing.script import (
    DubLine,
    DubScript,
    DubScriptError,
    load_dub_script,
    parse_dub_script,
)
from voicestudio.dubbing.timefit import FitLimits
from voicestudio.dubbing.types import (
    DubRenderError,
    DubSettings,
    DubWarning,
    LineRender,
    LineStatus,
    LineWarning,
    TooLongWarning,
)

__all__ = [
    "DubExport",
    "DubLine",
    "DubMix",
    "DubRenderError",
    "DubScript",
    "DubScriptError",
    "DubSession",
    "DubSettings",
    "DubWarning",
    "FitLimits",
    "LineRender",
    "LineStatus",
    "LineWarning",
    "Placement",
    "TooLongWarning",
    "dub",
    "export_dub",
    "load_dub_script",
    "mix",
    "parse_dub_script",
    "write_dub",
]
