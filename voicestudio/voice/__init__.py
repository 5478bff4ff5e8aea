"""Speaker models on onnxruntime: loading Piper-compatible voices, providers, synthesis."""
