"""Where training keeps its files, and its defaults, answerable without torch.

The desktop app shows "base model prepared" and "a run can be resumed" long before the
user starts a training (and must not import torch to do so), so the paths live here;
``base.py`` and the trainer use the same functions.
"""

from __future__ import annotations

from pathlib import Path

from voicestudio.paths import user_data_dir

#: Bumped whenever the base preparation recipe changes, so stale caches are rebuilt.
BASE_FORMAT = 1

#: How long the one-time base preparation took where it was measured: joe reads the
#: recording script, then the posterior encoder is distilled for 5 minutes (the default).
#: Measured 368 s (clone_quality benchmark, 2026-11-28) and 6-6.5 min in a new-user trial,
#: on the project's 2-core CPU machine; a faster CPU shortens only the reading part.
BASE_PREPARATION_TIME = "6–6.5 minutes on a 2-core CPU"


def models_dir() -> Path:
    """Where the prepared base models and other model caches live (per user)."""
    return user_data_dir() / "models"


def base_model_path() -> Path:
    """The cached base model, shared by every project of this user."""
    return models_dir() / f"base-joe-v{BASE_FORMAT}.pt"


def high_base_model_path() -> Path:
    """The cached high-register base (training.register), prepared on first use."""
    return models_dir() / f"base-joe-high-v{BASE_FORMAT}.pt"


def base_model_present() -> bool:
    """A base model file is cached. (Whether it fits the installed joe voice needs torch to
    tell; a stale one is rebuilt by the trainer, which then reports it as a base stage.)"""
    return base_model_path().is_file()


def training_dir(project) -> Path:
    """A project's training folder: checkpoints and previews (``project`` is a VoiceProject)."""
    return Path(project.models_dir) / "training"


def state_path(project) -> Path:
    """The resumable state of the project's last training run."""
    return training_dir(project) / "state.pt"


def best_checkpoint_path(project) -> Path:
    return training_dir(project) / "best.pt"


def previews_dir(project) -> Path:
    return training_dir(project) / "previews"


def can_resume(project) -> bool:
    """The project has a saved training state a run can continue from."""
    return state_path(project).is_file()


def critic_model_path() -> Path:
    """The discriminator prepared against the base voice (training.critic_prep), on first use."""
    return models_dir() / f"critic-joe-v{BASE_FORMAT}.pt"
