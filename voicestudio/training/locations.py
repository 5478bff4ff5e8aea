"""Where training keeps its files, answerable without torch.

The desktop app shows "base model prepared" and "a run can be resumed" long before the
user starts a training (and must not import torch to do so), so the paths live here;
``base.py`` and the trainer use the same functions.
"""

from __future__ import annotations

from pathlib import Path

from voicestudio.paths import user_data_dir

#: Bumped whenever the base preparation recipe changes, so stale caches are rebuilt.
BASE_FORMAT = 1

#: About how long the one-time base preparation takes on a laptop CPU: joe reads the
#: recording script (~3 min) and the posterior encoder is distilled (5 min by default).
BASE_PREPARATION_MINUTES = 8


def base_model_path() -> Path:
    """The cached base model, shared by every project of this user."""
    return user_data_dir() / "models" / f"base-joe-v{BASE_FORMAT}.pt"


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
