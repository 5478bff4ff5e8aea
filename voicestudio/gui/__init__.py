"""The PySide6 desktop app: a thin face over the engine (no DSP or ML here)."""
