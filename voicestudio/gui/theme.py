"""One look for the whole app: a dark studio palette and a style sheet keyed on the
``role``, ``level`` and ``badge`` properties that panels set on their widgets.

Roles: ``title`` (panel heading), ``prompt`` (the line to read, large type), ``hint``
(secondary text), ``message`` (InlineMessage, coloured by ``level``: info/ok/warning/error),
``badge`` (a check verdict, coloured by ``badge``: pass/warn/fail). ``accent`` on a push
button marks the panel's main action.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

COLORS = {
    "window": "#1e2127",
    "base": "#16181d",
    "alt": "#262a31",
    "text": "#e6e6e6",
    "muted": "#9aa3ad",
    "accent": "#3d8bfd",
    "ok": "#3fb950",
    "warning": "#d29922",
    "error": "#f85149",
    "border": "#353b45",
}

STYLE_SHEET = """
QWidget {{ font-size: 10pt; }}
QLabel[role="title"] {{ font-size: 15pt; font-weight: 600; }}
QLabel[role="prompt"] {{ font-size: 20pt; padding: 12px; background: {base};
    border: 1px solid {border}; border-radius: 6px; }}
QLabel[role="hint"] {{ color: {muted}; }}
QLabel[role="message"] {{ padding: 6px 8px; border-radius: 4px; background: {alt}; }}
QLabel[role="message"][level="ok"] {{ color: {ok}; }}
QLabel[role="message"][level="warning"] {{ color: {warning}; }}
QLabel[role="message"][level="error"] {{ color: {error}; border: 1px solid {error}; }}
QLabel[role="badge"] {{ padding: 2px 8px; border-radius: 9px; color: #101215; font-weight: 600; }}
QLabel[role="badge"][badge="pass"] {{ background: {ok}; }}
QLabel[role="badge"][badge="warn"] {{ background: {warning}; }}
QLabel[role="badge"][badge="fail"] {{ background: {error}; }}
QPushButton {{ padding: 5px 12px; border: 1px solid {border}; border-radius: 4px;
    background: {alt}; }}
QPushButton:hover {{ border-color: {accent}; }}
QPushButton:disabled {{ color: {muted}; }}
QPushButton[accent="true"] {{ background: {accent}; border-color: {accent}; color: white;
    font-weight: 600; }}
QPushButton[accent="true"]:disabled {{ background: {alt}; border-color: {border}; color: {muted}; }}
QListWidget#sidebar {{ background: {base}; border: none; font-size: 11pt; }}
QListWidget#sidebar::item {{ padding: 12px 14px; }}
QListWidget#sidebar::item:selected {{ background: {alt}; border-left: 3px solid {accent};
    color: white; }}
QProgressBar {{ border: 1px solid {border}; border-radius: 4px; text-align: center;
    background: {base}; }}
QProgressBar::chunk {{ background: {accent}; }}
""".format(**COLORS)


def translucent(name: str, alpha: int) -> QColor:
    """``name`` (a colour of :data:`COLORS`, or any colour Qt reads) at ``alpha`` (0-255)."""
    color = QColor(COLORS.get(name, name))
    color.setAlpha(alpha)
    return color


def apply_theme(app: QApplication) -> None:
    """Fusion style with the studio palette and style sheet."""
    app.setStyle("Fusion")
    palette = QPalette()
    c = {k: QColor(v) for k, v in COLORS.items()}
    for role, color in (
        (QPalette.ColorRole.Window, c["window"]),
        (QPalette.ColorRole.WindowText, c["text"]),
        (QPalette.ColorRole.Base, c["base"]),
        (QPalette.ColorRole.AlternateBase, c["alt"]),
        (QPalette.ColorRole.Text, c["text"]),
        (QPalette.ColorRole.Button, c["alt"]),
        (QPalette.ColorRole.ButtonText, c["text"]),
        (QPalette.ColorRole.Highlight, c["accent"]),
        (QPalette.ColorRole.HighlightedText, QColor("white")),
        (QPalette.ColorRole.ToolTipBase, c["alt"]),
        (QPalette.ColorRole.ToolTipText, c["text"]),
        (QPalette.ColorRole.PlaceholderText, c["muted"]),
    ):
        palette.setColor(role, color)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, c["muted"])
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, c["muted"])
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, c["muted"])
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)


def fill_with_graphics(widget):
    """Make ``widget`` one themed pyqtgraph canvas edge to edge (the plots' shared frame)."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QVBoxLayout

    graphics = pg.GraphicsLayoutWidget()
    graphics.setBackground(COLORS["base"])
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(graphics)
    return graphics
