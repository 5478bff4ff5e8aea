"""`voicestudio record`: one prompt recorded headless from a (virtual) microphone into a project."""

from __future__ import annotations

import numpy as np
import pytest
from audio_env import Injector

from voicestudio.audio.io import resample
from voicestudio.cli import main
from voicestudio.project.project import VoiceProject
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent

PROMPTS = [
    fill_consent(CONSENT_TEMPLATE, "Session", "May 1, 2026"),
    "The garden is full of yellow flowers this spring.",
]


@pytest.fixture
def project(tmp_path) -> VoiceProject:
    return VoiceProject.create("Rec", tmp_path, prompts=PROMPTS)


def test_record_saves_a_checked_take_of_the_next_prompt(virtual_audio, project, synth, capsys):
    project.add_take(0, np.full(4800, 0.01, np.float32), 48_000)  # consent done: next is prompt 1
    speech = np.concatenate([c.samples for c in synth.synthesize(PROMPTS[1])])
    # about -12 dBFS speech, like a close mic
    speech = resample(speech, synth.sample_rate, 48_000) * 4.0
    seconds = len(speech) / 48_000 + 1.0
    with Injector("vmic", speech, 48_000, lead_s=0.4):
        rc = main(
            [
                "record",
                "--project",
                str(project.folder),
                "--device",
                "vmic",
                "--seconds",
                f"{seconds:.2f}",
            ]
        )
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "prompt 2 of 2: The garden is full of yellow flowers" in out.err
    reopened = VoiceProject.open(project.folder)
    take = reopened.prompts[1].chosen_take
    assert take is not None and take.sample_rate == 48_000
    assert take.duration_s == pytest.approx(seconds, abs=0.1)
    checks = {c.name: c for c in take.report.checks}
    assert checks["level"].verdict == "pass", checks["level"].message
    assert checks["asr"].verdict == "pass", checks["asr"].message  # it heard the prompt
    assert f"saved {take.file}" in out.out
    assert reopened.position == 2


def test_record_with_a_missing_device_is_one_clear_error(virtual_audio, project, capsys):
    rc = main(
        [
            "record",
            "--project",
            str(project.folder),
            "--device",
            "no-such-microphone",
            "--seconds",
            "1",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        rc == 1
        and len(err) == 1
        and err[0].startswith("voicestudio: error:")
        and "no-such-microphone" in err[0]
    )
    assert VoiceProject.open(project.folder).summary().takes == 0


def test_record_refuses_when_everything_is_recorded(project, capsys):
    for i in range(len(PROMPTS)):
        project.add_take(i, np.full(4800, 0.01, np.float32), 48_000)
    assert main(["record", "--project", str(project.folder)]) == 1
    assert "every prompt has a take already" in capsys.readouterr().err
