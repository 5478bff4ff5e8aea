"""Live analysis benchmark: audio-to-analysis latency and CPU share at 30 fps.

Runs on a private PipeWire virtual microphone (the one the tests use), so it
measures the real path: PortAudio callback → ring → 30 fps pull → STFT column.
Latency: tone bursts are injected into the microphone; the time from the burst
reaching the device (the injector's write time plus its output latency) to the
first spectrogram column showing it. CPU share: process CPU time ÷ wall time while
recording with the 30 fps analysis, beside the same recording without analysis.
Prints a table and writes ``benchmarks/results/live_analysis.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # audio_env: the virtual devices the tests use

RATE = 48_000
FPS = 30
BURST_HZ = 1_000.0
RESULTS = HERE / "results" / "live_analysis.json"


class BurstInjector:
    """Plays silence into "vmic" and, on request, a tone burst; notes when the burst left."""

    def __init__(self) -> None:
        import sounddevice as sd

        self._burst = (
            0.5 * np.sin(2 * np.pi * BURST_HZ * np.arange(int(0.15 * RATE)) / RATE)
        ).astype(np.float32)
        self._pos: int | None = None
        self.sent_at: float | None = None
        self._lock = threading.Lock()
        self.stream = sd.OutputStream(device="vmic", samplerate=RATE, channels=1, dtype="float32",
                                      latency=0.1, callback=self._callback)

    def _callback(self, outdata, frames, time_info, status) -> None:
        outdata[:] = 0
        with self._lock:
            if self._pos is None:
                return
            if self._pos == 0:
                self.sent_at = time.perf_counter()
            chunk = self._burst[self._pos: self._pos + frames]
            outdata[: len(chunk), 0] = chunk
            self._pos += len(chunk)
            if self._pos >= len(self._burst):
                self._pos = None

    def fire(self) -> None:
        with self._lock:
            self.sent_at = None
            self._pos = 0


def measure(bursts: int, cpu_seconds: float) -> dict:
    from voicestudio.audio.analysis import LiveAnalyzer
    from voicestudio.audio.recorder import Recorder

    injector = BurstInjector()
    injector.stream.start()
    out_latency = float(injector.stream.latency)
    recorder = Recorder("vmic", rate=RATE, max_seconds=600)
    recorder.start()
    analyzer = LiveAnalyzer(RATE)
    bin_index = int(round(BURST_HZ / (RATE / analyzer.fft_size)))
    latencies: list[float] = []
    frame_times: list[float] = []
    try:
        time.sleep(0.5)
        recorder.read_new()
        for _ in range(bursts):
            injector.fire()
            detected = None
            deadline = time.perf_counter() + 2.0
            while detected is None and time.perf_counter() < deadline:
                time.sleep(1.0 / FPS)
                start = time.perf_counter()
                update = analyzer.feed(recorder.read_new())
                frame_times.append(time.perf_counter() - start)
                if update.columns.size and np.max(update.columns[:, bin_index]) > -30.0:
                    detected = time.perf_counter()
            if detected is not None and injector.sent_at is not None:
                latencies.append(detected - (injector.sent_at + out_latency))
            time.sleep(0.3)
            analyzer.feed(recorder.read_new())

        def cpu_share(with_analysis: bool) -> float:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            while time.perf_counter() - wall0 < cpu_seconds:
                time.sleep(1.0 / FPS)
                samples = recorder.read_new()
                if with_analysis:
                    analyzer.feed(samples)
            return (time.process_time() - cpu0) / (time.perf_counter() - wall0)

        shares = {"without": cpu_share(False), "with": cpu_share(True)}
    finally:
        take = recorder.stop()
        injector.stream.stop()
        injector.stream.close()
    return {
        "bursts": bursts,
        "detected": len(latencies),
        "latency_ms_median": 1000 * statistics.median(latencies) if latencies else None,
        "latency_ms_max": 1000 * max(latencies) if latencies else None,
        "frame_analysis_ms_median": 1000 * statistics.median(frame_times),
        "cpu_share_recording_only": shares["without"],
        "cpu_share_recording_and_analysis": shares["with"],
        "dropped_frames": take.dropped_frames,
        "input_overflows": take.input_overflows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import audio_env

    reason = audio_env.portaudio_missing() or audio_env.pipewire_missing()
    if reason:
        print(f"live analysis benchmark skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory() as base:
        audio = audio_env.VirtualAudio.start(Path(base))
        try:
            with audio_env.client_of(audio):
                result = measure(
                    bursts=4 if args.quick else 12, cpu_seconds=2.0 if args.quick else 6.0
                )
        finally:
            audio.stop()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("Live analysis at 30 fps on a PipeWire virtual microphone (48 kHz, FFT 1024, hop 256)")
    print("| figure | value |")
    print("|---|---|")
    print(
        "| audio → spectrogram column (est.: burst write time + output latency), median (max) "
        f"| {result['latency_ms_median']:.0f} ms ({result['latency_ms_max']:.0f} "
        f"ms), {result['detected']}/{result['bursts']} bursts seen |"
    )
    print(
        f"| analysis work per 30 fps frame, median | {result['frame_analysis_ms_median']:.2f} ms |"
    )
    print(
        "| CPU share: recording only / recording + analysis "
        f"| {100 * result['cpu_share_recording_only']:.1f} % "
        f"/ {100 * result['cpu_share_recording_and_analysis']:.1f} % of one core |"
    )
    print(
        f"| dropped frames / input overflows | {result['dropped_frames']} "
        f"/ {result['input_overflows']} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
