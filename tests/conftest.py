"""Shared test setup: offscreen Qt, isolated settings/data dirs, no dangling threads.

Tests read real data from ../shared/testdata when it exists; without it they fall
back to images that packages ship (skimage is not a dependency, so we use the
ultralytics ASSETS copies of bus.jpg/zidane.jpg, or generate images) and say so.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # as the app's entry points set it
ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared" / "testdata").resolve()  # ../shared may be a symlink; the app stores resolved paths


def pytest_report_header(config):
    where = SHARED if SHARED.is_dir() else "absent (using package-shipped and generated images)"
    return f"vision-studio test data: {where}"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Each test gets its own config and data folders: no test sees the user's settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("VISION_STUDIO_DATA_DIR", str(home / "data" / "vision-studio"))
    yield


@pytest.fixture(autouse=True)
def _no_dangling_threads(request):
    """Fail a test that leaves a QThread or a pool worker running (napari's idea)."""
    from PySide6.QtCore import QThread, QThreadPool

    started: list = []
    original = QThread.start

    def tracking_start(self, *args, **kwargs):
        started.append(self)
        return original(self, *args, **kwargs)

    QThread.start = tracking_start
    try:
        yield
    finally:
        QThread.start = original
    pool = QThreadPool.globalInstance()
    if not pool.waitForDone(5000):
        pytest.fail(f"test left {pool.activeThreadCount()} worker thread(s) running", pytrace=False)
    running = [t for t in started if t.isRunning() and not t.wait(5000)]
    if running:
        pytest.fail(f"test left {len(running)} QThread(s) running", pytrace=False)


@pytest.fixture
def settings(tmp_path):
    """Settings in a file of this test's own (nothing shared between tests)."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """The real main window, shown (offscreen), closed after the test."""
    from vision_studio.gui.application import make_app
    from vision_studio.gui.main_window import MainWindow

    make_app()
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.fixture(scope="session")
def sample_images() -> dict[str, Path]:
    """name -> path of real photos: shared test data, else ultralytics' shipped copies."""
    if (SHARED / "images").is_dir():
        return {p.name: p for p in sorted((SHARED / "images").iterdir())}
    try:
        from ultralytics.utils import ASSETS
    except Exception:  # pragma: no cover - objects extra missing
        pytest.fail("no ../shared/testdata and ultralytics (for its ASSETS) is not installed")
    print(f"using ultralytics ASSETS at {ASSETS} (no ../shared/testdata)")
    return {p.name: p for p in sorted(Path(ASSETS).glob("*.jpg"))}


@pytest.fixture(scope="session")
def bus_jpg(sample_images) -> Path:
    return sample_images["bus.jpg"]
