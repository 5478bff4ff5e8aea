"""The base voice's own speech, mixed into a fine-tune's batches (``TrainConfig.mix_base``).

Four minutes of one speaker hold a small part of English: a fine-tune that only ever sees
them drifts away from sounds the takes never contain, and the clone's intelligibility
falls below the base voice's. Mixed fine-tuning keeps some batches of the base voice
reading the recording script, so what the model already said well keeps being practised.
Its audio is rendered by the base model itself at the start of each training (noise seeded,
so a resumed run sees the same corpus), levelled like the takes.
"""

from __future__ import annotations

import numpy as np
import torch

from voicestudio.audio.levels import set_speech_level
from voicestudio.constants import MODEL_RATE
from voicestudio.training.base import joe_phoneme_ids, script_texts
from voicestudio.training.dataset import Utterance

#: Longer renders are skipped: a take longer than this would be left out of training too.
MAX_SECONDS = 12.0


def spread_texts(count: int) -> list[str]:
    """``count`` prompts spread evenly over the recording script (never the consent statement)."""
    texts = script_texts()
    if count <= 0 or not texts:
        return []
    stride = max(1, len(texts) // count)
    return texts[::stride][:count]


def base_utterances(model, count: int, level_dbfs: float, seed: int = 0,
                    noise_scale: float = 0.667, noise_w: float = 0.8) -> list[Utterance]:
    """The base ``model`` (in torch, before fine-tuning changes it) reading ``count`` script
    prompts, as training utterances named ``base:N``."""
    texts = spread_texts(count)
    out: list[Utterance] = []
    state = torch.get_rng_state()
    try:
        with torch.no_grad():
            for i, (text, ids) in enumerate(zip(texts, joe_phoneme_ids(texts), strict=True)):
                torch.manual_seed(seed + i)
                x = torch.tensor([ids], dtype=torch.long)
                audio = model.infer(
                    x, torch.tensor([len(ids)]), noise_scale=noise_scale, noise_scale_w=noise_w
                )[0]
                samples = audio[0, 0].float().cpu().numpy()
                if len(samples) > MAX_SECONDS * MODEL_RATE:
                    continue
                levelled = set_speech_level(samples.astype(np.float32), MODEL_RATE, level_dbfs)
                out.append(Utterance(f"base:{i}", text, list(ids), levelled))
    finally:
        torch.set_rng_state(state)
    return out
