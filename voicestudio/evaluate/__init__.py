"""Objective checks of synthesized speech (intelligibility), used by tests and benchmarks."""
