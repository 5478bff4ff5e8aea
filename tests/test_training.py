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
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the [train] extra (torch==2.13.0); make test installs it")

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
        expected = model.infer(torch.tensor([ids]), torch.tensor([len(ids)]), noise_scale=0.0, noise_scale_w=0.0)[0]
    got = joe.infer(ids, noise_scale=0.0, noise_w=0.0, length_scale=1.0)
    expected = expected[0, 0].numpy()
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) < 1e-4


def test_base_preparation_is_cached_and_learns(tiny_base):
    before = tiny_base.stat().st_mtime_ns
    ensure_base(TINY_BASE)  # prepared already: not rebuilt
    assert tiny_base.stat().st_mtime_ns == before
    model, meta = load_base(tiny_base)
    assert meta["distil_mel_l1"] < meta["distil_mel_l1_start"]  # the posterior encoder learned to hear joe
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
    args = ["train", "--project", str(tiny_project.folder), "--steps", "8", "--checkpoint-every", "2",
            "--evaluate-every", "4", "--min-seconds", "10"]
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
    assert record["verified"] is True and record["take"] == statement.relative_to(project.folder).as_posix()
    assert record["sha256"] == hashlib.sha256(statement.read_bytes()).hexdigest()

    # the ONNX matches the best checkpoint in torch, independently of the exporter's own check
    from voicestudio.training.base import joe_phoneme_ids
    from voicestudio.training.export import compare_with_torch
    from voicestudio.training.finetune import load_trained

    model, _state = load_trained(project.models_dir / "training" / "best.pt")
    ids = joe_phoneme_ids(["A different sentence than the exporter checked."])[0]
    assert compare_with_torch(model, onnx_path, ids) <= 1e-3

    from piper import PiperVoice

    piper_audio = np.concatenate([c.audio_float_array for c in PiperVoice.load(str(onnx_path)).synthesize("Hello.")])
    assert piper_audio.size > 2000 and np.isfinite(piper_audio).all()

    out = tmp_path / "clone.wav"
    said = subprocess.run(CLI + ["say", "--voice", str(project.folder), "Hello from the cloned voice.", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert said.returncode == 0, said.stderr
    assert project.voices[0].name in said.stdout
    import soundfile as sf

    audio, rate = sf.read(out)
    assert rate == 22050 and len(audio) > rate  # over a second of speech


# ----------------------------------------------------------------------------- trainer API
def test_cancel_keeps_the_best_so_far(tiny_base, tiny_project):
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import Finished, Loss, TrainConfig, Trainer

    events = []
    trainer = None

    def on_event(event):
        events.append(event)
        if isinstance(event, Loss) and event.step >= 2:
            trainer.cancel()

    config = TrainConfig(steps=1000, evaluate_every_steps=1, checkpoint_every_steps=50, data=DataConfig(min_seconds=10))
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
    with pytest.raises(ConsentError, match="8 takes this voice was trained on do not sound like the person who recorded the consent"):
        publish(tiny_project, result, config)
    assert tiny_project.voices == [] and not (tiny_project.models_dir / "voices").exists()


def test_trainer_runs_in_a_thread_and_reports_progress(tiny_base, tiny_project):
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import (
        CheckpointSaved,
        PreviewReady,
        Progress,
        Stage,
        TrainConfig,
        Trainer,
    )

    events = []
    config = TrainConfig(steps=3, evaluate_every_steps=2, checkpoint_every_steps=2, data=DataConfig(min_seconds=10))
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
    assert all(e.quality is not None and 1.0 <= e.quality <= 5.0 for e in previews)  # DNSMOS per evaluation


def _changed(before: dict, after: dict, prefix: str) -> bool:
    return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))


def test_the_recipe_chooses_which_parts_learn_and_resume_refuses_another(tiny_base, tiny_project):
    """Default: posterior encoder and decoder learn, flow/text encoder/duration predictor stay
    joe's. ``train_duration`` and the waveform losses add the duration predictor; resuming
    that run with the default recipe is refused with a reason, not a crash."""
    from voicestudio.training.base import load_base
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import TrainConfig, Trainer, TrainingError, load_trained

    base = {k: v.clone() for k, v in load_base()[0].state_dict().items()}
    data = DataConfig(min_seconds=10)
    steps = dict(steps=2, evaluate_every_steps=2, checkpoint_every_steps=2, data=data)
    result = Trainer(tiny_project, TrainConfig(**steps)).run()
    learned = load_trained(result.best_path)[0].state_dict()
    assert _changed(base, learned, "enc_q.") and _changed(base, learned, "dec.resblocks.")
    assert not any(_changed(base, learned, part) for part in ("flow.", "enc_p.", "dp.", "dec.ups."))

    prior = TrainConfig(**steps, train_prior=True)
    learned = load_trained(Trainer(tiny_project, prior).run().best_path)[0].state_dict()
    assert _changed(base, learned, "enc_p.proj.") and _changed(base, learned, "dec.")
    assert not any(_changed(base, learned, part) for part in ("enc_p.encoder.", "enc_p.emb.", "flow.", "dp."))

    rhythm = TrainConfig(**steps, train_duration=True, c_stft=1.0, crop_context_frames=None, train_upsampling=True)
    result = Trainer(tiny_project, rhythm).run()
    learned = load_trained(result.best_path)[0].state_dict()
    assert _changed(base, learned, "dp.") and _changed(base, learned, "dec.ups.") and not _changed(base, learned, "flow.")
    with pytest.raises(TrainingError, match="different settings"):
        Trainer(tiny_project, TrainConfig(**steps)).run(resume=True)


def test_the_cropped_step_aligns_whole_takes_learns_and_exports(tiny_base, tiny_project, tmp_path):
    """``crop_context_frames``: the encoder and flow see crops, the alignment comes from whole
    takes (monotonic, every frame on a phoneme); the result trains, resumes and exports."""
    from voicestudio.training.base import joe_phoneme_ids, load_base
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.export import compare_with_torch
    from voicestudio.training.finetune import TrainConfig, Trainer, load_trained

    base = {k: v.clone() for k, v in load_base()[0].state_dict().items()}
    config = TrainConfig(steps=4, evaluate_every_steps=2, checkpoint_every_steps=2, threads=1, crop_context_frames=8,
                         c_sync=1.0, data=DataConfig(min_seconds=10))
    trainer = Trainer(tiny_project, config)
    aligned = []
    original = trainer._align

    def align(model, items, device, chunk=4):
        original(model, items, device, chunk)
        aligned.append([item["path"].clone() for item in items])

    trainer._align = align
    result = trainer.run()
    assert result.steps == 4 and len(aligned) == 1  # once at the start (the run is shorter than a realign)
    for path, item in zip(aligned[0], trainer._prepare(result.data.train, torch.device("cpu")), strict=True):
        assert path.shape[0] == item["spec"].shape[-1]  # one phoneme per frame
        assert path[0] == 0 and bool(torch.all(path[1:] >= path[:-1]))  # monotonic from the first
        assert int(path[-1]) == item["ids"].shape[0] - 1  # to the last phoneme
    model, _state = load_trained(result.best_path)
    learned = model.state_dict()
    assert _changed(base, learned, "enc_q.") and _changed(base, learned, "dec.")
    assert not any(_changed(base, learned, part) for part in ("flow.", "enc_p.", "dp."))
    ids = joe_phoneme_ids(["The cropped recipe exports like any other."])[0]
    from voicestudio.training.export import export_voice

    onnx_path = export_voice(model, tmp_path / "cropped", "cropped")
    assert compare_with_torch(model, onnx_path, ids) <= 1e-3
    resumed = Trainer(tiny_project, replace(config, steps=6)).run(resume=True)
    assert resumed.steps == 6


def test_mixed_fine_tuning_trains_on_the_base_voice_too(tiny_base, tiny_project):
    """``mix_base``: the base voice reads script prompts (levelled like the takes, the same
    audio in a resumed run) and a share of the batches is its speech, aligned like a take."""
    from voicestudio.training.base import load_base
    from voicestudio.training.base_corpus import base_utterances, spread_texts
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import Stage, TrainConfig, Trainer

    model, meta = load_base()
    level = float(meta["reference_level_dbfs"])
    first, again = base_utterances(model, 2, level, seed=5), base_utterances(model, 2, level, seed=5)
    assert [u.text for u in first] == spread_texts(2) and all(u.name.startswith("base:") for u in first)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.audio, b.audio)
    from voicestudio.audio.levels import active_rms_dbfs

    assert active_rms_dbfs(first[0].audio, 22050) == pytest.approx(level, abs=1.0)

    config = TrainConfig(steps=6, evaluate_every_steps=100, checkpoint_every_steps=100, threads=1,
                         crop_context_frames=8, mix_base=0.5, mix_base_texts=2, keep="listener",
                         data=DataConfig(min_seconds=10))
    stages: list[str] = []
    trainer = Trainer(tiny_project, config, lambda e: stages.append(e.message) if isinstance(e, Stage) else None)
    seen: list[int] = []
    original = trainer._step_cropped

    def step(model, optimizer, batch, device):
        seen.append(sum(1 for item in batch if item.get("base")))
        return original(model, optimizer, batch, device)

    trainer._step_cropped = step
    result = trainer.run()
    assert "the base voice reads 2 prompts to train beside" in stages
    assert result.steps == 6
    assert 0 < sum(1 for n in seen if n) < 6, seen  # some batches are the base voice's, not all
    from voicestudio.training.checkpoints import load_state

    state = load_state(trainer.state_path)
    assert state["quality_floor"] is not None and state["best_step"] in (1, 6)  # kept as a listener would
    assert load_state(result.best_path)["score"] == state["best_similarity"] == result.similarity


def test_adversarial_training_learns_a_critic_and_resumes_it(tiny_base, tiny_project, tmp_path):
    """``c_adv``: the discriminator learns every step, the decoder is trained against it after
    ``adv_after_steps``, both are saved and resumed, and the voice exports as always."""
    from voicestudio.training.adversarial import Critic
    from voicestudio.training.base import joe_phoneme_ids
    from voicestudio.training.checkpoints import load_state
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.export import compare_with_torch, export_voice
    from voicestudio.training.finetune import TrainConfig, Trainer, load_trained

    config = TrainConfig(steps=3, evaluate_every_steps=100, checkpoint_every_steps=100, threads=1,
                         crop_context_frames=8, c_adv=1.0, adv_after_steps=1, data=DataConfig(min_seconds=10))
    trainer = Trainer(tiny_project, config)
    critic_losses: list[torch.Tensor] = []
    learn = Critic.learn

    def spy(self, real, fake):
        before = [p.detach().clone() for p in self.model.parameters()]
        loss = learn(self, real, fake)
        critic_losses.append(loss)
        assert any(not torch.equal(b, p) for b, p in zip(before, self.model.parameters(), strict=True))
        return loss

    Critic.learn = spy
    try:
        trainer.run()
    finally:
        Critic.learn = learn
    assert len(critic_losses) == 3 and all(np.isfinite(critic_losses))
    saved = load_state(trainer.state_path)["critic"]
    assert saved["steps"] == 3
    resumed = Trainer(tiny_project, replace(config, steps=4))
    resumed.run(resume=True)
    assert load_state(resumed.state_path)["critic"]["steps"] == 4
    model, _state = load_trained(resumed.best_path)
    onnx_path = export_voice(model, tmp_path / "adversarial", "adversarial")
    ids = joe_phoneme_ids(["Trained against a critic, exported like any other."])[0]
    assert compare_with_torch(model, onnx_path, ids) <= 1e-3


def test_frame_sync_loss_hears_a_frame_rate_buzz_that_speech_lacks(joe):
    """The trained flow's failure mode: output that repeats every 256 samples (86 Hz)."""
    from voicestudio.training.base import joe_phoneme_ids
    from voicestudio.training.features import HOP, frame_sync_loss, stft_loss

    ids = joe_phoneme_ids(["Speech has no phase tied to the decoder's frame grid."])[0]
    speech = joe.infer(ids, noise_scale=0.667, noise_w=0.8, length_scale=1.0)
    speech = torch.from_numpy(speech[: len(speech) // HOP * HOP].astype(np.float32))[None]
    rng = np.random.default_rng(0)
    pattern = torch.from_numpy(rng.standard_normal(HOP).astype(np.float32))
    buzz = pattern.repeat(speech.shape[-1] // HOP)[None]
    buzz *= speech.pow(2).mean().sqrt() / buzz.pow(2).mean().sqrt()
    assert frame_sync_loss(speech, speech) < 3.0
    assert frame_sync_loss(buzz, speech) > 30.0
    assert frame_sync_loss(0.5 * speech + 0.5 * buzz, speech) > 5.0
    assert float(stft_loss(speech, speech)) == pytest.approx(0.0, abs=1e-6)
    assert float(stft_loss(0.5 * speech + 0.5 * buzz, speech)) > 0.1


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
    wrong = project.add_prompt("A transcript that is far, far longer than the few words that were actually spoken "
                               "in the recording, so it cannot belong to it at all.")
    spoken = np.concatenate([c.samples for c in synth.synthesize("Hello there, my good friend.")])
    project.add_take(wrong, spoken, 22050, save=False)
    narrow = project.add_prompt("Recorded on an old telephone line.")
    speech = np.concatenate([c.samples for c in synth.synthesize("Recorded on an old telephone line.")])
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
    assert by_prompt[narrow].reason is ExclusionReason.LOW_RATE and "8000 Hz" in by_prompt[narrow].detail
    assert noise in by_prompt
    assert len(data.train) + len(data.held_out) == len(SENTENCES)  # the good synthetic takes all stay
    assert all(len(u.audio) > 0 for u in data.train)


def test_too_little_data_is_refused_before_training(tmp_path, synth, tiny_base):
    from voicestudio.training.dataset import TrainingDataError
    from voicestudio.training.finetune import Failed, TrainConfig, Trainer

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
    [(["train"], "name the project"), (["train", "--project", "x", "--steps", "0"], "--steps must be at least 1"),
     (["train", "--project", "x", "--minutes", "-1"], "--minutes must be")],
)
def test_train_cli_argument_errors(args, message):
    done = subprocess.run(CLI + args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and message in done.stderr


def test_say_with_a_project_without_voices_explains(tmp_path, tiny_project):
    done = subprocess.run(CLI + ["say", "--voice", str(tiny_project.folder), "Hi.", "-o", str(tmp_path / "x.wav")],
                          capture_output=True, text=True, timeout=60)
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
    takes = [(read_audio(tiny_project.take_path(p.chosen_take)), p.text) for p in tiny_project.prompts[1:]]
    speaker = prosody_stats([(a.samples, a.sample_rate, t) for a, t in takes])
    raw = [(np.concatenate([c.samples for c in synth.synthesize(t, steady)]), synth.sample_rate, t) for _a, t in takes]
    voice = prosody_stats(raw)
    assert 12 * math.log2(speaker.f0_median_hz / voice.f0_median_hz) == pytest.approx(TARGET_PITCH_ST, abs=1.0)
    calibration = calibrate(speaker, voice)
    calibrated = Synthesizer(synth.voice)
    calibrated.calibration = calibration
    out = prosody_stats([(np.concatenate([c.samples for c in calibrated.synthesize(t, steady)]), synth.sample_rate,
                          t) for _a, t in takes])
    assert abs(12 * math.log2(out.f0_median_hz / speaker.f0_median_hz)) < 0.5
    assert out.f0_range_st == pytest.approx(speaker.f0_range_st, rel=0.2)
    assert abs(12 * math.log2(voice.f0_median_hz / speaker.f0_median_hz)) > 4  # it really moved
    # and it survives the sidecar round trip
    again = ProsodyCalibration.from_sidecar({"prosody": calibration.to_dict()})
    assert again.pitch_shift_st == pytest.approx(calibration.pitch_shift_st, abs=1e-3)
    assert ProsodyCalibration.from_sidecar({"prosody": {"pitch_shift_st": "loud"}}).is_identity


def test_the_weight_average_is_what_is_kept_and_it_resumes(tiny_base, tiny_project, monkeypatch):
    """``ema_decay``: the kept checkpoint holds the moving average of the weights, not the last
    step's, and a resumed run carries the average on. (Every later evaluation scores higher here,
    so the kept checkpoint is the last step's average.)"""
    from voicestudio.training.checkpoint_choice import Evaluation
    from voicestudio.training.checkpoints import load_state
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import TrainConfig, Trainer

    monkeypatch.setattr(Trainer, "_evaluate", lambda self, model, step, *rest: Evaluation(step, float(step), None))

    config = TrainConfig(steps=3, evaluate_every_steps=100, checkpoint_every_steps=100, threads=1, ema_decay=0.5,
                         crop_context_frames=8, data=DataConfig(min_seconds=10))
    trainer = Trainer(tiny_project, config)
    result = trainer.run()
    best, state = load_state(result.best_path), load_state(trainer.state_path)
    name = next(n for n in state["ema"] if n.startswith("dec."))
    assert torch.equal(best["model"][name], state["ema"][name])  # the average was kept
    assert not torch.equal(state["model"][name], state["ema"][name])  # ... not the last weights
    resumed = Trainer(tiny_project, replace(config, steps=4))
    resumed.run(resume=True)
    again = load_state(resumed.state_path)["ema"][name]
    expected = 0.5 * state["ema"][name] + 0.5 * load_state(resumed.state_path)["model"][name]
    assert torch.allclose(again, expected, atol=1e-6)  # one more step on top of the saved average


def test_a_high_voice_starts_from_the_high_base(tiny_base, tiny_project):
    """``register="auto"``: the target speaker (joe pitched up 5 st, about 115 Hz, under the
    threshold) stays on joe; ``"high"`` prepares the high base once (tiny here) and starts
    from its decoder, which learned joe's latents a register up."""
    from voicestudio.training.base import load_base
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import TrainConfig, Trainer, load_trained
    from voicestudio.training.register import (
        RegisterConfig,
        is_high_base_prepared,
        load_high_base,
        speaker_f0_median,
    )

    tiny_high = RegisterConfig(texts=3, steps=3, threads=1)
    steps = dict(steps=2, evaluate_every_steps=2, checkpoint_every_steps=2, threads=1,
                 data=DataConfig(min_seconds=10), high_base=tiny_high)
    events = []
    Trainer(tiny_project, TrainConfig(**steps, register="auto"), events.append).run()
    assert not any(getattr(e, "stage", "") == "base" and "high base" in e.message for e in events)

    events.clear()
    Trainer(tiny_project, TrainConfig(**steps, register="high"), events.append).run()
    assert is_high_base_prepared()
    assert any(getattr(e, "stage", "") == "base" and "high base ready" in e.message for e in events)
    joe = load_base()[0].state_dict()
    high = load_high_base()[0].state_dict()
    assert _changed(joe, high, "dec.") and not _changed(joe, high, "enc_p.")
    result = Trainer(tiny_project, TrainConfig(**steps, register="high")).run()
    learned = load_trained(result.best_path)[0].state_dict()
    # two steps from the high base stay far nearer to it than to joe
    def distance(a, b):
        return sum(float((a[k] - b[k]).pow(2).sum()) for k in a if k.startswith("dec."))
    assert distance(learned, high) < distance(learned, joe)

    import numpy as np

    rate = 16_000
    t = np.arange(rate) / rate
    assert speaker_f0_median([0.3 * np.sin(2 * np.pi * 210 * t)], rate) == pytest.approx(210, rel=0.03)
    assert speaker_f0_median([np.zeros(rate)], rate) is None


def test_a_prepared_critic_is_made_once_and_the_fine_tune_starts_from_it(tiny_base, tiny_project, tmp_path):
    """``prepared_critic``: the discriminator is prepared once against the base voice (a damaged
    or foreign file is made again, a cancelled preparation leaves none), the fine-tune's critic
    starts from its weights, and the decoder learns from it from the first step."""
    from voicestudio.training import critic_prep
    from voicestudio.training.adversarial import Critic
    from voicestudio.training.base import TrainingCancelled
    from voicestudio.training.checkpoints import load_state, save_state
    from voicestudio.training.critic_prep import CriticPrepConfig, ensure_critic, prepared_weights
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import Stage, TrainConfig, Trainer

    model, meta = load_base()
    level = float(meta["reference_level_dbfs"])
    tiny = CriticPrepConfig(texts=2, steps=3)
    path = tmp_path / "critic.pt"
    with pytest.raises(TrainingCancelled):
        ensure_critic(model, level, tiny, cancelled=lambda: True, path=path)
    assert not path.exists()
    messages: list[str] = []
    weights = ensure_critic(model, level, tiny, lambda s, f, m: messages.append(m), path=path)
    assert any("discriminator ready (3 steps" in m for m in messages)
    assert load_state(path)["meta"]["steps"] == 3
    fresh = Critic(torch.device("cpu")).model.state_dict()
    assert any(not torch.equal(weights[k], fresh[k]) for k in fresh)  # it learned
    messages.clear()
    again = ensure_critic(model, level, tiny, lambda s, f, m: messages.append(m), path=path)
    assert not messages and all(torch.equal(again[k], weights[k]) for k in weights)  # made once
    path.write_bytes(b"not a checkpoint")
    assert prepared_weights(path) is None
    save_state(path, {"model": weights, "meta": {"format": critic_prep.CRITIC_FORMAT, "fingerprint": "other joe"}})
    assert prepared_weights(path) is None

    config = TrainConfig(steps=2, evaluate_every_steps=100, checkpoint_every_steps=100, threads=1,
                         crop_context_frames=8, c_adv=1.0, prepared_critic=True, critic=tiny,
                         data=DataConfig(min_seconds=10))
    stages: list[str] = []
    trainer = Trainer(tiny_project, config, lambda e: stages.append(e.message) if isinstance(e, Stage) else None)
    started_from: list[bool] = []
    judged: list[int] = []
    learn, judge = Critic.learn, Critic.generator_loss

    def spy_learn(self, real, fake):
        prepared = prepared_weights()
        if self.steps == 0 and prepared is not None:  # None: this is the preparation itself
            started_from.append(all(torch.equal(v, prepared[k]) for k, v in self.model.state_dict().items()))
        return learn(self, real, fake)

    def spy_judge(self, real, fake):
        judged.append(self.steps)
        return judge(self, real, fake)

    Critic.learn, Critic.generator_loss = spy_learn, spy_judge
    try:
        trainer.run()
    finally:
        Critic.learn, Critic.generator_loss = learn, judge
    assert any("discriminator ready" in m for m in stages)  # prepared for the machine, then used
    assert started_from == [True]
    assert judged == [1, 2]  # from the first step: no waiting for a random critic to learn


def test_the_duration_anchor_pulls_the_rhythm_back_to_the_base(tiny_base, tiny_project):
    """``c_duration_anchor``: with the duration predictor learning the takes' timing, the
    anchor keeps its durations nearer the base voice's for the same text than without it."""
    from voicestudio.training.base import joe_phoneme_ids
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import TrainConfig, Trainer, _log_durations, load_trained

    def durations(model) -> torch.Tensor:
        ids = torch.tensor(joe_phoneme_ids([SENTENCES[0]]))
        with torch.no_grad():
            x_enc, _m, _l, mask = model.enc_p(ids, torch.tensor([ids.shape[-1]]))
            return _log_durations(model, x_enc, mask)[0, 0]

    base = durations(load_base()[0])
    drift = {}
    for anchor in (0.0, 30.0):
        config = TrainConfig(steps=12, evaluate_every_steps=100, checkpoint_every_steps=100, threads=1,
                             crop_context_frames=8, c_adv=0.0, train_duration=True,
                             c_duration_anchor=anchor, data=DataConfig(min_seconds=10))
        trainer = Trainer(tiny_project, config)
        trainer.run()
        model, _state = load_trained(trainer.state_path)
        drift[anchor] = float(torch.mean((durations(model) - base) ** 2))
    assert drift[0.0] > 0, "the duration predictor did not learn at all"
    assert drift[30.0] < 0.2 * drift[0.0], drift  # measured: 0.013 against 1.43
