"""Worker jobs of the Faces panel: every gallery read/write and every face encoding.

No Qt here: these run in JobRunner's pool threads and return plain values. Each job
opens its own Gallery and closes it before returning: the GUI thread never touches
SQLite, and a connection never outlives the thread that opened it. Errors are
raised (GalleryError / FaceError carry one-line messages); the runner hands them
to the panel. Per-image problems while enrolling ("no face", "several faces",
unreadable files) do not stop a job: they come back as `notes`, one line each.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PersonRow:
    name: str
    faces: int
    thumbnail: bytes | None  # JPEG of the person's first stored face


@dataclass(frozen=True)
class EnrollReport:
    added: int = 0
    people: tuple[str, ...] = ()  # who got new faces
    notes: tuple[str, ...] = ()  # 'file: no face found, skipped', ...

    def summary(self) -> str:
        who = ", ".join(self.people) if self.people else "nobody"
        text = f"{self.added} face{'s' if self.added != 1 else ''} enrolled ({who})"
        if self.notes:
            text += f"; {len(self.notes)} skipped: " + " · ".join(self.notes[:3])
            if len(self.notes) > 3:
                text += " · …"
        return text


@dataclass(frozen=True, eq=False)
class ClusterReport:
    clusters: list = field(default_factory=list)  # core Cluster objects, "Unknown 1" first
    known: int = 0  # faces the gallery already names
    images: int = 0
    notes: tuple[str, ...] = ()


def _gallery(path, create: bool = True):
    from vision_studio.core.faces import Gallery

    return Gallery(path, create=create)


def load_people(path: str | None) -> list[PersonRow]:
    """Everyone in the gallery with a thumbnail; [] when the file does not exist yet
    (looking must not create a gallery)."""
    from vision_studio.core.faces import default_gallery_path

    if not Path(path or default_gallery_path()).exists():
        return []
    with _gallery(path, create=False) as gallery:
        people = gallery.people()
        thumbs: dict[str, bytes] = {}
        for face in gallery.faces():
            if face.thumbnail and face.person not in thumbs:
                thumbs[face.person] = face.thumbnail
    return [PersonRow(p.name, p.faces, thumbs.get(p.name)) for p in people]


def preload_dlib() -> str:
    """Start the face engine (dlib in its helper process: core/faces/engine.py, which also
    checks that face_recognition imports); what "auto" means here. FaceError if it cannot."""
    from vision_studio.core.faces.detection import default_detector, face_engine

    face_engine()
    return default_detector()


def _enroll_paths(gallery, name: str, paths: Sequence[Path], options, notes: list[str]) -> int:
    """Enroll each image's single face as `name`; problems go to `notes`."""
    from vision_studio.core.faces import (
        FaceError,
        analyze_faces_with_encodings,
        face_thumbnail,
    )
    from vision_studio.core.image_io import ImageReadError, read_image

    added = 0
    for path in paths:
        try:
            pixels = read_image(path).pixels
            found = analyze_faces_with_encodings(pixels, options)
        except ImageReadError as exc:
            notes.append(str(exc))
            continue
        except FaceError as exc:
            notes.append(f"{path}: {exc}")
            continue
        if len(found) != 1:
            notes.append(f"{Path(path).name}: no face found, skipped" if not found else
                         f"{Path(path).name}: {len(found)} faces found, skipped (one face per image)")
            continue
        face, encoding = found[0]
        if gallery.enroll(name, encoding, face_thumbnail(pixels, face.box), str(Path(path).resolve())) is None:
            notes.append(f"{Path(path).name}: already enrolled as {name}, skipped")
            continue
        added += 1
    return added


def enroll_files(path: str | None, name: str, files: Sequence[str], options) -> Iterator:
    """Generator job: enroll one face per image as `name`; yields (done, total)."""
    from vision_studio.core.faces import check_name

    name = check_name(name)  # ValueError with a clear line before any work
    notes: list[str] = []
    added = 0
    with _gallery(path) as gallery:
        for i, file in enumerate(files):
            added += _enroll_paths(gallery, name, [Path(file)], options, notes)
            yield i + 1, len(files)
    return EnrollReport(added, (name,) if added else (), tuple(notes))


def import_folder(path: str | None, root: str, options) -> Iterator:
    """Generator job: one sub-folder per person (ROOT/<name>/*.jpg, as `faces import`); yields (done, total)."""
    from vision_studio.core.faces import check_name
    from vision_studio.core.image_io import list_images, natural_key

    root_path = Path(root)
    if not root_path.is_dir():
        raise ValueError(f"{root}: not a folder")
    notes: list[str] = []
    plan: list[tuple[str, list[Path]]] = []
    for entry in sorted((p for p in root_path.iterdir() if not p.name.startswith(".")), key=natural_key):
        if not entry.is_dir():
            continue  # loose files are not anybody's photos
        if entry.name.casefold() == "unknown":
            notes.append(f"{entry.name}: the 'unknown' folder is for evaluation, skipped")
            continue
        try:
            plan.append((check_name(entry.name), list_images(entry)))
        except ValueError as exc:
            notes.append(f"{entry.name}: {exc}; folder skipped")
    total = sum(len(images) for _, images in plan)
    if not plan:
        raise ValueError(f"{root}: no person sub-folders (expected {root_path.name}/<name>/*.jpg)")
    added, people, done = 0, [], 0
    with _gallery(path) as gallery:
        for name, images in plan:
            if not images:
                notes.append(f"{name}: no images in this folder")
            got = 0
            for image in images:
                got += _enroll_paths(gallery, name, [image], options, notes)
                done += 1
                yield done, total
            added += got
            if got:
                people.append(name)
    return EnrollReport(added, tuple(people), tuple(notes))


def enroll_face(path: str | None, name: str, pixels, box, source: str | None, num_jitters: int = 1) -> EnrollReport:
    """Encode the face in `box` of `pixels` (a face clicked on the canvas) and enroll it as `name`."""
    from vision_studio.core.faces import (
        FaceError,
        check_name,
        encode_faces,
        face_thumbnail,
    )

    name = check_name(name)
    encodings = encode_faces(pixels, [tuple(box)], num_jitters=num_jitters)
    if len(encodings) != 1:
        raise FaceError("could not encode that face")
    with _gallery(path) as gallery:
        row = gallery.enroll(name, encodings[0], face_thumbnail(pixels, box), source)
    if row is None:
        return EnrollReport(0, (), (f"that face is already enrolled as {name}",))
    return EnrollReport(1, (name,))


def rename_person(path: str | None, old: str, new: str) -> str:
    with _gallery(path, create=False) as gallery:
        return gallery.rename(old, new).name


def merge_people(path: str | None, source: str, target: str) -> int:
    with _gallery(path, create=False) as gallery:
        return gallery.merge(source, target)


def delete_person(path: str | None, name: str) -> int:
    with _gallery(path, create=False) as gallery:
        return gallery.delete(name)


def export_gallery(path: str | None, folder: str) -> dict:
    from vision_studio.core.faces import export_gallery as export

    with _gallery(path, create=False) as gallery:
        return export(gallery, folder, overwrite=True)  # the panel asked before replacing an export


def import_gallery(path: str | None, folder: str) -> dict:
    from vision_studio.core.faces import import_gallery as import_

    with _gallery(path) as gallery:
        return import_(gallery, folder)


def cluster_folder(path: str | None, images: Sequence[str], options, recognize: bool = True) -> Iterator:
    """Generator job: faces of `images` the gallery does not know, grouped into clusters;
    yields (done, total). The matcher is built once, not per image."""
    from vision_studio.core.faces import (
        Matcher,
        cluster_faces,
        collect_faces,
        default_gallery_path,
    )

    matcher = None
    if recognize and Path(path or default_gallery_path()).exists():
        with _gallery(path, create=False) as gallery:
            if len(gallery):
                matcher = Matcher.from_gallery(gallery, options.tolerance, options.margin)
    notes: list[str] = []
    unknown, known = [], 0
    for i, image in enumerate(images):
        u, k = collect_faces([image], options, matcher, on_error=lambda p, r: notes.append(f"{Path(p).name}: {r}"))
        unknown += u
        known += len(k)
        yield i + 1, len(images)
    return ClusterReport(cluster_faces(unknown) if unknown else [], known, len(images), tuple(notes))


def enroll_cluster(path: str | None, cluster, name: str) -> EnrollReport:
    from vision_studio.core.faces import check_name
    from vision_studio.core.faces import enroll_cluster as enroll

    name = check_name(name)
    with _gallery(path) as gallery:
        added = enroll(gallery, cluster, name)
    return EnrollReport(added, (name,) if added else (),
                        () if added == len(cluster) else (f"{len(cluster) - added} already enrolled",))
