"""Light and dark appearance: follow the system, or the user's choice (View > Appearance)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

MODES = ("system", "light", "dark")


def system_is_dark(app: QGuiApplication) -> bool:
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 30, 33), QColor(45, 45, 48), QColor(225, 225, 225)
    disabled = QColor(127, 127, 127)
    for role, color in {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: window, QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: window,
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.BrightText: QColor(255, 80, 80),
        QPalette.ColorRole.Highlight: QColor(42, 130, 218), QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(90, 170, 255), QPalette.ColorRole.PlaceholderText: disabled,
        QPalette.ColorRole.Mid: QColor(60, 60, 64), QPalette.ColorRole.Dark: QColor(25, 25, 28),
    }.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def apply_appearance(app: QApplication, mode: str) -> bool:
    """Apply `mode` (system/light/dark); returns True when the result is dark.

    Fusion everywhere: it looks the same on every OS and honours palettes fully,
    so "dark" is really dark even where the native style ignores the palette.
    """
    app.setStyle("Fusion")
    dark = system_is_dark(app) if mode == "system" else mode == "dark"
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    return dark
