"""The consent record in a voice's sidecar: what training verified, and the rule that a
cloned voice is exported only with a verified record (a guard against mistakes, not against
a sidecar edited by hand)."""

from __future__ import annotations

from typing import Any

from voicestudio.safety.consent import SIDECAR_KEY, ConsentError


def sidecar_consent(sidecar: dict[str, Any]) -> dict[str, Any] | None:
    """The consent record of a voice sidecar, or None (a voice not trained by VoiceStudio,
    or one trained before consent was checked)."""
    fields = sidecar.get("voicestudio")
    record = fields.get(SIDECAR_KEY) if isinstance(fields, dict) else None
    return record if isinstance(record, dict) else None


def is_clone(sidecar: dict[str, Any]) -> bool:
    """Whether a sidecar describes a voice VoiceStudio trained from someone's takes."""
    fields = sidecar.get("voicestudio")
    provenance = fields.get("provenance") if isinstance(fields, dict) else None
    return isinstance(provenance, dict) and "training_data_sha256" in provenance


def require_exportable(sidecar: dict[str, Any], name: str) -> None:
    """Refuse to export a cloned voice whose sidecar has no verified consent record (a guard
    against mistakes: a sidecar edited by hand can claim anything)."""
    if not is_clone(sidecar):
        return
    record = sidecar_consent(sidecar)
    if (
        record is None
        or record.get("verified") is not True
        or not isinstance(record.get("sha256"), str)
    ):
        raise ConsentError(
            f"voice {name!r} was cloned from a recording project without a verified consent take "
            "(it was trained before VoiceStudio checked consent, or its record is missing); train "
            "it again from a project with the speaker's consent statement to export it"
        )
