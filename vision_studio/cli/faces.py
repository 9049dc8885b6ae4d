"""`vision-studio faces ...`: the gallery of known people, from the command line.

    faces enroll NAME IMAGE...     add one person's faces (one face per image)
    faces import DIR               one sub-folder per person (DIR/<name>/*.jpg)
    faces list | rename OLD NEW | remove NAME | merge A B
    faces cluster DIR... [--enroll "Unknown 2=Jane"]
    faces export DIR | import-gallery DIR
    faces eval DIR                 accuracy etc. on DIR/<name>/ and DIR/unknown/

Every action takes --gallery DB (default: DATA_DIR/faces.sqlite; VISION_STUDIO_DATA_DIR
moves DATA_DIR). Bad inputs are reported as `PATH: error: REASON` on stderr and
skipped; the exit status is 1 when some input failed, 2 on usage errors.
Only the actions that look at images load face_recognition (~2 s).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vision_studio.core.faces.gallery import (
    Gallery,
    GalleryError,
    check_name,
    default_gallery_path,
)
from vision_studio.core.image_io import (
    ImageReadError,
    list_images,
    natural_key,
    read_image,
)

UNKNOWN_FOLDER = "unknown"

EVAL_HELP = """\
DIR holds one sub-folder per person, named as in the gallery (case does not
matter), and a sub-folder `unknown` with people who are NOT in the gallery.
Each image is one sample: its largest face is recognized (an image without a
detected face is predicted "Unknown" and also counted under "no face").
A sub-folder whose name is not in the gallery counts as `unknown` (with a warning).

With N images, truth t (a gallery person or Unknown) and prediction p:
  accuracy      = #(p == t) / N                 (Unknown == Unknown counts as right)
  precision     = #(p == t, p named) / #(p named)
                  of the faces given a name, the fraction given the RIGHT name
  recall        = #(p == t, t named) / #(t named)
                  of the faces of gallery people, the fraction named correctly
  unknown rate  = #(p == Unknown) / N           (all images predicted Unknown)
  false accepts = #(p named, t == Unknown) / #(t == Unknown)
                  people not in the gallery who were given someone's name
The confusion matrix has a row per truth and a column per prediction
(plus "no face"); rows and columns are in the same order.
"""


def register(sub):
    p = sub.add_parser("faces", help="face gallery: enroll, list, cluster, evaluate",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="faces_command", required=True, metavar="ACTION")

    def action(name, help, func, images=False, recognition=False, **kw):
        a = actions.add_parser(name, help=help, description=kw.pop("description", help), **kw)
        a.add_argument("--gallery", metavar="DB", help=f"gallery file (default {default_gallery_path()})")
        a.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
        if images:
            _image_options(a, recognition)
        a.set_defaults(func=func)
        return a

    a = action("enroll", "add faces of one person from images (exactly one face per image)",
               cmd_enroll, images=True)
    a.add_argument("name", metavar="NAME")
    a.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")

    a = action("import", "enroll a folder with one sub-folder per person (DIR/NAME/*.jpg)",
               cmd_import, images=True)
    a.add_argument("folder", metavar="DIR")

    a = action("list", "list the people in the gallery with their number of faces", cmd_list)
    a.add_argument("--json", action="store_true", help="a JSON list instead of a table")

    a = action("rename", "rename a person", cmd_rename)
    a.add_argument("old", metavar="OLD")
    a.add_argument("new", metavar="NEW")

    a = action("remove", "delete a person with every face and thumbnail", cmd_remove)
    a.add_argument("name", metavar="NAME")

    a = action("merge", "move every face of person A to person B and delete A", cmd_merge)
    a.add_argument("source", metavar="A")
    a.add_argument("target", metavar="B")

    a = action("cluster", "group the faces the gallery does not know; name a group with --enroll",
               cmd_cluster, images=True, recognition=True,
               description="Find faces in DIR, leave out those the gallery recognizes, and group the "
                           "rest into clusters 'Unknown 1' (largest), 'Unknown 2', ... The numbering "
                           "is the same on every run while DIR, the gallery and the options stay the "
                           "same, so: run once to look, then again with --enroll 'Unknown 2=Jane' "
                           "(give every --enroll in one run: enrolling changes what is unknown).")
    a.add_argument("folders", nargs="+", metavar="DIR", help="folders or image files")
    a.add_argument("--recursive", action="store_true", help="include sub-folders")
    a.add_argument("--threshold", type=float, default=0.5,
                   help="faces closer than this are linked (default 0.5)")
    a.add_argument("--all", action="store_true", help="also cluster faces the gallery recognizes")
    a.add_argument("--enroll", action="append", default=[], metavar="'Unknown N=NAME'",
                   help="enroll every face of cluster 'Unknown N' as NAME (repeatable)")
    a.add_argument("--json", action="store_true", help="print the clusters as JSON")

    a = action("export", "write the gallery to a folder (gallery.json, encodings.npy, thumbnails/)",
               cmd_export)
    a.add_argument("folder", metavar="DIR")
    a.add_argument("--overwrite", action="store_true", help="replace an export already in DIR")

    a = action("import-gallery", "add the people of an exported gallery folder (merging by name)",
               cmd_import_gallery)
    a.add_argument("folder", metavar="DIR")

    a = action("eval", "measure recognition on DIR/<person>/ and DIR/unknown/ images", cmd_eval,
               images=True, recognition=True, epilog=EVAL_HELP,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("folder", metavar="DIR")
    a.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return p


def _image_options(a, recognition: bool) -> None:
    g = a.add_argument_group("face detection")
    g.add_argument("--detector", choices=("auto", "hog", "cnn", "yunet"), default="auto",
                   help="hog (fast, CPU), cnn (accurate; ~27 s per 720p image without CUDA), "
                        "yunet (OpenCV, needs --yunet-model); auto = cnn with CUDA, else hog")
    g.add_argument("--yunet-model", metavar="PATH", help="face_detection_yunet_2023mar.onnx")
    g.add_argument("--upsample", type=int, default=1, metavar="N",
                   help="upsample N times to find smaller faces (HOG/CNN; default 1)")
    g.add_argument("--downscale", type=float, default=1.0, metavar="F",
                   help="search a copy shrunk by F (faster, misses small faces; default 1)")
    g.add_argument("--min-face-size", type=int, default=0, metavar="PX", help="ignore smaller faces")
    g.add_argument("--jitters", type=int, default=1, metavar="N",
                   help="re-sample each face N times when encoding (slower, a little steadier)")
    if recognition:
        g.add_argument("--tolerance", type=float, default=0.6,
                       help="largest distance that still names a person (default 0.6)")
        g.add_argument("--margin", type=float, default=0.03,
                       help="the next person must be this much farther, else Unknown (default 0.03)")


# --------------------------------------------------------------------------- helpers

class _Usage(Exception):
    pass


def _say_error(path, reason) -> None:
    print(f"{path}: error: {reason}", file=sys.stderr)


def _options(args):
    from vision_studio.core.faces.detection import (
        FaceError,
        FaceOptions,
        face_engine,
    )

    if args.detector == "yunet":
        if not args.yunet_model:
            raise _Usage("--detector yunet needs --yunet-model PATH (face_detection_yunet_2023mar.onnx)")
        if not Path(args.yunet_model).is_file():
            raise _Usage(f"--yunet-model {args.yunet_model}: file not found")
    try:
        options = FaceOptions(detector=args.detector, upsample=args.upsample, downscale=args.downscale,
                              min_face_size=args.min_face_size, yunet_model=args.yunet_model,
                              num_jitters=args.jitters,
                              tolerance=getattr(args, "tolerance", 0.6), margin=getattr(args, "margin", 0.03))
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    try:
        engine = face_engine()  # fail once, clearly, rather than once per image
    except FaceError as exc:
        raise _Usage(str(exc)) from None
    if options.resolved_detector() == "cnn":
        if not engine.cuda:
            print("note: the cnn detector takes ~27 s per 720p image on a CPU (try hog or yunet)",
                  file=sys.stderr)
    return options


def _open(args, create: bool) -> Gallery:
    return Gallery(args.gallery, create=create)


def _gallery_path(args) -> Path:
    return Path(args.gallery) if args.gallery else default_gallery_path()


def _command(fn):
    """Usage problems -> exit 2, gallery problems -> `PATH: error: REASON` and exit 1."""
    def run(args):
        try:
            return fn(args)
        except _Usage as exc:
            print(f"vision-studio faces {args.faces_command}: error: {exc}", file=sys.stderr)
            return 2
        except GalleryError as exc:
            _say_error(exc.path, exc.reason)
            return 1
    run.__name__ = fn.__name__
    return run


def _name_arg(name: str) -> str:
    try:
        return check_name(name)
    except ValueError as exc:
        raise _Usage(f"{name!r}: {exc}") from None


def _expand(paths, recursive: bool = False) -> tuple[list[Path], int]:
    out: list[Path] = []
    failed = 0
    for p in map(Path, paths):
        if p.is_dir():
            found = list_images(p, recursive=recursive)
            if not found:
                _say_error(p, "no images in this folder")
                failed += 1
            out.extend(found)
        else:
            out.append(p)
    return out, failed


def _faces_in(path: Path, options):
    """(pixels, [(Detection, encoding)]), or None after reporting why not."""
    from vision_studio.core.faces.analyze import analyze_faces_with_encodings
    from vision_studio.core.faces.detection import FaceError

    try:
        image = read_image(path)
        return image.pixels, analyze_faces_with_encodings(image.pixels, options)
    except ImageReadError as exc:
        _say_error(exc.path, exc.reason)
    except FaceError as exc:
        _say_error(path, exc)
    return None


def _enroll_images(gallery: Gallery, name: str, paths, options, matcher) -> tuple[int, int]:
    """Enroll each image's single face as `name`; (faces added, images failed)."""
    from vision_studio.core.faces.gallery import face_thumbnail

    added = failed = 0
    for path in paths:
        got = _faces_in(path, options)
        if got is None:
            failed += 1
            continue
        pixels, found = got
        if len(found) != 1:
            _say_error(path, "no face found, skipped" if not found else
                       f"{len(found)} faces found, skipped (enroll needs exactly one face per image; "
                       "crop it, or name it with `faces cluster`)")
            failed += 1
            continue
        face, encoding = found[0]
        match = matcher.match(encoding)
        if match.known and match.identity.casefold() != name.casefold():
            print(f"{path}: warning: this face looks like {match.identity} (distance {match.distance:.3f}); "
                  f"enrolled as {name} anyway", file=sys.stderr)
        source = str(path.resolve())
        if gallery.enroll(name, encoding, face_thumbnail(pixels, face.box), source) is None:
            print(f"{path}: already enrolled as {name}, skipped")
            continue
        print(f"{path}: enrolled as {name}")
        added += 1
    return added, failed


# --------------------------------------------------------------------------- actions

@_command
def cmd_enroll(args) -> int:
    from vision_studio.core.faces.matching import Matcher

    name = _name_arg(args.name)
    options = _options(args)
    paths, failed = _expand(args.images)
    with _open(args, create=True) as gallery:
        matcher = Matcher.from_gallery(gallery, options.tolerance, options.margin)
        added, bad = _enroll_images(gallery, name, paths, options, matcher)
        person = gallery.person(name)
        total = person.faces if person else 0
        print(f"{name}: {added} face(s) added, {total} in {gallery.path}")
    return 1 if failed or bad else 0


@_command
def cmd_import(args) -> int:
    from vision_studio.core.faces.matching import Matcher

    root = Path(args.folder)
    if not root.is_dir():
        _say_error(root, "not a folder")
        return 1
    options = _options(args)
    entries = sorted((p for p in root.iterdir() if not p.name.startswith(".")), key=natural_key)
    failed = 0
    with _open(args, create=True) as gallery:
        matcher = Matcher.from_gallery(gallery, options.tolerance, options.margin)
        total_added = people = 0
        for entry in entries:
            if not entry.is_dir():
                print(f"{entry}: not in a person folder, skipped", file=sys.stderr)
                continue
            if entry.name.casefold() == UNKNOWN_FOLDER:
                print(f"{entry}: the '{UNKNOWN_FOLDER}' folder is for `faces eval`, skipped", file=sys.stderr)
                continue
            try:
                name = check_name(entry.name)
            except ValueError as exc:
                _say_error(entry, f"{exc}; folder skipped")
                failed += 1
                continue
            images = list_images(entry)
            if not images:
                _say_error(entry, "no images in this folder")
                failed += 1
                continue
            added, bad = _enroll_images(gallery, name, images, options, matcher)
            failed += bad
            total_added += added
            people += 1 if added else 0
            print(f"{name}: {added} face(s) added")
        print(f"{total_added} face(s) of {people} people added to {gallery.path}")
    return 1 if failed else 0


@_command
def cmd_list(args) -> int:
    path = _gallery_path(args)
    if not path.exists():
        if args.json:
            print("[]")
        print(f"{path}: no gallery yet (0 people)", file=sys.stderr)
        return 0
    with _open(args, create=False) as gallery:
        people = gallery.people()
    if args.json:
        print(json.dumps([{"name": p.name, "faces": p.faces, "created": p.created} for p in people],
                         indent=2, ensure_ascii=False))
        return 0
    width = max([len(p.name) for p in people] + [4])
    print(f"{'NAME':<{width}}  FACES  CREATED")
    for p in people:
        print(f"{p.name:<{width}}  {p.faces:>5}  {p.created}")
    print(f"{len(people)} people, {sum(p.faces for p in people)} faces in {path}")
    return 0


@_command
def cmd_rename(args) -> int:
    new = _name_arg(args.new)
    with _open(args, create=False) as gallery:
        person = gallery.rename(args.old, new)
    print(f"renamed {args.old} to {person.name} ({person.faces} faces)")
    return 0


@_command
def cmd_remove(args) -> int:
    with _open(args, create=False) as gallery:
        removed = gallery.delete(args.name)
    print(f"removed {args.name} ({removed} faces)")
    return 0


@_command
def cmd_merge(args) -> int:
    with _open(args, create=False) as gallery:
        moved = gallery.merge(args.source, args.target)
        person = gallery.person(args.target)
    print(f"merged {args.source} into {person.name}: {moved} faces moved, {person.faces} in total")
    return 0


@_command
def cmd_export(args) -> int:
    from vision_studio.core.faces.gallery import export_gallery

    with _open(args, create=False) as gallery:
        stats = export_gallery(gallery, args.folder, overwrite=args.overwrite)
    print(f"exported {stats['people']} people, {stats['faces']} faces to {args.folder}")
    return 0


@_command
def cmd_import_gallery(args) -> int:
    from vision_studio.core.faces.gallery import import_gallery

    with _open(args, create=True) as gallery:
        stats = import_gallery(gallery, args.folder)
    print(f"imported {stats['faces']} faces ({stats['people']} new people, "
          f"{stats['duplicates']} already present) into {gallery.path}")
    return 0


def _parse_enroll(specs: list[str]) -> dict[str, str]:
    from vision_studio.core.faces.matching import UNKNOWN

    out: dict[str, str] = {}
    for spec in specs:
        label, sep, name = spec.rpartition("=")
        label = " ".join(label.split())
        if not sep or not label:
            raise _Usage(f"--enroll {spec!r}: use 'Unknown N=NAME'")
        number = label[len(UNKNOWN):].strip() if label.casefold().startswith(UNKNOWN.casefold()) else label
        if not number.isdigit():
            raise _Usage(f"--enroll {spec!r}: {label!r} is not a cluster label like 'Unknown 2'")
        key = f"{UNKNOWN} {int(number)}"
        if key in out:
            raise _Usage(f"--enroll: {key} is given twice")
        out[key] = _name_arg(name)
    return out


@_command
def cmd_cluster(args) -> int:
    from vision_studio.core.faces.clustering import (
        cluster_faces,
        collect_faces,
        enroll_cluster,
    )

    wanted = _parse_enroll(args.enroll)
    if not 0.0 < args.threshold < 2.0:
        raise _Usage("--threshold must be between 0 and 2")
    options = _options(args)
    paths, failed = _expand(args.folders, args.recursive)
    bad: list[str] = []

    def on_error(path, reason):
        _say_error(path, reason)
        bad.append(path)

    exists = _gallery_path(args).exists()
    gallery = _open(args, create=True) if (exists or wanted) else None
    try:
        unknown, known = collect_faces(paths, options, gallery if exists else None,
                                       include_known=args.all, thumbnails=bool(wanted), on_error=on_error)
        clusters = cluster_faces(unknown, args.threshold)
        by_label = {c.label: c for c in clusters}
        missing = [label for label in wanted if label not in by_label]
        if missing:  # all or nothing: a typo must not enroll half of what was asked
            raise _Usage(f"--enroll: no cluster {', '.join(map(repr, missing))} ({len(clusters)} clusters "
                         "found; nothing enrolled)")
        enrolled = {label: (name, enroll_cluster(gallery, by_label[label], name))
                    for label, name in wanted.items()}
    finally:
        if gallery is not None:
            gallery.close()

    if args.json:
        doc = {"clusters": [{"label": c.label, "faces": [
            {"source": s.source, "box": [round(v, 2) for v in s.detection.box]} for s in c.samples]}
            for c in clusters],
            "known": [{"source": s.source, "identity": s.detection.identity,
                       "box": [round(v, 2) for v in s.detection.box]} for s in known],
            "enrolled": {label: {"name": n, "faces": k} for label, (n, k) in enrolled.items()}}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        for c in clusters:
            print(f"{c.label}: {len(c)} face{'s' if len(c) != 1 else ''}")
            for s in c.samples:
                box = ", ".join(f"{v:.0f}" for v in s.detection.box)
                print(f"  {s.source}  [{box}]")
        if known:
            counts: dict[str, int] = {}
            for s in known:
                counts[s.detection.identity] = counts.get(s.detection.identity, 0) + 1
            listed = ", ".join(f"{n} {k}" for n, k in sorted(counts.items()))
            print(f"known (not clustered; --all to include): {listed}")
        if not clusters:
            print("no unknown faces found")
        for label, (name, k) in enrolled.items():
            print(f"{label} -> {name}: {k} face(s) enrolled")
    return 1 if failed or bad else 0


@_command
def cmd_eval(args) -> int:
    from vision_studio.core.faces.analyze import analyze_faces, matcher_for
    from vision_studio.core.faces.detection import FaceError
    from vision_studio.core.faces.matching import UNKNOWN

    root = Path(args.folder)
    if not root.is_dir():
        _say_error(root, "not a folder")
        return 1
    options = _options(args)
    failed = 0
    samples: list[tuple[Path, str, str]] = []  # path, truth, prediction ("no face" possible)
    with _open(args, create=False) as gallery:
        if len(gallery) == 0:
            _say_error(gallery.path, "the gallery is empty: nothing to evaluate")
            return 1
        matcher = matcher_for(gallery, options)
        folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=natural_key)
        for folder in folders:
            if folder.name.casefold() == UNKNOWN_FOLDER:
                truth = UNKNOWN
            else:
                person = gallery.person(folder.name)
                if person is None:
                    print(f"{folder}: warning: {folder.name!r} is not in the gallery; its images count "
                          "as unknown", file=sys.stderr)
                truth = person.name if person else UNKNOWN
            images = list_images(folder)
            if not images:
                _say_error(folder, "no images in this folder")
                failed += 1
            for path in images:
                try:
                    faces = analyze_faces(read_image(path).pixels, options, matcher)
                except ImageReadError as exc:
                    _say_error(exc.path, exc.reason)
                    failed += 1
                    continue
                except FaceError as exc:
                    _say_error(path, exc)
                    failed += 1
                    continue
                pred = max(faces, key=lambda f: f.area).identity if faces else "no face"
                samples.append((path, truth, pred))
    if not samples:
        _say_error(root, "no images to evaluate (expected DIR/<person>/*.jpg)")
        return 1
    report = eval_metrics([(t, p) for _, t, p in samples])
    report["wrong"] = [{"image": str(path), "truth": t, "prediction": p}
                       for path, t, p in samples if (UNKNOWN if p == "no face" else p) != t]
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(format_eval(report, root))
    return 1 if failed else 0


def eval_metrics(pairs: list[tuple[str, str]]) -> dict:
    """Metrics of (truth, prediction) pairs as EVAL_HELP defines them."""
    from vision_studio.core.faces.matching import UNKNOWN

    def ratio(a, b):
        return {"value": a / b if b else None, "count": a, "of": b}

    norm = [(t, UNKNOWN if p == "no face" else p) for t, p in pairs]
    n = len(norm)
    right = sum(t == p for t, p in norm)
    named = [(t, p) for t, p in norm if p != UNKNOWN]
    known = [(t, p) for t, p in norm if t != UNKNOWN]
    strangers = [(t, p) for t, p in norm if t == UNKNOWN]
    people = sorted(({t for t, _ in pairs} | {p for _, p in pairs}) - {UNKNOWN, "no face"}, key=str.casefold)
    rows = people + [UNKNOWN]
    cols = people + [UNKNOWN, "no face"]
    matrix = {r: {c: 0 for c in cols} for r in rows}
    for t, p in pairs:
        matrix[t][p] += 1
    return {
        "images": n,
        "accuracy": ratio(right, n),
        "precision": ratio(sum(t == p for t, p in named), len(named)),
        "recall": ratio(sum(t == p for t, p in known), len(known)),
        "unknown_rate": ratio(sum(p == UNKNOWN for _, p in norm), n),
        "false_accepts": ratio(sum(p != UNKNOWN for _, p in strangers), len(strangers)),
        "no_face": sum(p == "no face" for _, p in pairs),
        "labels": {"rows": rows, "columns": cols},
        "confusion": [[matrix[r][c] for c in cols] for r in rows],
    }


def format_eval(report: dict, root: Path) -> str:
    def line(label, key, what):
        r = report[key]
        value = "n/a" if r["value"] is None else f"{r['value']:.3f}"
        return f"{label:<14}{value:>6}  ({r['count']}/{r['of']} {what})"

    rows, cols = report["labels"]["rows"], report["labels"]["columns"]
    corner = "truth \\ predicted"
    width = max(len(x) for x in rows + [corner])
    colw = [max(5, len(c)) for c in cols]
    out = [f"{report['images']} images in {root}",
           line("accuracy", "accuracy", "right"),
           line("precision", "precision", "named faces with the right name"),
           line("recall", "recall", "faces of gallery people named correctly"),
           line("unknown rate", "unknown_rate", "images predicted Unknown"),
           line("false accepts", "false_accepts", "unknown people given a name"),
           f"{'no face':<14}{report['no_face']:>6}  (images without a detected face)",
           "", "confusion matrix (rows: truth, columns: prediction)",
           f"{corner:<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cols, colw))]
    for r, counts in zip(rows, report["confusion"]):
        out.append(f"{r:<{width}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(counts, colw)))
    for w in report["wrong"]:
        out.append(f"wrong: {w['image']}: {w['truth']} predicted as {w['prediction']}")
    return "\n".join(out)
