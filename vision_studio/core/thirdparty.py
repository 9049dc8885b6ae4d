"""Importing fragile third-party packages safely.

face_recognition does `import face_recognition_models` inside a try block and on
ANY failure prints "Please install face_recognition_models" and calls quit(),
which would kill the whole app. face_recognition_models in turn does
`from pkg_resources import resource_filename`, and setuptools >= 81 no longer
ships pkg_resources. So we import face_recognition_models ourselves first, with
a tiny stand-in for that single function (importlib.resources does the same
job), and only then face_recognition. The stand-in is removed right after, so
no other package ever sees a fake pkg_resources.

The import itself runs in a short-lived thread of its own. dlib's bindings
(pybind11) remember the Python thread state of the thread that first imports
them; a Qt pool thread gets a fresh thread state for every job, so the next job
on that OS thread that enters dlib would wait for the GIL forever (seen: two
face jobs on the window's model thread). A thread that ends right after the
import leaves nothing stale behind. Everything that needs dlib imports it
through `import_dlib` / `import_face_recognition`. (The face pipeline's dlib calls run in
a helper process, core/faces/engine.py, which imports it the same way: dlib keeps the GIL
for the whole of each call, which would freeze the window.)
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from importlib import resources


class MissingDependency(RuntimeError):
    """A feature's package is not installed; the message says how to install it."""


def _resource_filename(package: str, resource: str) -> str:
    return str(resources.files(package).joinpath(resource))


def _in_own_thread(load):
    """Run `load()` in a fresh thread that ends right after (see the module docstring)."""
    out: list = []

    def run():
        try:
            out.append((True, load()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            out.append((False, exc))

    thread = threading.Thread(target=run, name="import dlib", daemon=True)
    thread.start()
    thread.join()
    ok, value = out[0]
    if not ok:
        raise value
    return value


def _need(*names: str) -> None:
    for name in names:
        if importlib.util.find_spec(name) is None:
            raise MissingDependency(
                f"{name} is not installed; run packaging/bootstrap.sh setup "
                "(or pip install ./packaging/dlib-shim 'vision-studio[faces]')")


def check_face_recognition() -> None:
    """MissingDependency naming what to install, without importing anything heavy."""
    _need("dlib", "face_recognition_models", "face_recognition")


def import_dlib():
    if "dlib" in sys.modules:
        return sys.modules["dlib"]
    _need("dlib")
    return _in_own_thread(lambda: importlib.import_module("dlib"))


def import_face_recognition():
    if "face_recognition" in sys.modules:
        return sys.modules["face_recognition"]
    _need("dlib", "face_recognition_models", "face_recognition")
    import_dlib()
    return _in_own_thread(_import_face_recognition)


def _import_face_recognition():
    if "face_recognition_models" not in sys.modules:
        absent = object()
        saved = sys.modules.get("pkg_resources", absent)
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = _resource_filename
        sys.modules["pkg_resources"] = shim
        try:
            importlib.import_module("face_recognition_models")
        finally:
            if saved is not absent:
                sys.modules["pkg_resources"] = saved
            else:
                sys.modules.pop("pkg_resources", None)
    return importlib.import_module("face_recognition")
