"""`vision-studio models`: the object-detection models the app knows, and optimizing them.

    vision-studio models list [--json]
    vision-studio models optimize PATH [--format openvino|onnx] [--imgsz N] [--half] [--dynamic]
                                       [--int8 [--calibration DIR|IMAGE ...]]

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
    op.add_argument("--int8", action="store_true",
                    help="OpenVINO INT8 (NNCF): fastest on CPUs with VNNI/AMX, slightly less accurate")
    op.add_argument("--calibration", nargs="+", metavar="PATH",
                    help="with --int8: images or folders like the ones you will analyze (default: 2 sample photos)")
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
                    (" int8" if row.get("int8") else "") + \
                    (" dynamic" if row.get("dynamic") else "") + f"  from {row['source']}"
        print(f"  {row['kind']:<10} {row['format']:<11} {row['path']}{extra}{state}")
    return 0


def cmd_optimize(args) -> int:
    if args.imgsz < 32 or args.imgsz % 32:
        print(f"vision-studio models optimize: error: --imgsz must be a positive multiple of 32, got {args.imgsz}",
              file=sys.stderr)
        return 2
    if (args.int8 or args.calibration) and args.format != "openvino":
        print("vision-studio models optimize: error: --int8 needs --format openvino", file=sys.stderr)
        return 2
    if args.calibration and not args.int8:
        print("vision-studio models optimize: error: --calibration goes with --int8", file=sys.stderr)
        return 2
    path = Path(args.path)
    try:
        source = models.optimizable_source(path)
        out = models.find_optimized(source, args.format, args.imgsz, half=args.half, dynamic=args.dynamic,
                                    int8=args.int8)
        if out is None:
            kind = f"{args.format}{' int8' if args.int8 else ''}"
            print(f"optimizing {source} for {kind} at {args.imgsz} px (once; this takes a while)...",
                  file=sys.stderr, flush=True)
            out = models.optimize(source, args.format, args.imgsz, half=args.half, dynamic=args.dynamic,
                                  int8=args.int8, calibration=args.calibration)
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
