"""Reusable widgets: drawing only, fed by engine objects."""
