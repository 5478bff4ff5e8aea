"""The voice project on disk: takes, prompts, consent and trained models, saved atomically."""
