"""Parameter specs for pixel operations, and the registry they live in.

Every operation declares its parameters once (`Param`); the GUI builds its
controls from them, the CLI lists them (`vision-studio ops`), and pipeline
files are validated against them, with errors that name the step and field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from vision_studio.core.results import Detection

PARAM_TYPES = ("int", "float", "bool", "choice", "rect", "color")


class ParamError(ValueError):
    """A parameter value is invalid. `field` names it; str() is one line."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # one of PARAM_TYPES
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    label: str = ""
    odd: bool = False  # kernel sizes: only odd values are valid
    pixels: bool = False  # a length in image pixels: scaled on a downscaled preview

    def __post_init__(self):
        if self.type not in PARAM_TYPES:
            raise ValueError(f"{self.name}: unknown parameter type {self.type!r}")
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " ").capitalize())

    def validate(self, value: Any) -> Any:
        """Return the value coerced to its type, or raise ParamError."""
        t = self.type
        if t == "bool":
            if not isinstance(value, bool):
                raise ParamError(self.name, f"expected true or false, got {value!r}")
            return value
        if t == "choice":
            if value not in self.choices:
                raise ParamError(self.name, f"expected one of {', '.join(self.choices)}, got {value!r}")
            return value
        if t == "rect":
            if (not isinstance(value, (list, tuple)) or len(value) != 4
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
                raise ParamError(self.name, f"expected [x, y, width, height], got {value!r}")
            x, y, w, h = (int(round(v)) for v in value)
            if w < 0 or h < 0 or x < 0 or y < 0:
                raise ParamError(self.name, f"expected non-negative [x, y, width, height], got {value!r}")
            return (x, y, w, h)
        if t == "color":
            if (not isinstance(value, (list, tuple)) or len(value) != 3
                    or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)):
                raise ParamError(self.name, f"expected [r, g, b] with 0..255, got {value!r}")
            return tuple(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(self.name, f"expected a number, got {value!r}")
        if t == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ParamError(self.name, f"expected a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if self.min is not None and value < self.min:
            raise ParamError(self.name, f"{value} is below the minimum {self.min:g}")
        if self.max is not None and value > self.max:
            raise ParamError(self.name, f"{value} is above the maximum {self.max:g}")
        if self.odd and value % 2 == 0:
            raise ParamError(self.name, f"must be odd, got {value}")
        return value

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "type": self.type, "default": _jsonable(self.default), "label": self.label}
        for key in ("min", "max", "step"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.choices:
            d["choices"] = list(self.choices)
        if self.odd:
            d["odd"] = True
        if self.pixels:
            d["pixels"] = True
        if self.help:
            d["help"] = self.help
        return d


@dataclass(frozen=True)
class OpResult:
    """What an operation returns when it also measures or finds things."""

    image: np.ndarray
    detections: tuple[Detection, ...] = ()
    table: tuple[dict[str, Any], ...] = ()  # per-object measurements (Fiji's Results table)


@dataclass(frozen=True)
class OpSpec:
    name: str  # the id used in pipeline files, e.g. "gaussian_blur"
    title: str
    category: str
    func: Callable[..., Any] = field(repr=False)
    params: tuple[Param, ...] = ()
    help: str = ""

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate(self, params: dict[str, Any], partial: bool = True) -> dict[str, Any]:
        """Complete `params` with defaults (when partial) and check every value."""
        known = {p.name for p in self.params}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParamError(unknown[0], f"unknown parameter for {self.name} "
                                         f"(known: {', '.join(sorted(known)) or 'none'})")
        out = {}
        for p in self.params:
            if p.name in params:
                out[p.name] = p.validate(params[p.name])
            elif partial:
                out[p.name] = p.default
            else:
                raise ParamError(p.name, "missing")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.name, "title": self.title, "category": self.category, "help": self.help,
                "params": [p.to_dict() for p in self.params]}

    def __call__(self, image: np.ndarray, **params) -> OpResult:
        """Run on `image` (RGB uint8 H x W x 3 or gray uint8 H x W) with validated params."""
        values = self.validate(params)
        out = self.func(image, **values)
        if isinstance(out, OpResult):
            return out
        return OpResult(image=out)


REGISTRY: dict[str, OpSpec] = {}


def op(name: str, title: str, category: str, *params: Param, help: str = ""):
    """Decorator: register a pure function `f(image, **params) -> array | OpResult`."""
    def wrap(func):
        if name in REGISTRY:
            raise ValueError(f"operation {name!r} registered twice")
        REGISTRY[name] = OpSpec(name=name, title=title, category=category, func=func,
                                params=tuple(params), help=help or (func.__doc__ or "").strip().split("\n")[0])
        return func
    return wrap


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


# ----------------------------------------------------------------- shared helpers for ops

class _LazyCv2:
    """`cv2` for op modules, imported on first use: the window (which lists the
    operations in its Pipeline panel) must not pay OpenCV's ~120 ms import at start-up."""

    def __getattr__(self, name: str):
        import cv2 as real

        return getattr(real, name)


cv2 = _LazyCv2()


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def to_rgb(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
