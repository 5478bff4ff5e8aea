"""What the take checks found, stored with each take in ``project.json``.

A plain record, apart from the checks themselves (``audio.checks``), so the project and
everything that reads takes can hold it typed without loading the checks' models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "warn", "fail"]
VERDICTS: tuple[Verdict, ...] = ("pass", "warn", "fail")  # in order of severity


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: ``value`` is the measured figure (dBFS, dB, seconds, WER) or None."""

    name: str
    verdict: Verdict
    message: str
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "message": self.message,
            "value": _finite(self.value),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        try:
            verdict = data["verdict"]
            if verdict not in VERDICTS:
                raise ValueError(f"unknown verdict {verdict!r}")
            value = data.get("value")
            return cls(
                str(data["name"]),
                verdict,
                str(data["message"]),
                None if value is None else float(value),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed take check in project file: {exc}") from exc


@dataclass
class TakeReport:
    """All checks on one take plus the span to keep (speech with ``trim_pad_s`` around it).

    ``speech_start_s``/``speech_end_s`` are None when no speech was found or the VAD
    is not installed; ``asr_text`` is None when no prompt was given.
    """

    checks: list[CheckResult] = field(default_factory=list)
    speech_start_s: float | None = None
    speech_end_s: float | None = None
    asr_text: str | None = None

    @property
    def verdict(self) -> Verdict:
        """The worst verdict of any check ("pass" when there are none)."""
        return max((c.verdict for c in self.checks), key=VERDICTS.index, default="pass")

    @property
    def failed(self) -> bool:
        """True when any check failed: the take should not be trained on."""
        return self.verdict == "fail"

    @property
    def problems(self) -> list[CheckResult]:
        """The checks that did not pass, worst first, for the GUI to list."""
        return sorted(
            (c for c in self.checks if c.verdict != "pass"),
            key=lambda c: -VERDICTS.index(c.verdict),
        )

    def get(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (finite numbers or null) for the project file."""
        return {
            "verdict": self.verdict,
            "checks": [c.to_dict() for c in self.checks],
            "speech_start_s": _finite(self.speech_start_s),
            "speech_end_s": _finite(self.speech_end_s),
            "asr_text": self.asr_text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TakeReport:
        """Inverse of :meth:`to_dict`; the stored verdict is recomputed, not trusted."""
        if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
            raise ValueError("malformed take report in project file: no list of checks")

        def number(key: str) -> float | None:
            value = data.get(key)
            try:
                return None if value is None else float(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"malformed take report in project file: {key} is {value!r}"
                ) from exc

        asr = data.get("asr_text")
        return cls(
            checks=[CheckResult.from_dict(c) for c in data["checks"]],
            speech_start_s=number("speech_start_s"),
            speech_end_s=number("speech_end_s"),
            asr_text=None if asr is None else str(asr),
        )


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)
