"""Child process for bench_startup: start a window, report when it is first painted, exit.

    python benchmarks/_startup_probe.py bare           # a bare PySide6 QMainWindow
    python benchmarks/_startup_probe.py app            # Vision Studio, as `vision-studio`
    python benchmarks/_startup_probe.py app IMAGE      # ... opening IMAGE (`vision-studio IMAGE`)

It does not change the app: `app` imports vision_studio.app and calls main(), the
same function the `vision-studio` console script calls. The only hook is a
wrapper around vision_studio.gui.application.make_app that installs an event
filter on the QApplication it returns. The filter waits for the first Paint of
the main window (for IMAGE: the first paint of the canvas viewport once
canvas.has_image() is true), lets that paint pass finish (QTimer.singleShot(0)),
then prints one line and exits at once with os._exit (teardown is not timed, and
nothing is saved to the settings):

    VS_PROBE {"t": {"start": ..., "imported": ..., "qapp": ..., "show": ..., "expose": ...,
                    "paint": ..., "image": ..., "done": ...}, "platform": "offscreen"}

Every t value is time.monotonic() (CLOCK_MONOTONIC, shared by all processes on
Linux), so the parent can subtract its own timestamp from before Popen.
Only the stdlib is imported before the variant's own imports, so `bare` pays for
nothing but Python + PySide6.
"""
import json
import os
import sys
import time

T = {"start": time.monotonic()}
WIDTH, HEIGHT = 1280, 800  # MainWindow's default size (no saved geometry); bare uses it too


def _report() -> None:
    T["done"] = time.monotonic()
    from PySide6.QtGui import QGuiApplication

    sys.stdout.write("VS_PROBE " + json.dumps({"t": T, "platform": QGuiApplication.platformName()})
                     + "\n")
    sys.stdout.flush()
    os._exit(0)


def _make_filter(want_image: bool):
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QMainWindow, QWidget

    paint, expose, show = QEvent.Type.Paint, QEvent.Type.Expose, QEvent.Type.Show

    class FirstPaint(QObject):
        """App-wide filter: stamps Show/Expose/Paint of the main window, then reports."""

        fired = False

        def eventFilter(self, obj, event):  # noqa: N802 (Qt name)
            kind = event.type()
            if self.fired or kind not in (paint, expose, show):
                return False
            if kind == expose:
                T.setdefault("expose", time.monotonic())  # the QWindow; only ours exists
                return False
            if not isinstance(obj, QWidget):
                return False
            win = obj.window()
            if not isinstance(win, QMainWindow):
                return False
            if kind == show:
                if obj is win:
                    T.setdefault("show", time.monotonic())
                return False
            T.setdefault("paint", time.monotonic())
            if want_image:
                canvas = getattr(win, "canvas", None)
                if canvas is None or obj is not canvas.viewport() or not canvas.has_image():
                    return False
                T["image"] = time.monotonic()
            self.fired = True
            QTimer.singleShot(0, _report)  # after this paint pass has been flushed
            return False

    return FirstPaint()


def run_bare() -> int:
    from PySide6.QtWidgets import QApplication, QMainWindow

    T["imported"] = time.monotonic()
    app = QApplication([sys.argv[0]])
    T["qapp"] = time.monotonic()
    hook = _make_filter(want_image=False)
    app.installEventFilter(hook)
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.resize(WIDTH, HEIGHT)
    window.show()
    return app.exec()


def run_app(paths: list[str]) -> int:
    from vision_studio.app import main  # what the console script does

    import vision_studio.gui.application as ga  # main() imports it anyway (Qt comes with it)

    T["imported"] = time.monotonic()
    original = ga.make_app
    hooks = []

    def make_app(argv=None):
        app = original(argv)
        T["qapp"] = time.monotonic()
        hooks.append(_make_filter(want_image=bool(paths)))
        app.installEventFilter(hooks[-1])
        return app

    ga.make_app = make_app  # run_gui looks make_app up in the module at call time
    return main(list(paths))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("bare", "app"):
        sys.exit("usage: _startup_probe.py bare|app [PATH...]")
    code = run_bare() if sys.argv[1] == "bare" else run_app(sys.argv[2:])
    # Reaching here means the event loop ended without a first paint being seen.
    sys.stderr.write(f"probe: event loop ended (exit code {code}) before the window was painted\n")
    sys.exit(code or 3)
