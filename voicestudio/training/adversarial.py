"""A discriminator that learns beside a fine-tune (``TrainConfig.c_adv``).

joe's own discriminator was not exported to ONNX, and VITS' multi-period discriminator
(about 47 M parameters) costs more per step than the whole cropped step on a laptop CPU.
The multi-resolution STFT discriminator of UnivNet (as Piper ships it: 32-channel 2-D
convolutions over magnitude spectrograms, about 0.3 M parameters) is small enough to learn
in minutes, and it hears what mel L1 cannot: smeared harmonics, phase noise, a comb at the
frame rate. Piper's resolutions hop by a tenth of their FFT; here by a quarter, which cost
a third as much per pass on a CPU (0.11 s against 0.25-0.35 s for a 3-clip batch, one thread).
"""

from __future__ import annotations

import torch
from piper.train.vits.losses import discriminator_loss, feature_loss, generator_loss
from piper.train.vits.models import MultiResolutionDiscriminator

RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (2048, 512, 2048))  # (n_fft, hop, window)
LEARNING_RATE = 2e-4
GRAD_CLIP = 100.0


class Critic:
    """The discriminator, its optimizer and its step count (saved with the training state)."""

    def __init__(
        self,
        device: torch.device,
        betas: tuple[float, float] = (0.8, 0.99),
        state: dict | None = None,
        weights: dict | None = None,
    ):
        """``state``: a saved training state to continue; ``weights``: a prepared critic's
        parameters to start from (training.critic_prep), with a fresh optimizer."""
        self.model = MultiResolutionDiscriminator(RESOLUTIONS).to(device)
        if weights is not None:
            self.model.load_state_dict(weights)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=LEARNING_RATE, betas=betas, eps=1e-9
        )
        self.steps = 0
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.steps = int(state["steps"])

    def learn(self, real: torch.Tensor, fake: torch.Tensor) -> float:
        """One discriminator step on ``[batch, 1, samples]`` real and generated audio."""
        y_real, y_fake, _, _ = self.model(real, fake.detach())
        loss, _r, _g = discriminator_loss(y_real, y_fake)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), GRAD_CLIP)
        self.optimizer.step()
        self.steps += 1
        return float(loss.item())

    def generator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial and feature-matching loss for ``fake`` (gradients flow
        into the generator only: the discriminator's own step is :meth:`learn`)."""
        for p in self.model.parameters():
            p.requires_grad_(False)
        try:
            y_fake, fmap_real, fmap_fake = [], [], []
            for disc in self.model.discriminators:
                with torch.no_grad():
                    fmap_real.append(disc(real)[1])
                score, fmap = disc(fake)
                y_fake.append(score)
                fmap_fake.append(fmap)
            adversarial, _ = generator_loss(y_fake)
            return adversarial + feature_loss(fmap_real, fmap_fake)
        finally:
            for p in self.model.parameters():
                p.requires_grad_(True)

    def state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "steps": self.steps,
        }
