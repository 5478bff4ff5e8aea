"""Layout checks for screenshots' widgets: what a person would see as broken (cut-off text,
overlapping or protruding widgets), so GUI tests can assert a layout, not only save a PNG."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


def layout_widgets(layout) -> list[QWidget]:
    """The widgets a layout places, nested layouts included."""
    found: list[QWidget] = []
    for index in range(layout.count() if layout is not None else 0):
        item = layout.itemAt(index)
        if item.widget() is not None:
            found.append(item.widget())
        elif item.layout() is not None:
            found.extend(layout_widgets(item.layout()))
    return found


def clipped(widget: QWidget) -> list[str]:
    """Layout problems a person would see: text cut off (labels and buttons smaller than their
    content needs) and visible widgets overlapping a sibling or sticking out of their parent."""
    problems = []
    children = [c for c in widget.findChildren(QWidget) if c.isVisibleTo(widget) and c.width() > 0]
    for child in children:
        name = f"{child.metaObject().className()} {getattr(child, 'text', lambda: '')()[:40]!r}"
        if isinstance(child, QLabel) and child.text():
            need_h = (
                child.heightForWidth(child.width())
                if child.wordWrap()
                else child.minimumSizeHint().height()
            )
            need_w = 0 if child.wordWrap() else child.minimumSizeHint().width()
            if child.height() < need_h or child.width() < need_w:
                problems.append(f"{name}: {child.size().toTuple()} < {(need_w, need_h)}")
        elif child.metaObject().className() in ("QPushButton", "QComboBox", "QSlider"):
            hint = child.minimumSizeHint()
            if child.width() < hint.width() or child.height() < hint.height():
                problems.append(f"{name}: {child.size().toTuple()} < {hint.toTuple()}")
        parent = child.parentWidget()
        scrolled = parent is not None and parent.objectName() == "qt_scrollarea_viewport"
        if parent is not None and not scrolled and not parent.rect().contains(child.geometry()):
            problems.append(
                f"{name} sticks out of its parent: {child.geometry().getRect()} "
                f"in {parent.size().toTuple()}"
            )
    for parent in [widget, *children]:
        laid_out = [c for c in layout_widgets(parent.layout()) if c.isVisibleTo(widget)]
        for i, first in enumerate(laid_out):
            for second in laid_out[i + 1:]:
                if first.geometry().intersects(second.geometry()):
                    problems.append(
                        f"{first.metaObject().className()} "
                        f"overlaps {second.metaObject().className()}: {first.geometry().getRect()} "
                        f"/ {second.geometry().getRect()}"
                    )
    return problems
