"""Safety: the watermark that marks synthetic speech (and, later, the consent gate)."""
