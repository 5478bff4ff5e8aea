"""Training: the only part of VoiceStudio that imports torch.

Synthesis, styling and the GUI run on onnxruntime; these modules fine-tune the base
VITS voice on a project's takes and export the result as a Piper-compatible ONNX voice.
"""
