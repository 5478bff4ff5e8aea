"""A slider over one styling control's range, and how its value label reads."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSlider, QWidget

from voicestudio.styling.controls import ControlSpec

#: Slider order and resolution (one slider step, in the control's unit).
SLIDER_STEPS: dict[str, float] = {
    "pitch": 0.5,
    "pitch_range": 0.05,
    "speed": 0.05,
    "energy": 0.5,
    "breathiness": 0.05,
    "variability": 0.05,
    "intensity": 5.0,
}


def format_value(spec: ControlSpec, value: float) -> str:
    """A control's value with its unit, as the slider label shows it."""
    if spec.unit.startswith("×"):
        return f"{value:.2f}×"
    if spec.unit == "%":
        return f"{value:.0f} %"
    if spec.unit == "semitones":
        return f"{value:+.1f} semitones"
    if spec.unit == "dB":
        return f"{value:+.1f} dB"
    return f"{value:.2f}"


class ControlSlider(QSlider):
    """A horizontal slider over one control's range in steps of :data:`SLIDER_STEPS`."""

    def __init__(self, spec: ControlSpec, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.spec = spec
        self.step = SLIDER_STEPS[spec.name]
        self.setRange(0, int(round((spec.high - spec.low) / self.step)))
        self.setPageStep(max(1, self.maximum() // 10))
        self.set_control(spec.default)

    def control(self) -> float:
        return round(self.spec.low + self.value() * self.step, 6)

    def set_control(self, value: float) -> None:
        self.setValue(int(round((float(value) - self.spec.low) / self.step)))
