"""Objective checks of synthesized speech: speaker similarity (secs), intelligibility (wer),
spectral distance (mcd) and prosody, combined by report. Used by tests, benchmarks and the UI score."""

#: References ``voicestudio eval`` embeds and measures at most (evenly spread over the set):
#: enough for a stable mean embedding and pitch statistics, bounded time for a project of many
#: takes. Here rather than in ``report`` so the CLI can show it without importing the DSP stack.
DEFAULT_MAX_REFERENCES = 100
