"""Desktop app benchmark: launch to first window, idle memory, and the Record panel's live
spectrogram (frame rate a user sees and the CPU it costs) on a PipeWire virtual microphone.

Launch and memory are measured in fresh interpreters (the way a user starts the app):
wall time from starting the process to the main window's first paint, and resident memory
after two seconds idle. The spectrogram figures come from recording a spoken line from the
virtual microphone in the real Record panel: paints per second of the spectrogram image,
and process CPU time ÷ wall time beside the same window idle. Runs offscreen when there
is no display. Prints a Markdown table and writes ``benchmarks/results/gui.json``.

    python benchmarks/gui.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # audio_env: the virtual devices the tests use
RESULTS = HERE / "results" / "gui.json"
RATE = 48_000

LAUNCH = """
import sys, time, tempfile
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from voicestudio.gui.theme import apply_theme
app = QApplication(sys.argv[:1])
apply_theme(app)
from voicestudio.gui.main_window import MainWindow
win = MainWindow(settings=QSettings(tempfile.mkdtemp() + "/s.ini", QSettings.Format.IniFormat))
win.show()
win.repaint()  # paints now, synchronously: the first frame a user would see
shown = [time.time()]
def report():
    rss = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    print(f"{shown[0]!r} {rss} {'torch' in sys.modules}")
    win._force_close = True
    win.close()
    app.quit()
QTimer.singleShot(2000, report)
app.exec()
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def launch_figures(runs: int) -> dict:
    """Median of ``runs`` cold-ish starts (the first one warms the file cache and is dropped)."""
    times, rss = [], []
    for n in range(runs + 1):
        started = time.time()
        done = subprocess.run(
            [sys.executable, "-c", LAUNCH], capture_output=True, text=True, timeout=300, env=_env()
        )
        if done.returncode != 0:
            raise RuntimeError(f"the window did not start: {done.stderr.strip()[-800:]}")
        shown_at, memory, torch = done.stdout.split()[-3:]
        if torch != "False":
            raise RuntimeError("showing the window imported torch")
        if n:
            times.append(float(shown_at) - started)
            rss.append(int(memory))
    return {"launch_to_window_s": statistics.median(times), "launch_runs": runs,
            "idle_rss_mb": statistics.median(rss) / 2**20}


def spectrogram_figures(seconds: float) -> dict:
    """Records ``seconds`` of the bundled voice from "vmic" in the Record panel."""
    import numpy as np
    from audio_env import Injector
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from voicestudio.audio.io import resample
    from voicestudio.gui.main_window import MainWindow
    from voicestudio.gui.theme import apply_theme
    from voicestudio.voice.catalog import load_voice
    from voicestudio.voice.synthesizer import Synthesizer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    synth = Synthesizer(load_voice(None, provider="cpu"))
    text = "The garden is full of yellow flowers this spring, and the bees are busy all day long."
    speech = np.concatenate([c.samples for c in synth.synthesize(text)])
    speech = resample(speech, synth.sample_rate, RATE)
    speech = np.tile(
        speech * np.float32(0.7 / np.max(np.abs(speech))),
        int(np.ceil(seconds * RATE / len(speech))),
    )

    def pump(duration: float) -> tuple[float, float]:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        while time.perf_counter() - wall0 < duration:
            app.processEvents()
            time.sleep(0.002)
        return time.perf_counter() - wall0, time.process_time() - cpu0

    with tempfile.TemporaryDirectory() as tmp:
        win = MainWindow(settings=QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat))
        win.resize(1180, 760)
        win.show()
        try:
            win.new_project("Bench", parent=tmp)
            panel = win.record
            if not panel.select_device("vmic"):
                raise RuntimeError(
                    f"the Record panel cannot use vmic: {panel.device_message.text()}"
                )
            panel.go_to_prompt(1)
            pump(1.0)
            idle_wall, idle_cpu = pump(3.0)
            if not panel.start_recording():
                raise RuntimeError(f"recording did not start: {panel.message.text()}")
            deadline = time.monotonic() + 10
            while panel.recorder.seconds_recorded < 0.2 and time.monotonic() < deadline:
                app.processEvents()
            with Injector("vmic", speech, RATE, lead_s=0.2, tail_s=0.2):
                pump(0.5)
                paints0, frames0 = panel.spectrogram.paints, panel.spectrogram.frames
                wall, cpu = pump(seconds)
                paints, frames = (
                    panel.spectrogram.paints - paints0,
                    panel.spectrogram.frames - frames0,
                )
            panel.stop_recording()
            pump(0.5)
        finally:
            win._force_close = True
            win.close()
            app.processEvents()
    return {
        "spectrogram_seconds": seconds,
        "spectrogram_paints_per_s": paints / wall,
        "spectrogram_frames_per_s": frames / wall,
        "cpu_share_idle_window": idle_cpu / idle_wall,
        "cpu_share_recording": cpu / wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    result = launch_figures(runs=2 if args.quick else 5)

    import audio_env

    reason = audio_env.portaudio_missing() or audio_env.pipewire_missing()
    if reason:
        print(f"spectrogram figures skipped: {reason}")
    else:
        with tempfile.TemporaryDirectory() as base:
            audio = audio_env.VirtualAudio.start(Path(base))
            try:
                with audio_env.client_of(audio):
                    result.update(spectrogram_figures(seconds=4.0 if args.quick else 10.0))
            finally:
                audio.stop()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        "Desktop app "
        f"({os.environ.get('QT_QPA_PLATFORM') or 'on screen'}, {os.cpu_count()} CPU cores)"
    )
    print("| figure | value |")
    print("|---|---|")
    print(
        f"| launch to first window (median of {result['launch_runs']}) "
        f"| {result['launch_to_window_s']:.2f} s |"
    )
    print(f"| resident memory, idle after 2 s | {result['idle_rss_mb']:.0f} MB |")
    if "spectrogram_paints_per_s" in result:
        print(
            "| spectrogram while recording: paints / images per second "
            f"| {result['spectrogram_paints_per_s']:.1f} "
            f"/ {result['spectrogram_frames_per_s']:.1f} fps |"
        )
        print(
            "| CPU share: window idle / recording with live view "
            f"| {100 * result['cpu_share_idle_window']:.1f} % "
            f"/ {100 * result['cpu_share_recording']:.1f} % of one core |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
