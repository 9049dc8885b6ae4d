"""`vision-studio models`: the object-detection models the app knows, and optimizing them.

    vision-studio models list [--json]
    vision-studio models optimize PATH [--format openvino|onnx] [--imgsz N] [--half] [--dynamic]

`list` reads only files (no torch import): the default model, downloaded and recently used
models, and the exports `optimize` cached. `optimize` exports a .pt once (to
DATA_DIR/models/optimized/) and prints the path of the export; running it again prints the
cached one at once.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from vision_studio.core.detection import models
from vision_studio.core.detection.settings import models_dir


def register(sub):
    p = sub.add_parser("models", help="list the object-detection models; optimize one for this CPU")
    msub = p.add_subparsers(dest="models_command", required=True, parser_class=type(p))
    lp = msub.add_parser("list", help="default, downloaded and recent models, and cached optimized exports")
    lp.add_argument("--json", action="store_true", help="one JSON list instead of text")
    lp.set_defaults(func=lambda args: cmd_list(as_json=args.json))
    op = msub.add_parser("optimize", help="export a .pt model to OpenVINO or ONNX once and cache it")
    op.add_argument("path", metavar="PATH", help="a .pt model file (or an official name already downloaded)")
    op.add_argument("--format", choices=models.FORMATS, default="openvino",
                    help="openvino (fastest on Intel/AMD CPUs, default) or onnx (onnxruntime)")
    op.add_argument("--imgsz", type=int, default=640, metavar="N", help="input size, multiple of 32 (default 640)")
    op.add_argument("--half", action="store_true", help="FP16 weights (smaller; same speed on most CPUs)")
    op.add_argument("--dynamic", action="store_true", help="dynamic input shape (rectangular inference)")
    op.set_defaults(func=cmd_optimize)
    return p


def cmd_list(as_json: bool = False) -> int:
    rows = models.list_models()
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"models folder: {models_dir()}")
    for row in rows:
        state = "" if row["available"] else "  (not downloaded)" if row["kind"] == "default" else "  (missing)"
        extra = ""
        if row["kind"] == "optimized":
            extra = f"  imgsz {row['imgsz']}" + (" fp16" if row.get("half") else "") + \
                    (" dynamic" if row.get("dynamic") else "") + f"  from {row['source']}"
        print(f"  {row['kind']:<10} {row['format']:<11} {row['path']}{extra}{state}")
    return 0


def cmd_optimize(args) -> int:
    if args.imgsz < 32 or args.imgsz % 32:
        print(f"vision-studio models optimize: error: --imgsz must be a positive multiple of 32, got {args.imgsz}",
              file=sys.stderr)
        return 2
    path = Path(args.path)
    try:
        source = models.optimizable_source(path)
        out = models.find_optimized(source, args.format, args.imgsz, half=args.half, dynamic=args.dynamic)
        if out is None:
            print(f"optimizing {source} for {args.format} at {args.imgsz} px (once; this takes a while)...",
                  file=sys.stderr, flush=True)
            out = models.optimize(source, args.format, args.imgsz, half=args.half, dynamic=args.dynamic)
    except models.ModelError as exc:
        reason = str(exc)
        for prefix in (f"{path}: ", f"{path.name}: "):
            if reason.startswith(prefix):
                reason = reason[len(prefix):]
                break
        print(f"{path}: error: {reason}", file=sys.stderr)
        return 1
    print(out)
    return 0
