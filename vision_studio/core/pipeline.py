"""An ordered list of operation steps, its JSON file format, and running it.

File format (version 1):
    {"version": 1, "steps": [{"op": "gaussian_blur", "params": {"ksize": 5}, "enabled": true}]}

Every problem in a file is a PipelineError whose one-line message names the
step (1-based, with its op) and the field. `run_pipeline` is what both the GUI
(full-resolution result) and `vision-studio analyze` call, so their outputs
are identical for the same pipeline and image.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

# Nothing heavy at import time: the window creates an empty Pipeline at start-up,
# and the operations (with numpy and their OpenCV wrappers) load on first use.
if TYPE_CHECKING:
    import numpy as np

    from vision_studio.core.ops.spec import OpSpec
    from vision_studio.core.results import Detection

VERSION = 1


class PipelineError(ValueError):
    """A pipeline (file) is invalid. str() is one line naming the step and field."""


class Cancelled(Exception):
    """Raised between steps when the caller asked to stop."""


@dataclass(frozen=True)
class Step:
    op: str
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    @property
    def spec(self) -> OpSpec:
        from vision_studio.core.ops import get_op

        return get_op(self.op)

    def with_params(self, **changes) -> Step:
        return replace(self, params={**self.params, **changes})

    def to_dict(self) -> dict[str, Any]:
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return {"op": self.op, "params": params, "enabled": self.enabled}


@dataclass(frozen=True)
class Pipeline:
    steps: tuple[Step, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "steps", tuple(self.steps))

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "steps": [s.to_dict() for s in self.steps]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    # Editing returns new pipelines: the GUI's undo stack keeps the old values.
    def inserted(self, index: int, step: Step) -> Pipeline:
        steps = list(self.steps)
        steps.insert(index, step)
        return Pipeline(steps)

    def removed(self, index: int) -> Pipeline:
        steps = list(self.steps)
        del steps[index]
        return Pipeline(steps)

    def moved(self, src: int, dst: int) -> Pipeline:
        steps = list(self.steps)
        steps.insert(dst, steps.pop(src))
        return Pipeline(steps)

    def replaced(self, index: int, step: Step) -> Pipeline:
        steps = list(self.steps)
        steps[index] = step
        return Pipeline(steps)


def make_step(op: str, **params) -> Step:
    """A step with every parameter filled in from the op's defaults (validated)."""
    from vision_studio.core.ops import get_op

    spec = get_op(op)
    return Step(op=op, params=spec.validate(params))


def from_dict(data: Any) -> Pipeline:
    if not isinstance(data, dict):
        raise PipelineError("expected a JSON object with \"version\" and \"steps\"")
    version = data.get("version")
    if version is None:
        raise PipelineError("missing \"version\" (this program writes version 1)")
    if version != VERSION:
        raise PipelineError(f"unsupported version {version!r} (this program reads version {VERSION})")
    unknown = sorted(set(data) - {"version", "steps", "name", "description"})
    if unknown:
        raise PipelineError(f"unknown top-level field {unknown[0]!r}")
    steps_data = data.get("steps")
    if not isinstance(steps_data, list):
        raise PipelineError("\"steps\" must be a list")
    steps = []
    for i, raw in enumerate(steps_data, start=1):
        steps.append(_step_from_dict(i, raw))
    return Pipeline(steps)


def _step_from_dict(i: int, raw: Any) -> Step:
    from vision_studio.core.ops import ParamError, UnknownOperation, get_op

    where = f"step {i}"
    if not isinstance(raw, dict):
        raise PipelineError(f"{where}: expected an object like {{\"op\": ..., \"params\": {{...}}}}")
    name = raw.get("op")
    if not isinstance(name, str):
        raise PipelineError(f"{where}: missing \"op\"")
    where = f"step {i} ({name})"
    try:
        spec = get_op(name)
    except UnknownOperation:
        raise PipelineError(f"{where}: unknown operation {name!r} (see `vision-studio ops`)") from None
    extra = sorted(set(raw) - {"op", "params", "enabled"})
    if extra:
        raise PipelineError(f"{where}: unknown field {extra[0]!r}")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise PipelineError(f"{where}: \"params\" must be an object")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PipelineError(f"{where}: \"enabled\" must be true or false")
    try:
        values = spec.validate(params)
    except ParamError as exc:
        raise PipelineError(f"{where}: {exc}") from None
    return Step(op=name, params=values, enabled=enabled)


def loads(text: str) -> Pipeline:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PipelineError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return from_dict(data)


def load(path: str | os.PathLike) -> Pipeline:
    """Read and validate a pipeline file; PipelineError's message starts with the path."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise PipelineError(f"{path}: is a folder, not a pipeline file") from None
    except PermissionError:
        raise PipelineError(f"{path}: permission denied") from None
    except UnicodeDecodeError:
        raise PipelineError(f"{path}: not a text (UTF-8 JSON) file") from None
    except OSError as exc:
        raise PipelineError(f"{path}: {exc.strerror or exc}") from None
    try:
        return loads(text)
    except PipelineError as exc:
        raise PipelineError(f"{path}: {exc}") from None


def save(pipeline: Pipeline, path: str | os.PathLike) -> Path:
    from vision_studio.core.export import atomic_write

    with atomic_write(path) as fh:
        fh.write(pipeline.to_json().encode("utf-8"))
    return Path(path)


# ----------------------------------------------------------------------------- running

@dataclass(frozen=True)
class PipelineOutput:
    image: np.ndarray  # RGB uint8 H x W x 3, or gray uint8 H x W
    detections: tuple[Detection, ...] = ()
    tables: tuple[tuple[str, tuple[dict, ...]], ...] = ()  # (step title, rows)
    scale: float = 1.0  # image pixels per original pixel (a preview proxy is < 1)


def scaled_params(spec: OpSpec, params: dict[str, Any], scale: float) -> dict[str, Any]:
    """Lengths in pixels shrink with a downscaled preview, so the preview looks like the result."""
    if scale == 1.0:
        return params
    out = dict(params)
    for p in spec.params:
        if p.pixels and p.name in out and p.type == "rect":
            out[p.name] = tuple(max(1 if i >= 2 else 0, int(round(v * scale))) for i, v in enumerate(out[p.name]))
            continue
        if p.pixels and p.name in out and p.type in ("int", "float"):
            value = out[p.name] * scale
            if p.type == "int":
                value = max(int(p.min if p.min is not None else 1), int(round(value)))
                if p.odd and value % 2 == 0:
                    value += 1
                if p.max is not None:
                    value = min(value, int(p.max))
            out[p.name] = value
    return out


def run_pipeline(pipeline: Pipeline, image: np.ndarray, scale: float = 1.0,
                 should_stop: Callable[[], bool] | None = None) -> PipelineOutput:
    """Apply the enabled steps in order. `scale` < 1 marks a preview proxy.

    Detections are in the pixel frame of the step that produced them, mapped
    back to full resolution when running on a proxy. (A later geometry step,
    such as crop or rotate, does not move earlier detections.)
    """
    from vision_studio.core.ops import ParamError

    current = image
    detections: list[Detection] = []
    tables: list[tuple[str, tuple[dict, ...]]] = []
    for i, step in enumerate(pipeline.steps, start=1):
        if not step.enabled:
            continue
        if should_stop is not None and should_stop():
            raise Cancelled()
        spec = step.spec
        try:
            result = spec(current, **scaled_params(spec, step.params, scale))
        except ParamError as exc:
            raise PipelineError(f"step {i} ({step.op}): {exc}") from None
        current = result.image
        detections.extend(d.scaled(1.0 / scale) if scale != 1.0 else d for d in result.detections)
        if result.table:
            tables.append((spec.title, tuple(result.table)))
    return PipelineOutput(image=current, detections=tuple(detections), tables=tuple(tables), scale=scale)

