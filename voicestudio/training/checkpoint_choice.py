"""Which evaluated checkpoint a training keeps (``TrainConfig.keep``).

Fine-tuning without a discriminator trades quality for similarity as it goes: the speaker
similarity of the validation lines keeps rising while their DNSMOS quality falls (pmatthes,
one 5-minute run: SECS 0.755 → 0.789 from step 189 to 547, OVRL 3.11 → 2.86). Kept by
similarity alone, the clone is the most recognisable and the least pleasant one. The listener's
choice keeps similarity as the score but charges for quality lost below the first evaluation's
(the starting voice's) less the goal's 0.2 slack: a 0.2 OVRL shortfall costs 0.05 SECS, the
gap between the 5- and 30-minute similarity goals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class CheckpointChoice(Enum):
    SIMILARITY = "similarity"  # the highest speaker similarity (the first recipe)
    LISTENER = "listener"  # similarity, less a charge for quality lost


#: Quality the clone may lose against the starting voice without a charge (the issue's goal).
QUALITY_SLACK = 0.2
#: SECS charged per DNSMOS OVRL point below the floor.
QUALITY_WEIGHT = 0.25


@dataclass(frozen=True)
class Evaluation:
    step: int
    similarity: float | None  # mean SECS of the validation lines; None without the encoder
    quality: float | None  # their mean DNSMOS OVRL; None without its models


@dataclass
class BestSoFar:
    """The kept checkpoint's figures, carried through a resume in the training state."""

    choice: CheckpointChoice = CheckpointChoice.SIMILARITY
    score: float = -math.inf
    step: int = 0
    similarity: float | None = None
    quality_floor: float | None = None  # set by the first evaluation with a quality score

    def rate(self, evaluation: Evaluation) -> float:
        """The evaluation's score under this choice (without a similarity: the step, so the
        latest counts as best)."""
        score = (
            evaluation.similarity if evaluation.similarity is not None else float(evaluation.step)
        )
        if self.choice is CheckpointChoice.LISTENER and evaluation.quality is not None:
            if self.quality_floor is None:
                self.quality_floor = evaluation.quality - QUALITY_SLACK
            score -= QUALITY_WEIGHT * max(0.0, self.quality_floor - evaluation.quality)
        return score

    def offer(self, evaluation: Evaluation) -> bool:
        """Take ``evaluation`` as the best if it scores higher; True when it did."""
        score = self.rate(evaluation)
        if score > self.score:
            self.score, self.step, self.similarity = score, evaluation.step, evaluation.similarity
            return True
        return False

    def to_state(self) -> dict:
        return {
            "best_score": self.score,
            "best_step": self.step,
            "best_similarity": self.similarity,
            "quality_floor": self.quality_floor,
        }

    @classmethod
    def from_state(cls, choice: CheckpointChoice, state: dict) -> BestSoFar:
        """From a saved training state; an older state (score only) reads its score as
        similarity."""
        score = float(state.get("best_score", -math.inf))
        similarity = state.get("best_similarity", score if math.isfinite(score) else None)
        floor = state.get("quality_floor")
        return cls(
            choice,
            score,
            int(state.get("best_step", 0)),
            None if similarity is None else float(similarity),
            None if floor is None else float(floor),
        )
