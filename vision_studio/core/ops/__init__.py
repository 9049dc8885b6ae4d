"""Pixel operations: pure functions on RGB uint8 (or gray uint8) arrays, each with a spec.

Importing this package registers every operation in `REGISTRY`.
"""
from __future__ import annotations

from vision_studio.core.ops.spec import REGISTRY, OpResult, OpSpec, Param, ParamError

# Each module registers its operations on import (order = order in menus).
from vision_studio.core.ops import enhance  # noqa: E402,F401
from vision_studio.core.ops import smooth  # noqa: E402,F401
from vision_studio.core.ops import threshold  # noqa: E402,F401
from vision_studio.core.ops import edges  # noqa: E402,F401
from vision_studio.core.ops import morphology  # noqa: E402,F401
from vision_studio.core.ops import color  # noqa: E402,F401
from vision_studio.core.ops import geometry  # noqa: E402,F401
from vision_studio.core.ops import segment  # noqa: E402,F401
from vision_studio.core.ops import features  # noqa: E402,F401

CATEGORIES = ("Enhance", "Smooth", "Threshold", "Edges", "Morphology", "Color", "Geometry",
              "Segment", "Features")


class UnknownOperation(KeyError):
    def __str__(self):
        return f"unknown operation {self.args[0]!r}"


def get_op(name: str) -> OpSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownOperation(name) from None


def all_ops() -> list[OpSpec]:
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(REGISTRY.values(), key=lambda s: (order.get(s.category, 99), s.title))


__all__ = ["REGISTRY", "OpResult", "OpSpec", "Param", "ParamError", "get_op", "all_ops",
           "UnknownOperation", "CATEGORIES"]
