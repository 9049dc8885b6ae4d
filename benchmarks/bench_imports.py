"""Imports: where start-up import time goes, from `python -X importtime`.

Runs `python -X importtime -c "import <STARTUP_MODULES>"` (everything the GUI
start-up path imports) `repeat` times in fresh processes and reports medians:
  package   self time summed per top-level package (what each library costs);
  edge      the third-party imports made directly by vision_studio modules,
            with their cumulative time (the lines to make lazy, if any).
-X importtime adds some overhead of its own; read the numbers relative to each other.
"""
from __future__ import annotations

import os
import subprocess
from collections import defaultdict

from _common import REPO, median, python_exe

STARTUP_MODULES = ("vision_studio.app", "vision_studio.cli", "vision_studio.gui.application",
                   "vision_studio.gui.main_window")
TOP_PACKAGES, TOP_EDGES = 10, 10


def run(repeat: int = 10) -> list[dict]:
    runs = [_profile() for _ in range(max(1, repeat))]
    package_ms: dict[str, list[float]] = defaultdict(list)
    edge_ms: dict[str, list[float]] = defaultdict(list)
    totals = []
    for entries in runs:
        per_package: dict[str, float] = defaultdict(float)
        for name, parent, self_us, cum_us in entries:
            per_package[name.split(".")[0]] += self_us / 1000
            if parent and parent.startswith("vision_studio") and not name.startswith("vision_studio"):
                edge_ms[f"{parent} -> {name}"].append(cum_us / 1000)
        for pkg, ms in per_package.items():
            package_ms[pkg].append(ms)
        totals.append(sum(per_package.values()))

    rows = [{"kind": "total", "name": "all imports (sum of self times)", "ms": median(totals)}]
    for pkg, values in sorted(package_ms.items(), key=lambda kv: -median(kv[1]))[:TOP_PACKAGES]:
        rows.append({"kind": "package", "name": pkg, "ms": median(values)})
    for edge, values in sorted(edge_ms.items(), key=lambda kv: -median(kv[1]))[:TOP_EDGES]:
        rows.append({"kind": "edge", "name": edge, "ms": median(values)})
    return rows


def _profile() -> list[tuple[str, str | None, int, int]]:
    """(module, importing module or None, self us, cumulative us) for one fresh process."""
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    code = "import " + ", ".join(STARTUP_MODULES)
    proc = subprocess.run([python_exe(), "-X", "importtime", "-c", code], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"import failed: {proc.stderr.strip().splitlines()[-1:]}")
    lines = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, raw = line[len("import time:"):].split("|", 2)
        depth = (len(raw) - len(raw.lstrip(" ")) - 1) // 2  # one space after '|', two per level
        lines.append((raw.strip(), depth, int(self_us), int(cum_us)))
    # Output is post-order (children before their parent): walk it backwards with a stack.
    out, stack = [], []
    for name, depth, self_us, cum_us in reversed(lines):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        out.append((name, stack[-1][1] if stack else None, self_us, cum_us))
        stack.append((depth, name))
    return out
