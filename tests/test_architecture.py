"""Rules of the house that CI checks: core has no Qt, the GUI starts without heavy libraries."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "core stays free of Qt" in r.stdout and "KEPT" in r.stdout


def test_window_opens_without_heavy_libraries(tmp_path):
    code = (
        "import sys\n"
        "from vision_studio.gui.application import make_app\n"
        "from vision_studio.gui.main_window import MainWindow\n"
        "app = make_app(); w = MainWindow(); w.show(); app.processEvents()\n"
        "heavy = [m for m in ('torch', 'ultralytics', 'dlib', 'face_recognition', 'cv2', 'numpy') if m in sys.modules]\n"
        "w.close(); print(','.join(heavy))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"imported at start-up: {r.stdout.strip()}"


def test_core_and_cli_import_without_qt():
    code = ("import sys, vision_studio.cli, vision_studio.core.image_io, vision_studio.core.annotate, "
            "vision_studio.core.results, vision_studio.core.export\n"
            "print([m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'superqt'))])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
