"""The consent gate: the consent take must be the voice of the training takes before a
voice is trained or exported. The "speaker" is joe pitched up (tests/training_data.py);
another speaker is the CMU Arctic clip pysptk ships, so these run in CI; the real
corpus adds pmatthes/ljspeech swaps when ../shared is there."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from training_data import (  # noqa: E402
    OTHER_SPEAKER_WAV,
    SPEAKER_RATE,
    consent_from_another_speaker,
    make_project,
    speaker_reads,
)

from voicestudio.audio.io import read_audio, resample, write_audio  # noqa: E402
from voicestudio.audio.take_report import CheckResult, TakeReport  # noqa: E402
from voicestudio.constants import MODEL_RATE  # noqa: E402
from voicestudio.project import selection  # noqa: E402
from voicestudio.project.project import VoiceProject  # noqa: E402
from voicestudio.safety import consent, statement_file  # noqa: E402
from voicestudio.safety.consent import ConsentError  # noqa: E402
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent  # noqa: E402
from voicestudio.training.dataset import TrainingData, Utterance  # noqa: E402

CLI = [sys.executable, "-m", "voicestudio"]
SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"


@pytest.fixture()
def project(tmp_path, synth):
    return make_project(tmp_path, synth)


def test_the_speakers_own_consent_is_verified_and_hashed(project):
    check = consent.require_consent(project)
    assert check.verified and check.similarity >= consent.THRESHOLD
    assert check.reference_takes == len(project.prompts) - 1  # every take but the statement
    path = project.folder / check.take
    assert check.take == project.prompts[0].chosen_take.file
    assert check.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    record = check.to_dict()
    assert record["verified"] is True and record["sha256"] == check.sha256 and json.dumps(record)


def test_consent_from_another_speaker_is_refused_with_the_reason(project):
    consent_from_another_speaker(project)
    check = consent.check_consent(project)
    assert not check.verified and check.similarity < consent.THRESHOLD
    with pytest.raises(ConsentError, match="do not sound like the same person") as error:
        consent.require_consent(project)
    assert f"similarity {check.similarity:.2f}" in str(error.value)
    assert error.value.remedy is not None and error.value.remedy.again  # record it again
    done = subprocess.run(
        CLI + ["project", "consent", str(project.folder)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1 and "NOT verified" in done.stdout
    assert (
        "training and export are refused: the consent statement" in done.stderr
        and "Traceback" not in done.stderr
    )
    # the terminal's words for the remedy
    assert "record the consent statement again" in done.stderr


def test_no_consent_take_or_no_takes_is_refused(tmp_path, synth):
    statement = fill_consent(CONSENT_TEMPLATE, "Unrecorded", datetime.date(2026, 11, 29))
    unrecorded = VoiceProject.create("Unrecorded", tmp_path, prompts=[statement, "One line."])
    audio = np.concatenate([c.samples for c in synth.synthesize("One line.")])
    unrecorded.add_take(1, audio, synth.sample_rate)
    with pytest.raises(ConsentError, match="has none yet") as refused:
        consent.check_consent(unrecorded)
    assert refused.value.remedy.index == 0 and not refused.value.remedy.again
    alone = VoiceProject.create("Alone", tmp_path, prompts=[statement, "One line."])
    alone.add_take(0, audio, synth.sample_rate)
    with pytest.raises(ConsentError, match="no recorded takes to train on"):
        consent.check_consent(alone)
    own_words = VoiceProject.create(
        "Own words", tmp_path, prompts=["I consent to this voice.", "One line."]
    )
    own_words.add_take(0, audio, synth.sample_rate)
    own_words.add_take(1, audio, synth.sample_rate)
    # the wording is fixed
    with pytest.raises(ConsentError, match="no consent statement among its prompts"):
        consent.check_consent(own_words)


def test_a_consent_take_too_short_reading_something_else_or_copied_is_refused(project, synth):
    clip = np.concatenate([c.samples for c in synth.synthesize("Yes.")])
    read_well = TakeReport(asr_text=project.prompts[0].text)  # as if heard right
    project.add_take(0, clip, synth.sample_rate, report=read_well)
    with pytest.raises(ConsentError, match=r"s of speech, too little to recognise a voice"):
        consent.check_consent(project)
    # no reading check on record: the recognizer runs now
    project.add_take(0, clip, synth.sample_rate)
    with pytest.raises(ConsentError, match="does not read the consent statement"):
        consent.check_consent(project)
    copied = read_audio(project.folder / project.prompts[3].chosen_take.file)
    project.add_take(0, copied.samples, copied.sample_rate, report=read_well, subtype="float")
    Path(project.folder / project.prompts[0].chosen_take.file).write_bytes(
        (project.folder / project.prompts[3].chosen_take.file).read_bytes())
    with pytest.raises(ConsentError, match="is the same recording as the take takes/p0003_t01.wav"):
        consent.check_consent(project)
    failed = TakeReport([CheckResult("clipping", "fail", "Hard clipping.")])
    project.add_take(0, clip, synth.sample_rate, report=failed)
    with pytest.raises(ConsentError, match=r"failed its checks \(Hard clipping.\)"):
        consent.check_consent(project)
    statement = np.concatenate(
        [c.samples for c in synth.synthesize("The birch canoe slid on the smooth planks again.")]
    )
    misread = TakeReport([CheckResult("asr", "warn", "The reading does not match.", 0.9)],
                         asr_text="the birch canoe slid")
    project.add_take(0, statement, synth.sample_rate, report=misread)
    with pytest.raises(
        ConsentError, match="does not read the consent statement .*the birch canoe slid"
    ):
        consent.check_consent(project)


def test_a_project_without_a_statement_gets_one_from_a_file(tmp_path, synth, project):
    """An imported corpus has no statement prompt: `project consent P --file` adds it."""
    imported = VoiceProject.create(
        "Imported", tmp_path, prompts=[p.text for p in project.prompts[1:]], consent_index=None
    )
    for i, prompt in enumerate(project.prompts[1:]):
        take = read_audio(project.folder / prompt.chosen_take.file)
        imported.add_take(i, take.samples, take.sample_rate, save=False)
    imported.save()
    with pytest.raises(ConsentError, match="no consent statement among its prompts") as refused:
        consent.check_consent(imported)
    remedy = refused.value.remedy  # the rule says what to do; each front end words it
    assert remedy.index is None and remedy.statement == selection.statement_for(imported)
    done = subprocess.run(
        CLI + ["project", "consent", str(imported.folder)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1 and re.search(
        "no consent statement among its prompts.*reading “I, the speaker, consent to VoiceStudio "
        ".*Imported on .*voicestudio project consent .*Imported --file STATEMENT.wav",
        done.stderr,
    ), done.stderr
    statement = tmp_path / "statement.wav"
    write_audio(statement, speaker_reads(synth, selection.statement_for(imported)), SPEAKER_RATE)

    done = subprocess.run(
        CLI + ["project", "consent", str(imported.folder), "--file", str(statement)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "statement: I, the speaker, consent to VoiceStudio" in done.stdout
        and ": verified" in done.stdout
    )
    again = VoiceProject.open(imported.folder)
    assert (
        again.consent_index == len(again.prompts) - 1 and again.prompts[-1].chosen_take is not None
    )
    assert again.prompts[-1].chosen_take.report is not None  # the take checks ran on it
    assert consent.require_consent(again).verified

    other = tmp_path / "other.wav"
    shutil.copy(OTHER_SPEAKER_WAV, other)
    done = subprocess.run(CLI + ["project", "consent", str(imported.folder), "--file", str(other)],
                          capture_output=True, text=True, timeout=180)
    # it reads another text
    assert done.returncode == 1 and "does not read the consent statement" in done.stderr
    assert "nothing was stored" in done.stderr
    assert "Traceback" not in done.stderr
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00")
    done = subprocess.run(CLI + ["project", "consent", str(imported.folder), "--file", str(broken)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode != 0 and "broken.wav" in done.stderr and "Traceback" not in done.stderr
    # refused files are not stored
    assert len(VoiceProject.open(imported.folder).prompts[-1].takes) == 1


def _utterances(project: VoiceProject, foreign_names: list[str]) -> TrainingData:
    """The project's takes as training data, plus the other speaker's clip under each name."""

    own = []
    for prompt in project.prompts[1:]:
        take = read_audio(project.folder / prompt.chosen_take.file)
        own.append(
            Utterance(
                prompt.chosen_take.file,
                prompt.text,
                [1, 2],
                resample(take.samples, take.sample_rate, MODEL_RATE),
            )
        )
    other = read_audio(OTHER_SPEAKER_WAV)
    for name in foreign_names:  # the screen compares take files, as training reads them
        shutil.copy(OTHER_SPEAKER_WAV, project.folder / name)
    foreign = [
        Utterance(name, "text", [1, 2], resample(other.samples, other.sample_rate, MODEL_RATE))
        for name in foreign_names
    ]
    return TrainingData(train=own[:-1] + foreign, held_out=own[-1:])


def test_takes_of_someone_else_are_left_out_and_a_project_of_mostly_others_is_refused(project):
    """Every take that will be trained on is compared with the statement, so another
    speaker's takes cannot ride along with a real statement."""
    data = _utterances(project, ["takes/intruder1.wav", "takes/intruder2.wav"])
    screen = consent.ConsentScreen(project)
    reasons = {f.take: f.describe() for f in screen(data.train + data.held_out)}
    assert sorted(reasons) == ["takes/intruder1.wav", "takes/intruder2.wav"]
    assert (
        "does not sound like the person who recorded the consent statement"
        in reasons["takes/intruder1.wav"]
    )
    check = screen.check
    assert check.verified and check.left_out == ("takes/intruder1.wav", "takes/intruder2.wav")
    assert check.to_dict()["left_out"] == ["takes/intruder1.wav", "takes/intruder2.wav"]
    assert 0 < check.foreign_share < 0.5

    crowd = _utterances(project, [f"takes/other{i}.wav" for i in range(12)])
    with pytest.raises(
        ConsentError, match=r"12 of 20 takes \(\d+ % of the speech\) do not sound like the person"
    ):
        screen(crowd.train + crowd.held_out)


def test_collect_applies_its_minimums_after_the_screen(project):
    """Takes the screen removes no longer count toward the data minimums or the held-out set."""
    from voicestudio.training.base import joe_phoneme_ids
    from voicestudio.training.dataset import DataConfig, TrainingDataError, collect

    config = DataConfig(min_takes=6, min_seconds=1.0)
    assert len(collect(project, joe_phoneme_ids, -24.0, config).train) >= 4
    drop = lambda kept: [consent.ForeignTake(u.name, 0.1) for u in kept[:4]]  # noqa: E731
    with pytest.raises(TrainingDataError, match="too little usable audio.*4 takes were left out"):
        collect(project, joe_phoneme_ids, -24.0, config, screen=drop)


def test_training_is_refused_before_anything_is_prepared(project):
    from voicestudio.training.events import Failed, Stage, StageKind
    from voicestudio.training.finetune import TrainConfig, Trainer

    consent_from_another_speaker(project)
    events = []
    with pytest.raises(ConsentError, match="do not sound like the same person"):
        Trainer(project, TrainConfig(steps=2), events.append).run()
    assert any(isinstance(e, Failed) and "same person" in e.message for e in events)
    prepared = (StageKind.BASE, StageKind.DATA)
    assert not any(isinstance(e, Stage) and e.kind in prepared for e in events)
    assert not (project.models_dir / "training").exists() and project.voices == []

    done = subprocess.run(CLI + ["train", "--project", str(project.folder), "--steps", "1"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 1 and "do not sound like the same person" in done.stderr, (
        done.stdout + done.stderr
    )
    assert "Traceback" not in done.stderr


def _clone_voice(folder: Path, record: dict | None) -> Path:
    """A voice folder that says it was trained by VoiceStudio (joe's weights, a clone's sidecar)."""
    from voicestudio.voice.catalog import bundled_voice

    joe = bundled_voice()
    folder.mkdir(parents=True)
    shutil.copy(joe.model_path, folder / "clone.onnx")
    sidecar = json.loads(joe.config_path.read_text())
    sidecar["voicestudio"] = {"provenance": {"project": "p", "training_data_sha256": "0" * 64}}
    if record is not None:
        sidecar["voicestudio"][consent.SIDECAR_KEY] = record
    (folder / "clone.onnx.json").write_text(json.dumps(sidecar))
    return folder / "clone.onnx"


def test_a_clone_without_a_verified_consent_record_cannot_be_exported(tmp_path):
    from voicestudio.voice.bundle import export_bundle

    for name, record in [("none", None), ("unverified", {"sha256": "a" * 64, "verified": False})]:
        onnx = _clone_voice(tmp_path / name, record)
        with pytest.raises(ConsentError, match="without a verified consent take"):
            export_bundle(str(onnx), tmp_path / f"{name}.vsvoice", preview_text=None)
        assert not list(tmp_path.glob(f"*{name}.vsvoice*"))
    onnx = _clone_voice(tmp_path / "ok", {"sha256": "a" * 64, "verified": True})
    info = export_bundle(str(onnx), tmp_path / "ok.vsvoice", preview_text=None)
    assert info.path.is_file()
    done = subprocess.run(
        CLI
        + [
            "voices",
            "--export",
            str(tmp_path / "none" / "clone.onnx"),
            "-o",
            str(tmp_path / "cli.vsvoice"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "without a verified consent take" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "cli.vsvoice").exists()


@pytest.mark.skipif(not (SPEECH / "pmatthes" / "manifest.tsv").is_file(),
                    reason=f"needs the real speech corpus at {SPEECH}")
def test_real_speakers_consent_is_verified_and_a_swap_is_refused(tmp_path):
    rows = {
        s: [
            line.split("\t")[0]
            for line in (SPEECH / s / "manifest.tsv").read_text().splitlines()[1:]
        ]
        for s in ("pmatthes", "ljspeech")
    }
    results = {}
    for owner, reader in [
        ("pmatthes", "pmatthes"),
        ("pmatthes", "ljspeech"),
        ("ljspeech", "ljspeech"),
        ("ljspeech", "pmatthes"),
    ]:
        files = rows[owner][1:13]
        statement = fill_consent(CONSENT_TEMPLATE, f"{owner}-{reader}", datetime.date(2026, 11, 29))
        p = VoiceProject.create(
            f"{owner}-{reader}", tmp_path, prompts=[statement] + [f"line {i}" for i in files]
        )
        # a corpus clip stands in for the statement:
        clip = read_audio(SPEECH / reader / rows[reader][0])
        p.add_take(0, clip.samples, clip.sample_rate, save=False,  # its reading is taken as right
                   report=TakeReport(asr_text=statement))
        for i, f in enumerate(files, start=1):
            take = read_audio(SPEECH / owner / f)
            p.add_take(i, take.samples, take.sample_rate, save=False)
        p.save()
        results[(owner, reader)] = consent.check_consent(p).verified
    assert results == {("pmatthes", "pmatthes"): True, ("pmatthes", "ljspeech"): False,
                       ("ljspeech", "ljspeech"): True, ("ljspeech", "pmatthes"): False}


def test_a_statement_at_an_odd_sample_rate_still_checks(tmp_path, synth):
    """A statement saved at an odd rate still checks (the encoder resamples to 16 kHz)."""
    project = make_project(tmp_path, synth, name="odd")
    take = read_audio(project.folder / project.prompts[0].chosen_take.file)
    odd = tmp_path / "odd.wav"
    write_audio(odd, resample(take.samples, take.sample_rate, 11025), 11025)
    statement_file.add_consent_recording(project, odd, asr=False)
    assert project.prompts[0].chosen_take.sample_rate == 11025
    assert consent.require_consent(project).verified
