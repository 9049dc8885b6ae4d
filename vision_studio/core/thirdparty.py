"""Importing fragile third-party packages safely.

face_recognition does `import face_recognition_models` inside a try block and on
ANY failure prints "Please install face_recognition_models" and calls quit(),
which would kill the whole app. face_recognition_models in turn does
`from pkg_resources import resource_filename`, and setuptools >= 81 no longer
ships pkg_resources. So we import face_recognition_models ourselves first, with
a tiny stand-in for that single function (importlib.resources does the same
job), and only then face_recognition. The stand-in is removed right after, so
no other package ever sees a fake pkg_resources.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from importlib import resources


class MissingDependency(RuntimeError):
    """A feature's package is not installed; the message says how to install it."""


def _resource_filename(package: str, resource: str) -> str:
    return str(resources.files(package).joinpath(resource))


def import_face_recognition():
    if "face_recognition" in sys.modules:
        return sys.modules["face_recognition"]
    for name in ("dlib", "face_recognition_models", "face_recognition"):
        if importlib.util.find_spec(name) is None:
            raise MissingDependency(
                f"{name} is not installed; run packaging/bootstrap.sh setup "
                "(or pip install ./packaging/dlib-shim 'vision-studio[faces]')")
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
