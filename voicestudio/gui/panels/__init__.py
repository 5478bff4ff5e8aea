"""The studio panels: Record, Train, Synthesize & Customize, Export."""
