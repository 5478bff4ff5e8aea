"""Which prompt is the consent statement, which takes train and which serve as reference.

One place for these rules: the consent gate, the training data, the similarity score,
the Train panel and ``project info`` all ask here rather than deciding for themselves.

- **The statement** is the prompt ``consent_index`` names, when that prompt is
  VoiceStudio's fixed consent wording (a project made by importing a corpus may have none).
- **A take trains** when it is a prompt's chosen take, the prompt is not the statement,
  and its checks did not fail unless the user accepted it anyway.
- **Reference takes** (what a voice is compared with for speaker similarity) are takes
  that train, spread evenly over the script: the statement is never one, and a failed take
  the user accepted counts as it does for training.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voicestudio.errors import AudioFileError
from voicestudio.text.script import CONSENT_TEMPLATE, fill_consent, is_consent_statement

if TYPE_CHECKING:
    from voicestudio.project.project import Prompt, Take, VoiceProject

#: Takes a voice's reference embedding is made of: enough to average out one odd take,
#: few enough to embed in seconds.
MAX_REFERENCE_TAKES = 8


def consent_prompt(project: VoiceProject, create: bool = False) -> int | None:
    """The index of the project's consent statement: ``consent_index`` when that prompt is
    VoiceStudio's statement. A project made by importing a corpus may have none: with
    ``create`` the filled-in statement is added as a prompt and remembered (and saved)."""
    index = project.consent_index
    prompts = project.prompts
    if (
        index is not None
        and 0 <= index < len(prompts)
        and is_consent_statement(prompts[index].text)
    ):
        return index
    if not create:
        return None
    index = project.add_prompt(statement_for(project))
    project.consent_index = index
    project.save()
    return index


def is_consent_prompt(project: VoiceProject, index: int) -> bool:
    """Whether prompt ``index`` is the project's consent statement."""
    return index == consent_prompt(project)


def statement_for(project: VoiceProject) -> str:
    """The consent statement a project without one gets, filled in for today."""
    return fill_consent(CONSENT_TEMPLATE, project.name, dt.datetime.now().date())


def statement_text(project: VoiceProject) -> str:
    """The words the speaker must read: the project's statement prompt, or the one it would get."""
    index = consent_prompt(project)
    return project.prompts[index].text if index is not None else statement_for(project)


def is_statement_recorded(project: VoiceProject) -> bool:
    index = consent_prompt(project)
    return index is not None and bool(project.prompts[index].takes)


@dataclass(frozen=True)
class Candidate:
    """A prompt's chosen take that may become training data (its file not yet read)."""

    index: int
    prompt: Prompt
    take: Take


def _is_statement(project: VoiceProject, index: int) -> bool:
    # consent_index, even when its wording is not (or no longer) the statement: whatever the
    # project marked as the consent recording is never trained on (the statement, when there
    # is one, is always that prompt).
    return index == project.consent_index


def candidates(project: VoiceProject) -> list[Candidate]:
    """Every prompt's chosen take except the statement's, in script order."""
    return [
        Candidate(i, p, p.chosen_take)
        for i, p in enumerate(project.prompts)
        if p.chosen_take is not None and not _is_statement(project, i)
    ]


def may_train(take: Take) -> bool:
    """A take trains unless its checks failed and the user did not accept it anyway."""
    return take.verdict != "fail" or take.accepted_by_user


def takes_that_train(project: VoiceProject) -> list[Candidate]:
    """:func:`candidates` whose take :func:`may_train` (the files are not looked at)."""
    return [c for c in candidates(project) if may_train(c.take)]


def training_files(project: VoiceProject) -> list[tuple[Candidate, Path]]:
    """The takes that train, with their files: missing files and links out of the project
    folder are left out (training itself names them with a reason)."""
    found = []
    for candidate in takes_that_train(project):
        try:
            path = project.take_path(candidate.take)
        except AudioFileError:  # a link out of the project is never read
            continue
        if path.is_file():
            found.append((candidate, path))
    return found


def reference_takes(project: VoiceProject, limit: int = MAX_REFERENCE_TAKES) -> list[Path]:
    """Up to ``limit`` files of takes that train, evenly spread over the script, to compare a
    voice with (``limit`` 0 or less: all of them)."""
    paths = [path for _take, path in training_files(project)]
    if limit <= 0 or len(paths) <= limit:
        return paths
    return [paths[int(i)] for i in np.linspace(0, len(paths) - 1, limit).round()]
