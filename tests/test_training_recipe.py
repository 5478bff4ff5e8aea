"""The fine-tune's recipe, CI-sized: which parts learn, the cropped step and its alignment,
mixed fine-tuning, the adversarial critic (prepared or not), the weight average, the high
base and the duration anchor, each on a few steps of the synthetic speaker."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="training needs the [train] extra (torch==2.13.0); make test installs it")

from test_training import TINY_BASE  # noqa: E402  (the base the training tests prepare)
from training_data import SENTENCES, make_project  # noqa: E402

from voicestudio.training.base import ensure_base, is_prepared, load_base  # noqa: E402


@pytest.fixture(scope="module")
def tiny_base():
    path = ensure_base(TINY_BASE)  # shared with test_training.py through the session's data folder
    assert is_prepared(path)
    return path


@pytest.fixture()
def tiny_project(tmp_path, synth):
    return make_project(tmp_path, synth)


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
    frozen = ("enc_p.encoder.", "enc_p.emb.", "flow.", "dp.")
    assert not any(_changed(base, learned, part) for part in frozen)

    rhythm = TrainConfig(**steps, train_duration=True, c_stft=1.0, crop_context_frames=None,
                         train_upsampling=True)
    result = Trainer(tiny_project, rhythm).run()
    learned = load_trained(result.best_path)[0].state_dict()
    assert _changed(base, learned, "dp.") and _changed(base, learned, "dec.ups.")
    assert not _changed(base, learned, "flow.")
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
    config = TrainConfig(steps=4, evaluate_every_steps=2, checkpoint_every_steps=2, threads=1,
                         crop_context_frames=8, c_sync=1.0, data=DataConfig(min_seconds=10))
    trainer = Trainer(tiny_project, config)
    aligned = []
    original = trainer._align

    def align(model, items, device, chunk=4):
        original(model, items, device, chunk)
        aligned.append([item.path.clone() for item in items])

    trainer._align = align
    result = trainer.run()
    # once at the start (the run is shorter than a realign)
    assert result.steps == 4 and len(aligned) == 1
    items = trainer._prepare(result.data.train, torch.device("cpu"))
    for path, item in zip(aligned[0], items, strict=True):
        assert path.shape[0] == item.spec.shape[-1]  # one phoneme per frame
        assert path[0] == 0 and bool(torch.all(path[1:] >= path[:-1]))  # monotonic from the first
        assert int(path[-1]) == item.ids.shape[0] - 1  # to the last phoneme
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
    from voicestudio.training.events import BaseVoiceMixedIn
    from voicestudio.training.finetune import TrainConfig, Trainer

    model, meta = load_base()
    level = float(meta["reference_level_dbfs"])
    first, again = [base_utterances(model, 2, level, seed=5) for _ in range(2)]
    assert [u.text for u in first] == spread_texts(2)
    assert all(u.name.startswith("base:") for u in first)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.audio, b.audio)
    from voicestudio.audio.levels import active_rms_dbfs

    assert active_rms_dbfs(first[0].audio, 22050) == pytest.approx(level, abs=1.0)

    config = TrainConfig(steps=6, evaluate_every_steps=100, checkpoint_every_steps=100, threads=1,
                         crop_context_frames=8, mix_base=0.5, mix_base_texts=2, keep="listener",
                         data=DataConfig(min_seconds=10))
    mixed: list[BaseVoiceMixedIn] = []
    trainer = Trainer(tiny_project, config,
                      lambda e: mixed.append(e) if isinstance(e, BaseVoiceMixedIn) else None)
    seen: list[int] = []
    original = trainer._step_cropped

    def step(model, optimizer, batch, device):
        seen.append(sum(1 for item in batch if item.base))
        return original(model, optimizer, batch, device)

    trainer._step_cropped = step
    result = trainer.run()
    assert mixed == [BaseVoiceMixedIn(2)]
    assert mixed[0].message == "the base voice reads 2 prompts to train beside"
    assert result.steps == 6
    assert 0 < sum(1 for n in seen if n) < 6, seen  # some batches are the base voice's, not all
    from voicestudio.training.checkpoints import load_state

    state = load_state(trainer.state_path)
    # kept as a listener would
    assert state["quality_floor"] is not None and state["best_step"] in (1, 6)
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
                         crop_context_frames=8, c_adv=1.0, adv_after_steps=1,
                         data=DataConfig(min_seconds=10))
    trainer = Trainer(tiny_project, config)
    critic_losses: list[torch.Tensor] = []
    learn = Critic.learn

    def spy(self, real, fake):
        before = [p.detach().clone() for p in self.model.parameters()]
        loss = learn(self, real, fake)
        critic_losses.append(loss)
        after = self.model.parameters()
        assert any(not torch.equal(b, p) for b, p in zip(before, after, strict=True))
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


def test_the_weight_average_is_what_is_kept_and_it_resumes(tiny_base, tiny_project, monkeypatch):
    """``ema_decay``: the kept checkpoint holds the moving average of the weights, not the last
    step's, and a resumed run carries the average on. (Every later evaluation scores higher here,
    so the kept checkpoint is the last step's average.)"""
    from voicestudio.training.checkpoint_choice import Evaluation
    from voicestudio.training.checkpoints import load_state
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.finetune import TrainConfig, Trainer

    monkeypatch.setattr(Trainer, "_evaluate",
                        lambda self, model, step, *rest: Evaluation(step, float(step), None))

    config = TrainConfig(steps=3, evaluate_every_steps=100, checkpoint_every_steps=100, threads=1,
                         ema_decay=0.5, crop_context_frames=8, data=DataConfig(min_seconds=10))
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
    from voicestudio.training.events import HighBaseChosen, Stage, StageKind
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

    def base_messages() -> list[str]:
        return [e.message for e in events if isinstance(e, Stage) and e.kind is StageKind.BASE]

    Trainer(tiny_project, TrainConfig(**steps, register="auto"), events.append).run()
    assert not any("high base" in m for m in base_messages())
    assert not any(isinstance(e, HighBaseChosen) for e in events)

    events.clear()
    Trainer(tiny_project, TrainConfig(**steps, register="high"), events.append).run()
    assert is_high_base_prepared()
    assert any("high base ready" in m for m in base_messages())
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
    tone = 0.3 * np.sin(2 * np.pi * 210 * t)
    assert speaker_f0_median([tone], rate) == pytest.approx(210, rel=0.03)
    assert speaker_f0_median([np.zeros(rate)], rate) is None


def test_a_prepared_critic_is_made_once_and_the_fine_tune_starts_from_it(tiny_base, tiny_project,
                                                                         tmp_path):
    """``prepared_critic``: the discriminator is prepared once against the base voice (a damaged
    or foreign file is made again, a cancelled preparation leaves none), the fine-tune's critic
    starts from its weights, and the decoder learns from it from the first step."""
    from voicestudio.training import critic_prep
    from voicestudio.training.adversarial import Critic
    from voicestudio.training.base import TrainingCancelled
    from voicestudio.training.checkpoints import load_state, save_state
    from voicestudio.training.critic_prep import CriticPrepConfig, ensure_critic, prepared_weights
    from voicestudio.training.dataset import DataConfig
    from voicestudio.training.events import Stage
    from voicestudio.training.finetune import TrainConfig, Trainer

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
    foreign = {"format": critic_prep.CRITIC_FORMAT, "fingerprint": "other joe"}
    save_state(path, {"model": weights, "meta": foreign})
    assert prepared_weights(path) is None

    config = TrainConfig(steps=2, evaluate_every_steps=100, checkpoint_every_steps=100, threads=1,
                         crop_context_frames=8, c_adv=1.0, prepared_critic=True, critic=tiny,
                         data=DataConfig(min_seconds=10))
    stages: list[str] = []
    trainer = Trainer(tiny_project, config,
                      lambda e: stages.append(e.message) if isinstance(e, Stage) else None)
    started_from: list[bool] = []
    judged: list[int] = []
    learn, judge = Critic.learn, Critic.generator_loss

    def spy_learn(self, real, fake):
        prepared = prepared_weights()
        if self.steps == 0 and prepared is not None:  # None: this is the preparation itself
            own = self.model.state_dict().items()
            started_from.append(all(torch.equal(v, prepared[k]) for k, v in own))
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
    from voicestudio.training.finetune import TrainConfig, Trainer, load_trained
    from voicestudio.training.steps import log_durations

    def durations(model) -> torch.Tensor:
        ids = torch.tensor(joe_phoneme_ids([SENTENCES[0]]))
        with torch.no_grad():
            x_enc, _m, _l, mask = model.enc_p(ids, torch.tensor([ids.shape[-1]]))
            return log_durations(model, x_enc, mask)[0, 0]

    base = durations(load_base()[0])
    drift = {}
    for anchor in (0.0, 30.0):
        config = TrainConfig(steps=12, evaluate_every_steps=100, checkpoint_every_steps=100,
                             threads=1, crop_context_frames=8, c_adv=0.0, train_duration=True,
                             c_duration_anchor=anchor, data=DataConfig(min_seconds=10))
        trainer = Trainer(tiny_project, config)
        trainer.run()
        model, _state = load_trained(trainer.state_path)
        drift[anchor] = float(torch.mean((durations(model) - base) ** 2))
    assert drift[0.0] > 0, "the duration predictor did not learn at all"
    assert drift[30.0] < 0.2 * drift[0.0], drift  # measured: 0.013 against 1.43
