"""Text in: cleaning, sentence splitting, phonemes."""
