"""Edit ▸ Preferences: the few settings that are not better set where they are used."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox

from vision_studio.gui.theme import MODES

MAX_MEGAPIXELS_KEY = "images/max_megapixels"


def max_pixels(settings: QSettings) -> int | None:
    """The decompression-bomb cap from the settings (None: the built-in default/env var)."""
    value = settings.value(MAX_MEGAPIXELS_KEY)
    try:
        return int(float(value) * 1_000_000) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class PreferencesDialog(QDialog):
    def __init__(self, settings: QSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        form = QFormLayout(self)
        self.megapixels = QSpinBox(self)
        self.megapixels.setRange(1, 100_000)
        self.megapixels.setSuffix(" MP")
        from vision_studio.core.image_io import DEFAULT_MAX_PIXELS

        current = max_pixels(settings) or DEFAULT_MAX_PIXELS or 250_000_000
        self.megapixels.setValue(max(1, round(current / 1_000_000)))
        form.addRow("Largest image to open", self.megapixels)
        hint = QLabel("Bigger images are refused before decoding, as possible decompression bombs.")
        hint.setWordWrap(True)
        form.addRow(hint)
        self.appearance = QComboBox(self)
        self.appearance.addItems(["Follow system", "Light", "Dark"])
        mode = str(settings.value("appearance", "system"))
        self.appearance.setCurrentIndex(MODES.index(mode) if mode in MODES else 0)
        form.addRow("Appearance", self.appearance)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def apply(self) -> None:
        self.settings.setValue(MAX_MEGAPIXELS_KEY, self.megapixels.value())
        self.settings.setValue("appearance", MODES[self.appearance.currentIndex()])
