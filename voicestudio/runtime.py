"""onnxruntime sessions and the choice of execution provider.

``auto`` measures instead of assuming: Piper users report CUDA slower than the
CPU for small voices, so each available provider synthesizes a warm-up input and
the faster one is kept. ``cuda`` falls back to the CPU with the reason spelled out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import onnxruntime as ort

from voicestudio.threads import inference_threads

PROVIDER_CHOICES = ("auto", "cpu", "cuda")
_ORT_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


@dataclass
class ProviderChoice:
    """What a session runs on and why (shown by ``doctor``, the CLI and the GUI)."""

    requested: str
    used: str
    reason: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def cuda_unavailable_reason() -> str | None:
    """None when onnxruntime offers CUDA, else a sentence saying why it does not."""
    if "CUDAExecutionProvider" in ort.get_available_providers():
        return None
    return (
        f"onnxruntime has no CUDA provider here (installed: onnxruntime {ort.__version__}; install "
        "'voicestudio[gpu]' for onnxruntime-gpu)"
    )


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; we report provider problems ourselves
    # Idle intra-op threads would otherwise spin after each run and steal the cores the
    # WORLD pass (and, in the app, the GUI) needs right after the model.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _session(model: str | bytes, provider: str, threads: int) -> ort.InferenceSession:
    if provider == "cuda":
        providers: list = [
            ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}),
            "CPUExecutionProvider",
        ]
    else:
        providers = ["CPUExecutionProvider"]
    return ort.InferenceSession(model, sess_options=session_options(threads), providers=providers)


def create_session(
    model: str | bytes,
    provider: str = "auto",
    threads: int | None = None,
    warmup: Callable[[ort.InferenceSession], None] | None = None,
) -> tuple[ort.InferenceSession, ProviderChoice]:
    """Open ``model`` on the requested provider, falling back to the CPU with a reason."""
    if provider not in PROVIDER_CHOICES:
        raise ValueError(
            f"provider must be one of {', '.join(PROVIDER_CHOICES)} (got {provider!r})"
        )
    threads = threads or inference_threads()
    cuda_missing = cuda_unavailable_reason()

    if provider == "cpu":
        return _warm(_session(model, "cpu", threads), warmup), ProviderChoice(
            "cpu", "cpu", "CPU requested"
        )

    if provider == "cuda":
        if cuda_missing:
            return _warm(_session(model, "cpu", threads), warmup), ProviderChoice(
                "cuda", "cpu", f"using CPU: {cuda_missing}"
            )
        session = _session(model, "cuda", threads)
        if session.get_providers()[0] != _ORT_NAMES["cuda"]:
            return session, ProviderChoice(
                "cuda",
                "cpu",
                "using CPU: the CUDA provider failed to start "
                "(no usable GPU or CUDA/cuDNN libraries)",
            )
        return _warm(session, warmup), ProviderChoice("cuda", "cuda", "CUDA requested")

    # auto
    if cuda_missing:
        return _warm(_session(model, "cpu", threads), warmup), ProviderChoice(
            "auto", "cpu", f"CPU is the only provider ({cuda_missing})"
        )
    sessions = {"cpu": _session(model, "cpu", threads)}
    cuda_session = _session(model, "cuda", threads)
    if cuda_session.get_providers()[0] == _ORT_NAMES["cuda"]:
        sessions["cuda"] = cuda_session
    else:
        return sessions["cpu"], ProviderChoice(
            "auto", "cpu", "the CUDA provider failed to start; using CPU"
        )
    if warmup is None:
        return sessions["cuda"], ProviderChoice(
            "auto", "cuda", "no warm-up input given; CUDA assumed faster"
        )
    timings = {name: _time_warmup(session, warmup) for name, session in sessions.items()}
    best = min(timings, key=timings.__getitem__)
    summary = ", ".join(f"{name} {ms:.1f} ms" for name, ms in timings.items())
    return sessions[best], ProviderChoice(
        "auto", best, f"fastest on a warm-up sentence ({summary})", timings
    )


def _warm(
    session: ort.InferenceSession, warmup: Callable[[ort.InferenceSession], None] | None
) -> ort.InferenceSession:
    """One run at load time, so the user's first sentence does not pay for allocation."""
    if warmup is not None:
        warmup(session)
    return session


def _time_warmup(
    session: ort.InferenceSession, warmup: Callable[[ort.InferenceSession], None]
) -> float:
    warmup(session)  # first run pays for allocation and kernel selection
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        warmup(session)
        best = min(best, time.perf_counter() - start)
    return best * 1000.0
