"""Which checkpoint a training keeps: by similarity, or as a listener would (quality counts)."""

from __future__ import annotations

import math

import pytest

from voicestudio.training.checkpoint_choice import (
    QUALITY_SLACK,
    QUALITY_WEIGHT,
    BestSoFar,
    CheckpointChoice,
    Evaluation,
)

# One 5-minute pmatthes run's validation figures (step, SECS, DNSMOS OVRL).
RUN = [Evaluation(1, 0.62, 3.30), Evaluation(189, 0.755, 3.11), Evaluation(547, 0.789, 2.86),
       Evaluation(740, 0.821, 2.80)]


def kept(choice: CheckpointChoice, run=RUN) -> BestSoFar:
    best = BestSoFar(choice)
    for evaluation in run:
        best.offer(evaluation)
    return best


def test_by_similarity_the_most_similar_is_kept_whatever_it_sounds_like():
    best = kept(CheckpointChoice.SIMILARITY)
    assert (best.step, best.similarity, best.score) == (740, 0.821, 0.821)
    assert best.quality_floor is None


def test_the_listener_pays_for_quality_lost_below_the_starting_voice():
    best = kept(CheckpointChoice.LISTENER)
    assert best.quality_floor == pytest.approx(3.30 - QUALITY_SLACK)
    # 189 keeps quality within the slack: no charge; 547 and 740 are charged for the shortfall
    assert best.rate(Evaluation(189, 0.755, 3.11)) == pytest.approx(0.755)
    charge = QUALITY_WEIGHT * (3.10 - 2.80)
    assert best.rate(Evaluation(740, 0.821, 2.80)) == pytest.approx(0.821 - charge)
    # 0.755 beats 0.789 - 0.06 and 0.821 - 0.075
    assert best.step == 189 and best.similarity == 0.755
    better = kept(CheckpointChoice.LISTENER, RUN + [Evaluation(900, 0.85, 3.05)])
    assert better.step == 900 and better.score == pytest.approx(0.85 - QUALITY_WEIGHT * 0.05)


def test_without_scores_the_latest_counts_and_a_resume_carries_the_figures():
    best = kept(CheckpointChoice.LISTENER, [Evaluation(1, None, None), Evaluation(5, None, None)])
    assert best.step == 5 and best.similarity is None
    saved = kept(CheckpointChoice.LISTENER).to_state()
    again = BestSoFar.from_state(CheckpointChoice.LISTENER, saved)
    assert again == kept(CheckpointChoice.LISTENER)
    old = BestSoFar.from_state(CheckpointChoice.SIMILARITY, {"best_score": 0.8, "best_step": 9})
    assert (old.step, old.similarity, old.quality_floor) == (9, 0.8, None)
    fresh = BestSoFar.from_state(CheckpointChoice.SIMILARITY, {})
    assert fresh.score == -math.inf and fresh.similarity is None


def test_an_unknown_choice_is_refused():
    with pytest.raises(ValueError):
        CheckpointChoice("loudest")
