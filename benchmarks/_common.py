"""Shared helpers for the benchmarks (stdlib only)."""
from __future__ import annotations

import math
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def python_exe() -> str:
    """The interpreter the app is installed in: $VS_BENCH_PYTHON, else .venv, else this one."""
    override = os.environ.get("VS_BENCH_PYTHON")
    if override:
        return override
    venv = REPO / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return str(venv) if venv.exists() else sys.executable


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def p90(values: list[float]) -> float:
    """90th percentile, linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]
