"""Audio in and out: files, resampling, devices, levels, take checks, VAD, speech recognition.

Figures in comments name the two development speakers they were measured on: "pmatthes"
(male, a home microphone) and "ljspeech" (female, LJ Speech); docs/architecture.md.
"""
