"""Fine-tuning, CI-sized: joe's weights in torch, alignment, a tiny base model, a few
steps on a synthetic speaker, kill -9 and resume, export, cancel, bad data."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="training needs the [train] extra (torch==2.13.0); make test installs it")

from training_data import SENTENCES, TARGET_PITCH_ST, consent_from_another_speaker, make_project  # noqa: E402

from voicestudio.training.alignment import maximum_path  # noqa: E402
from voicestudio.training.base import BasePrepConfig, ensure_base, is_prepared, load_base, load_joe  # noqa: E402

TINY_BASE = BasePrepConfig(texts=8, steps=15, threads=2)
CLI = [sys.executable, "-m", "voicestudio"]


@pytest.fixture(scope="session")
def tiny_base():
    """A base model distilled for a few seconds (the real one takes minutes), shared by the
    session's data folder so the trainer and the CLI subprocesses find it prepared."""
    path = ensure_base(TINY_BASE)
    assert is_prepared(path)
    return path


@pytest.fixture()
def tiny_project(tmp_path, synth):
    return make_project(tmp_path, synth)


# ----------------------------------------------------------------------------- base model
def test_joe_weights_in_torch_match_the_onnx(joe):
    """Every weight of the ONNX voice lands in the right torch parameter: same audio at noise 0."""
    model = load_joe()
    from voicestudio.training.base import joe_phoneme_ids

    ids = joe_phoneme_ids(["The weights of the bundled voice, back in torch."])[0]
    with torch.no_grad():
        expected = model.infer(torch.tensor([ids]), torch.tensor([len(ids)]), noise_scale=0.0,
                               noise_scale_w=0.0)[0]
    got = joe.infer(ids, noise_scale=0.0, noise_w=0.0, length_scale=1.0)
    expected = expected[0, 0].numpy()
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) < 1e-4


def test_base_preparation_is_cached_and_learns(tiny_base):
    before = tiny_base.stat().st_mtime_ns
    ensure_base(TINY_BASE)  # prepared already: not rebuilt
    assert tiny_base.stat().st_mtime_ns == before
    model, meta = load_base(tiny_base)
    # the posterior encoder learned to hear joe (the base voice)
    assert meta["distil_mel_l1"] < meta["distil_mel_l1_start"]
    assert np.isfinite(meta["reference_level_dbfs"])
    assert not model.training


# ----------------------------------------------------------------------------- alignment
def _reference_path(value: np.ndarray) -> np.ndarray:
    """VITS' Cython maximum_path, transcribed literally, as the oracle."""
    t_y, t_x = value.shape
    v = value.astype(np.float64).copy()
    for y in range(t_y):
        for x in range(max(0, t_x + y - t_y), min(t_x, y + 1)):
            cur = -1e9 if x == y else v[y - 1, x]
            prev = (0.0 if y == 0 else -1e9) if x == 0 else v[y - 1, x - 1]
            v[y, x] += max(prev, cur)
    path = np.zeros_like(value)
    index = t_x - 1
    for y in range(t_y - 1, -1, -1):
        path[y, index] = 1
        if index != 0 and (index == y or v[y - 1, index] < v[y - 1, index - 1]):
            index -= 1
    return path


def test_maximum_path_matches_the_reference_algorithm():
    rng = np.random.default_rng(3)
    shapes = [(9, 4), (20, 7), (13, 13)]
    t_y, t_x = max(s[0] for s in shapes), max(s[1] for s in shapes)
    values = np.full((len(shapes), t_y, t_x), 0.0, dtype=np.float32)
    mask = np.zeros_like(values)
    for b, (ny, nx) in enumerate(shapes):
        values[b, :ny, :nx] = rng.normal(size=(ny, nx)) * 3
        mask[b, :ny, :nx] = 1
    path = maximum_path(torch.from_numpy(values), torch.from_numpy(mask)).numpy()
    for b, (ny, nx) in enumerate(shapes):
        expected = _reference_path(values[b, :ny, :nx])
        np.testing.assert_array_equal(path[b, :ny, :nx], expected)
        assert path[b].sum() == ny  # one token per frame, nothing in the padding
        assert np.all(path[b, :ny, :nx].sum(0) >= 1)  # every token gets a frame


# ----------------------------------------------------------------------------- fine-tune CLI
def _state_step(path: Path) -> int:
    from voicestudio.training.checkpoints import CheckpointError, load_state

    try:
        return int(load_state(path)["step"])
    except (CheckpointError, KeyError):
        return -1


def test_train_is_killed_resumes_exports_and_speaks(tiny_base, tiny_project, tmp_path):
    """kill -9 mid-run loses at most one checkpoint interval; resume finishes, exports an ONNX
    that matches torch, registers it, and `say --voice PROJECT` speaks with it."""
    args = ["train", "--project", str(tiny_project.folder), "--steps", "8",
            "--checkpoint-every", "2", "--evaluate-every", "4", "--min-seconds", "10"]
    state = tiny_project.models_dir / "training" / "state.pt"
    proc = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while _state_step(state) < 2:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "no checkpoint within 4 minutes"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = _state_step(state)
    assert killed_at >= 2
    from voicestudio.project.project import VoiceProject

    assert VoiceProject.open(tiny_project.folder).voices == []  # nothing published by a killed run

    done = subprocess.run(CLI + args + ["--resume"], capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = int(done.stdout.split("resumed at step ")[1].split()[0])
    assert resumed >= killed_at and resumed % 2 == 0
    assert "training finished after 8 steps" in done.stdout

    project = VoiceProject.open(tiny_project.folder)
    assert len(project.voices) == 1
    onnx_path = project.folder / project.voices[0].path
    sidecar = json.loads(Path(str(onnx_path) + ".json").read_text())
    assert sidecar["voicestudio"]["provenance"]["export_max_abs_diff"] <= 1e-3
    assert len(sidecar["voicestudio"]["provenance"]["training_data_sha256"]) == 64
    assert sidecar["voicestudio"]["prosody"]["speaker"]["f0_median_hz"] > 0
    statement = project.folder / project.prompts[project.consent_index].chosen_take.file
    record = sidecar["voicestudio"]["consent"]
    assert record["verified"] is True
    assert record["take"] == statement.relative_to(project.folder).as_posix()
    assert record["sha256"] == hashlib.sha256(statement.read_bytes()).hexdigest()

    # the ONNX matches the best checkpoint in torch, independently of the exporter's own check
    from voicestudio.training.base import joe_phoneme_ids
    from voicestudio.training.export import compare_with_torch
    from voicestudio.training.finetune import load_trained

    model, _state = load_trained(project.models_dir / "training" / "best.pt")
    ids = joe_phoneme_ids(["A different sentence than the exporter checked."])[0]
    assert compare_with_torch(model, onnx_path, ids) <= 1e-3

    from piper import PiperVoice

    chunks = PiperVoice.load(str(onnx_path)).synthesize("Hello.")
    piper_audio = np.concatenate([c.audio_float_array for c in chunks])
    assert piper_audio.size > 2000 and np.isfinite(piper_audio).all()

    out = tmp_path / "clone.wav"
    args = ["say", "--voice", str(project.folder), "Hello from the cloned voice.", "-o", str(out)]
    said = subprocess.run(CLI + args, capture_output=True, text=True, timeout=120)
    assert said.returncode == 0, said.stderr
    assert project.voices[0].name in said.stdout
    import soundfile as sf

    audio, rate = sf.read(out)
    assert rate == 22050 and len(audio) > rate  # over a second of speech


# ----------------------------------------------------------------------------- trainer API
def test_cancel_keeps_the_best_so_far(tiny_base, tiny_project):
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.events import Finished, Loss
    from voicestudio.training.finetune import TrainConfig, Trainer

    events = []
    trainer = None

    def on_event(event):
        events.append(event)
        if isinstance(event, Loss) and event.step >= 2:
            trainer.cancel()

    config = TrainConfig(steps=1000, evaluate_every_steps=1, checkpoint_every_steps=50,
                         data=DataConfig(min_seconds=10))
    trainer = Trainer(tiny_project, config, on_event)
    result = trainer.run()
    assert result.cancelled and result.steps < 10
    finished = [e for e in events if isinstance(e, Finished)]
    assert finished and finished[-1].cancelled
    assert result.best_path.is_file() and trainer.state_path.is_file()
    assert result.similarity is not None and 0 < result.similarity <= 1


def test_publishing_is_refused_when_the_consent_take_became_someone_elses(tiny_base, tiny_project):
    from voicestudio.safety.consent import ConsentError
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import TrainConfig, Trainer
    from voicestudio.training.publish import publish

    config = TrainConfig(steps=2, evaluate_every_steps=2, data=DataConfig(min_seconds=10))
    result = Trainer(tiny_project, config).run()
    consent_from_another_speaker(tiny_project)
    with pytest.raises(ConsentError, match="8 takes this voice was trained on do not sound like "
                                           "the person who recorded the consent"):
        publish(tiny_project, result, config)
    assert tiny_project.voices == [] and not (tiny_project.models_dir / "voices").exists()


def test_trainer_runs_in_a_thread_and_reports_progress(tiny_base, tiny_project):
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.events import CheckpointSaved, PreviewReady, Progress, Stage
    from voicestudio.training.finetune import TrainConfig, Trainer

    events = []
    config = TrainConfig(steps=3, evaluate_every_steps=2, checkpoint_every_steps=2,
                         data=DataConfig(min_seconds=10))
    worker = threading.Thread(target=lambda: Trainer(tiny_project, config, events.append).run())
    worker.start()
    worker.join(240)
    assert not worker.is_alive()
    kinds = {type(e) for e in events}
    assert {Stage, Progress, PreviewReady, CheckpointSaved} <= kinds
    progress = [e.fraction for e in events if isinstance(e, Progress)]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    previews = [e for e in events if isinstance(e, PreviewReady)]
    assert all(e.path.is_file() for e in previews)
    # DNSMOS per evaluation
    assert all(e.quality is not None and 1.0 <= e.quality <= 5.0 for e in previews)


def test_a_run_cancelled_before_it_began_trains_and_publishes_nothing(tiny_project):
    from voicestudio.training.control import RunControl
    from voicestudio.training.events import Finished
    from voicestudio.training.finetune import TrainConfig
    from voicestudio.training.job import train_and_publish

    control = RunControl()
    control.cancel()
    events = []
    published = train_and_publish(tiny_project, TrainConfig(steps=2), events.append,
                                  control=control)
    assert published is None and events == [Finished(0, None, True, 0)]
    assert tiny_project.voices == [] and not (tiny_project.models_dir / "training").exists()


def test_the_terminal_report_heads_each_stage_and_notes_what_happened(tmp_path):
    """``voicestudio train``'s face: a heading when a stage begins, progress in the bar,
    notices as notes (by their type, not their words)."""
    import io
    from types import SimpleNamespace

    from voicestudio.cli.train import ProgressBar, TrainReport
    from voicestudio.training import events as ev

    stream = io.StringIO()  # not a terminal: plain lines
    report = TrainReport(ProgressBar(stream), SimpleNamespace(folder=tmp_path))
    for event in [
        ev.Stage(ev.StageKind.CONSENT, 0.0, "checking the speaker's consent statement"),
        ev.ConsentVerified("takes/p0.wav", 0.93, 0.8, 8, 0, "consent take takes/p0.wav: verified"),
        ev.Stage(ev.StageKind.DATA, 1.0, "checked take 8 of 8"),
        ev.DataReady(6, 90.0),
        ev.Resumed(4),
        ev.Loss(5, 2.0, 1.25, 0.5),
        ev.PreviewReady(5, tmp_path / "step-000005.wav", 0.81, 3.1),
        ev.CheckpointSaved(5, tmp_path / "state.pt", False),
        ev.Finished(5, 0.81, False, 6),
        ev.Publishing(ev.PublishStep.EXPORT),
        ev.Failed("disk full"),
    ]:
        report(event)
    lines = stream.getvalue().splitlines()
    assert [line for line in lines if line.startswith("==")] == [
        "== checking consent", "== checking takes", "== training", "== publishing the voice"]
    for expected in ("   consent take takes/p0.wav: verified", "100.0% checked take 8 of 8",
                     "   6 takes, 1.5 min of speech", "   resumed at step 4",
                     "   step 5: preview step-000005.wav, similarity 0.810, quality 3.10",
                     "   checkpoint at step 5",
                     "   training finished after 6 steps; best at step 5",
                     "   exporting the voice to ONNX", "   publishing stopped; the reason follows"):
        assert expected in lines, stream.getvalue()


# ----------------------------------------------------------------------------- bad data
def _collect(project, **limits):
    from voicestudio.training.base import joe_phoneme_ids
    from voicestudio.training.dataset import DataConfig, collect

    return collect(project, joe_phoneme_ids, -24.0, DataConfig(**limits))


def test_bad_takes_are_left_out_with_reasons(tiny_project, synth):
    from voicestudio.audio.io import resample

    project = tiny_project
    rng = np.random.default_rng(0)
    silent = project.add_prompt("This take is only silence.")
    project.add_take(silent, np.zeros(48000, np.float32), 24000, save=False)
    clipped = project.add_prompt("This take is clipped hard.")
    loud = np.concatenate([c.samples for c in synth.synthesize("This take is clipped hard.")]) * 40
    project.add_take(clipped, np.clip(loud, -1, 1), 22050, save=False)
    wrong = project.add_prompt("A transcript that is far, far longer than the few words that "
                               "were actually spoken in the recording, so it cannot belong to it "
                               "at all.")
    spoken = np.concatenate([c.samples for c in synth.synthesize("Hello there, my good friend.")])
    project.add_take(wrong, spoken, 22050, save=False)
    narrow = project.add_prompt("Recorded on an old telephone line.")
    line = "Recorded on an old telephone line."
    speech = np.concatenate([c.samples for c in synth.synthesize(line)])
    project.add_take(narrow, resample(speech, 22050, 8000), 8000, save=False)
    noise = project.add_prompt("Nothing but noise here.")
    project.add_take(noise, rng.normal(0, 0.3, 48000).astype(np.float32), 24000, save=False)
    project.save()

    from voicestudio.training.dataset import ExclusionReason

    data = _collect(project, min_seconds=10)
    by_prompt = {int(Path(e.take).name[1:5]): e for e in data.excluded}
    assert by_prompt[silent].reason is ExclusionReason.FAILED_CHECKS
    assert by_prompt[clipped].reason is ExclusionReason.FAILED_CHECKS
    assert by_prompt[wrong].reason is ExclusionReason.TRANSCRIPT_MISMATCH
    assert by_prompt[narrow].reason is ExclusionReason.LOW_RATE
    assert "8000 Hz" in by_prompt[narrow].detail
    assert noise in by_prompt
    # the good synthetic takes all stay
    assert len(data.train) + len(data.held_out) == len(SENTENCES)
    assert all(len(u.audio) > 0 for u in data.train)


def test_too_little_data_is_refused_before_training(tmp_path, synth, tiny_base):
    from voicestudio.training.dataset import TrainingDataError
    from voicestudio.training.events import Failed
    from voicestudio.training.finetune import TrainConfig, Trainer

    project = make_project(tmp_path, synth, sentences=SENTENCES[:2], name="small")
    events = []
    with pytest.raises(TrainingDataError, match="too little usable audio.*2 takes"):
        Trainer(project, TrainConfig(steps=2), events.append).run()
    assert any(isinstance(e, Failed) for e in events)
    assert not (project.models_dir / "training" / "state.pt").exists()


def test_project_without_takes_gets_a_clear_cli_error(tmp_path, tiny_base):
    from voicestudio.project.project import VoiceProject

    VoiceProject.create("empty", parent=tmp_path, prompts=["One prompt."])
    done = subprocess.run(CLI + ["train", "--project", str(tmp_path / "empty"), "--steps", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "no recorded takes" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args, message",
    [(["train"], "name the project"),
     (["train", "--project", "x", "--steps", "0"], "--steps must be at least 1"),
     (["train", "--project", "x", "--minutes", "-1"], "--minutes must be")],
)
def test_train_command_argument_errors(args, message):
    done = subprocess.run(CLI + args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and message in done.stderr


def test_say_with_a_project_without_voices_explains(tmp_path, tiny_project):
    args = ["say", "--voice", str(tiny_project.folder), "Hi.", "-o", str(tmp_path / "x.wav")]
    done = subprocess.run(CLI + args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no trained voice yet" in done.stderr


# ----------------------------------------------------------------------------- prosody calibration
def test_prosody_calibration_moves_output_to_the_speakers_statistics(synth, tiny_project):
    """The synthetic speaker is joe +5 st with a 1.4x range; calibrating joe to the takes
    brings joe's output F0 median within half a semitone of theirs."""
    import math

    from voicestudio.audio.io import read_audio
    from voicestudio.evaluate.prosody import prosody_stats
    from voicestudio.styling.calibration import ProsodyCalibration, calibrate
    from voicestudio.styling.controls import StyleControls
    from voicestudio.voice.synthesizer import Synthesizer

    # joe's own renders without sampling noise, so the renders measured before and after the
    # calibration differ by the calibration alone (with noise, 1 run in 6 missed by 0.05 st)
    steady = StyleControls(variability=0.0)
    takes = [(read_audio(tiny_project.take_path(p.chosen_take)), p.text)
             for p in tiny_project.prompts[1:]]
    speaker = prosody_stats([(a.samples, a.sample_rate, t) for a, t in takes])
    raw = [(np.concatenate([c.samples for c in synth.synthesize(t, steady)]), synth.sample_rate, t)
           for _a, t in takes]
    voice = prosody_stats(raw)
    shift = 12 * math.log2(speaker.f0_median_hz / voice.f0_median_hz)
    assert shift == pytest.approx(TARGET_PITCH_ST, abs=1.0)
    calibration = calibrate(speaker, voice)
    calibrated = Synthesizer(synth.voice)
    calibrated.calibration = calibration
    out = prosody_stats([(np.concatenate([c.samples for c in calibrated.synthesize(t, steady)]),
                          synth.sample_rate, t) for _a, t in takes])
    assert abs(12 * math.log2(out.f0_median_hz / speaker.f0_median_hz)) < 0.5
    assert out.f0_range_st == pytest.approx(speaker.f0_range_st, rel=0.2)
    assert abs(12 * math.log2(voice.f0_median_hz / speaker.f0_median_hz)) > 4  # it really moved
    # and it survives the sidecar round trip
    again = ProsodyCalibration.from_sidecar({"prosody": calibration.to_dict()})
    assert again.pitch_shift_st == pytest.approx(calibration.pitch_shift_st, abs=1e-3)
    assert ProsodyCalibration.from_sidecar({"prosody": {"pitch_shift_st": "loud"}}).is_identity
