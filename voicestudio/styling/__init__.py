"""Styling: pitch, range, speed, energy, breathiness and emotion applied in one WORLD pass."""
