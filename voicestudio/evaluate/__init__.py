"""Objective measures of speech: speaker similarity (secs, with the encoder's model in
speaker_model), naturalness (dnsmos), spectral distance (mcd), prosody and the frame-rate
buzz. Each is a function of audio; scoring a whole voice against its speaker's recordings
(which needs the voice) is voice.evaluation. Used by tests, benchmarks and the app's score."""

#: References ``voicestudio eval`` embeds and measures at most (evenly spread over the set):
#: enough for a stable mean embedding and pitch statistics, bounded time for a project of many
#: takes. Here rather than in ``voice.evaluation`` so the CLI can show it without importing
#: the DSP stack.
DEFAULT_MAX_REFERENCES = 100
