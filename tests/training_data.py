"""A tiny synthetic voice project for training tests (CI has no real speech corpus).

The "speaker" is joe pitched up and with a wider range, so a fine-tune or a prosody
calibration has a known target to move toward.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from voicestudio.audio.take_report import CheckResult, TakeReport
from voicestudio.project.project import VoiceProject
from voicestudio.styling.controls import StyleControls
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent

#: Another speaker for consent tests: the CMU Arctic clip pysptk (a dependency) ships.
OTHER_SPEAKER_WAV = (
    Path(__import__("pysptk").__file__).parent / "example_audio_data" / "arctic_a0007.wav"
)

TARGET_PITCH_ST = 5.0
TARGET_RANGE = 1.4

SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "Four hours of steady work faced us.",
]


def make_project(
    folder: Path, synth, sentences: list[str] | None = None, name: str = "tiny"
) -> VoiceProject:
    """A project whose takes are the target "speaker" reading ``sentences`` (at 24 kHz,
    so resampling is exercised). The consent prompt gets a take too; it is not trained on."""
    sentences = sentences or SENTENCES
    statement = fill_consent(CONSENT_TEMPLATE, name, datetime.date(2026, 11, 29))
    project = VoiceProject.create(name, parent=folder, prompts=[statement] + sentences)
    for index, text in enumerate([project.prompts[0].text] + sentences):
        project.add_take(
            index, speaker_reads(synth, text), SPEAKER_RATE, source="import:synthetic", save=False
        )
    project.save()
    return project


SPEAKER_RATE = 24_000


def speaker_reads(synth, text: str):
    """The target "speaker" reading ``text``, at :data:`SPEAKER_RATE`."""
    import numpy as np

    from voicestudio.audio.io import resample

    controls = StyleControls(pitch=TARGET_PITCH_ST, pitch_range=TARGET_RANGE, variability=0.5)
    audio = np.concatenate([c.samples for c in synth.synthesize(text, controls)])
    return resample(audio, synth.sample_rate, SPEAKER_RATE)


def consent_from_another_speaker(project: VoiceProject) -> None:
    """Someone else "reads the statement": a newer take on the consent prompt. No second voice
    here reads it, so the Arctic clip stands in, with a take report saying the recognizer
    heard the statement; what is tested is the speaker check that follows."""
    from voicestudio.audio.io import read_audio

    audio = read_audio(OTHER_SPEAKER_WAV)
    heard = project.prompts[project.consent_index].text
    project.add_take(project.consent_index, audio.samples, audio.sample_rate,
                     report=TakeReport(asr_text=heard))


def verdict_report(verdict: str) -> TakeReport:
    """A take report whose one check gave ``verdict`` (pass, warn or fail)."""
    return TakeReport([CheckResult("level", verdict, f"Level check: {verdict}.")])
