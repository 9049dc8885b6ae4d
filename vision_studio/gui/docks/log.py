"""Log panel: everything the app logs (INFO and up), thread-safe via a queued signal."""
from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDockWidget, QPlainTextEdit


class _Bridge(QObject):
    sig_record = Signal(str)


class QtLogHandler(logging.Handler):
    """A logging handler that hands formatted records to the GUI thread."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.bridge = _Bridge()
        self.setFormatter(logging.Formatter("%(levelname)s  %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            self.bridge.sig_record.emit(f"{stamp}  {self.format(record)}")
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


class LogDock(QDockWidget):
    MAX_LINES = 5000

    def __init__(self, parent=None):
        super().__init__("Log", parent)
        self.setObjectName("LogDock")
        self._text = QPlainTextEdit(self)
        self._text.setReadOnly(True)
        self._text.setMaximumBlockCount(self.MAX_LINES)
        self._text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setWidget(self._text)
        self.handler = QtLogHandler()
        self.handler.bridge.sig_record.connect(self._text.appendPlainText)
        logger = logging.getLogger("vision_studio")
        logger.addHandler(self.handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)  # the panel shows INFO even when the console does not

    def text(self) -> str:
        return self._text.toPlainText()

    def detach(self) -> None:
        logging.getLogger("vision_studio").removeHandler(self.handler)
