"""Safety: the watermark that marks synthetic speech and the consent gate before cloning."""
