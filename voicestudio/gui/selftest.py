"""``voicestudio --self-test``: build the whole window, render one line through the
Synthesize panel, screenshot every panel and check that torch stayed out — proof that an
installed (or packaged) app works, runnable without a screen."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

SELF_TEST_TEXT = "VoiceStudio self-test: the voice, the styling and the window all work."
RENDER_TIMEOUT_S = 120.0


class SelfTestError(Exception):
    pass


def run_self_test(screenshots: str | Path | None = None, out=print) -> int:
    """0 when every step passed, 1 with the reason printed otherwise."""
    if not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ) and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        _self_test(Path(screenshots) if screenshots else None, out)
    except SelfTestError as exc:
        out(f"self-test FAILED: {exc}")
        return 1
    out("self-test passed")
    return 0


def _self_test(screenshots: Path | None, out) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from voicestudio.gui.main_window import MainWindow
    from voicestudio.gui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="voicestudio-selftest-") as tmp:
        # Private settings: the self-test must not change the user's window layout or recent list.
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.show()
        app.processEvents()
        out(
            f"window shown in {time.monotonic() - started:.1f} s: "
            f"{', '.join(p.title for p in window.panels)}"
        )
        if "torch" in sys.modules:
            raise SelfTestError(
                "torch was imported while building the window (the app must run without it)"
            )

        panel = window.synthesize
        window.show_panel(panel)
        results: list[object] = []
        panel.rendered.connect(results.append)
        panel.set_text(SELF_TEST_TEXT)
        panel.speak()
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        while not results and time.monotonic() < deadline:
            app.processEvents()
            message = panel.message.text() if panel.message.isVisible() else ""
            if message and panel.message.level == "error":
                raise SelfTestError(f"synthesis failed: {message}")
            time.sleep(0.01)
        if not results:
            raise SelfTestError(
                f"no audio from the Synthesize panel within {RENDER_TIMEOUT_S:.0f} s"
            )
        audio = results[0]
        if audio.duration_s < 1.0 or not float(abs(audio.samples).max()) > 0.01:
            raise SelfTestError(
                f"the rendered line is too short or silent ({audio.duration_s:.2f} s)"
            )
        out(f"synthesized {audio.duration_s:.1f} s of speech at {audio.sample_rate} Hz")
        from voicestudio.styling.overlap_add import OverlapAddError, check

        try:
            check()
        except OverlapAddError as exc:
            raise SelfTestError(f"pitch cannot be moved by overlap-add: {exc}") from exc
        out("overlap-add (Praat, for the pitch controls and performances): works")

        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
            for p in window.panels:
                window.show_panel(p)
                app.processEvents()
                name = p.title.split()[0].lower()
                target = screenshots / f"panel_{name}.png"
                if not window.grab().save(str(target)):
                    raise SelfTestError(f"could not save a screenshot to {target}")
                out(f"screenshot: {target}")
        if "torch" in sys.modules:
            raise SelfTestError("torch was imported by the panels (the app must run without it)")
        out("torch not imported: yes")
        window._force_close = True
        window.close()
        app.processEvents()
