"""Guards against known-bad Qt binding releases (see the pin in pyproject.toml)."""
import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    sig = Signal(int)


def test_signal_emit_keeps_reference_counts():
    # PySide6 6.12.0 decremented True's refcount on every emit() and aborted the
    # process after ~1000 emits. A long webcam session emits millions.
    emitter = _Emitter()
    before = sys.getrefcount(True)
    for _ in range(200):
        emitter.sig.emit(1)
    assert sys.getrefcount(True) >= before - 5
