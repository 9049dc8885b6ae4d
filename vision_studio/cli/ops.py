"""`vision-studio ops`: every operation with its parameters and ranges."""
from __future__ import annotations

import json

from vision_studio.core.ops import all_ops


def register(sub):
    p = sub.add_parser("ops", help="list the image operations and their parameters")
    p.add_argument("--json", action="store_true", help="machine-readable specs")
    p.set_defaults(func=lambda args: cmd_ops(args.json))
    return p


def cmd_ops(as_json: bool) -> int:
    specs = all_ops()
    if as_json:
        print(json.dumps([s.to_dict() for s in specs], indent=2, ensure_ascii=False))
        return 0
    category = None
    for spec in specs:
        if spec.category != category:
            category = spec.category
            print(f"\n{category}")
        print(f"  {spec.name:<22} {spec.title}" + (f" — {spec.help}" if spec.help else ""))
        for p in spec.params:
            print(f"      {p.name:<18} {_describe(p)}")
    return 0


def _describe(p) -> str:
    if p.type == "choice":
        text = f"one of {'|'.join(p.choices)}"
    elif p.type in ("int", "float"):
        lo = "" if p.min is None else f"{p.min:g}"
        hi = "" if p.max is None else f"{p.max:g}"
        text = f"{p.type} {lo}..{hi}" + (" odd" if p.odd else "")
    else:
        text = p.type
    return f"{text}, default {json.dumps(p.default) if not isinstance(p.default, tuple) else list(p.default)}"
