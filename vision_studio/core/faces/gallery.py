"""The gallery of known people: one SQLite file (default data_dir()/"faces.sqlite").

Schema (PRAGMA application_id identifies the file, user_version is the schema):

    people(id INTEGER PRIMARY KEY, name TEXT UNIQUE COLLATE NOCASE, created TEXT)
    encodings(id INTEGER PRIMARY KEY, person_id -> people.id ON DELETE CASCADE,
              encoding BLOB  -- 128 little-endian float64 (numpy tobytes; never pickle)
              source TEXT, thumbnail BLOB  -- small JPEG of the face, created TEXT)

Face encodings are biometric data: a file we create is owner-only (0o600, its
folder 0o700 when we create that too), deleted rows are overwritten on disk
(PRAGMA secure_delete), and exports get the same permissions. Names are
matched case-insensitively; "Unknown" and "Unknown N" are reserved for faces
not in the gallery. Every failure is a GalleryError naming the file.

A Gallery is safe to share between threads (one lock around one connection).
Export format (`export_gallery` / `import_gallery`): a folder with gallery.json
(people, their faces' sources and creation times), encodings.npy (N x 128
float64, np.save with allow_pickle=False) and thumbnails/<row>.jpg.
"""
from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from vision_studio.core.faces.encoding import ENCODING_SIZE, check_encoding

APPLICATION_ID = 0x56534647  # "VSFG": Vision Studio face gallery
SCHEMA_VERSION = 1
EXPORT_FORMAT = "vision-studio-face-gallery"
MAX_NAME_LENGTH = 200
MAX_THUMBNAIL_BYTES = 1_000_000
_RESERVED = re.compile(r"unknown( \d+)?", re.IGNORECASE)

_SCHEMA = """
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created TEXT NOT NULL
);
CREATE TABLE encodings (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    encoding BLOB NOT NULL,
    source TEXT,
    thumbnail BLOB,
    created TEXT NOT NULL
);
CREATE INDEX encodings_person ON encodings(person_id);
"""


def default_gallery_path() -> Path:
    from vision_studio.core.runtime import data_dir

    return data_dir() / "faces.sqlite"


class GalleryError(Exception):
    """The gallery file cannot be used, or an operation is impossible. str() = 'PATH: reason'."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    created: str  # ISO 8601, UTC
    faces: int  # number of stored encodings


@dataclass(frozen=True, eq=False)
class Face:
    id: int
    person: str
    encoding: np.ndarray
    source: str | None
    created: str
    thumbnail: bytes | None  # JPEG


def check_name(name) -> str:
    """A person's name, stripped; ValueError if empty, too long, control characters or reserved."""
    if not isinstance(name, str):
        raise ValueError(f"a name must be text, got {type(name).__name__}")
    clean = " ".join(name.split())
    if not clean:
        raise ValueError("a name must not be empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise ValueError(f"a name must be at most {MAX_NAME_LENGTH} characters")
    if any(not c.isprintable() for c in clean):
        raise ValueError("a name must not contain control characters")
    if _RESERVED.fullmatch(clean):
        raise ValueError(f"{clean!r} is reserved for faces that are not in the gallery")
    return clean


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _to_blob(encoding) -> bytes:
    return check_encoding(encoding).astype("<f8").tobytes()


def _from_blob(blob, path) -> np.ndarray:
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) != ENCODING_SIZE * 8:
        raise GalleryError(path, "damaged gallery (an encoding has the wrong size)")
    return np.frombuffer(bytes(blob), dtype="<f8").astype(np.float64)


def _check_thumbnail(thumbnail) -> bytes | None:
    if thumbnail is None:
        return None
    data = bytes(thumbnail)
    if not data.startswith(b"\xff\xd8") or len(data) > MAX_THUMBNAIL_BYTES:
        raise ValueError("a thumbnail must be a JPEG of at most 1 MB")
    return data


def face_thumbnail(pixels, box, size: int = 96, quality: int = 85) -> bytes:
    """A JPEG (at most size x size) of the face in `box` with some context around it."""
    from PIL import Image

    from vision_studio.core.faces.detection import prepare_pixels

    img = prepare_pixels(pixels)
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = max(x2 - x1, y2 - y1) * 0.65
    left, top = max(0, int(cx - half)), max(0, int(cy - half))
    right, bottom = min(w, int(np.ceil(cx + half))), min(h, int(np.ceil(cy + half)))
    if right <= left or bottom <= top:
        raise ValueError(f"face box {box} is outside the {w}x{h} image")
    im = Image.fromarray(np.ascontiguousarray(img[top:bottom, left:right]))
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _private_file(path: Path) -> None:
    """Create `path` empty with mode 0o600 (its missing folders 0o700) unless it exists."""
    parent = path.parent
    missing = []
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)


class Gallery:
    """Known people and their face encodings in one SQLite file.

    Gallery(path=None, create=True): None means default_gallery_path(). With
    create=False a missing file is a GalleryError (for commands that only read).
    Use as a context manager or call close().
    """

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True):
        self.path = Path(path) if path is not None else default_gallery_path()
        self._lock = threading.RLock()
        self._cache: tuple[tuple, tuple[np.ndarray, np.ndarray]] | None = None
        self._conn: sqlite3.Connection | None = None
        try:
            if self.path.is_dir():
                raise GalleryError(self.path, "is a folder, not a gallery database")
            if not self.path.exists():
                if not create:
                    raise GalleryError(self.path, "no gallery here (enroll someone first)")
                _private_file(self.path)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10.0)
        except GalleryError:
            raise
        except PermissionError:
            raise GalleryError(self.path, "permission denied") from None
        except (OSError, sqlite3.Error) as exc:
            raise GalleryError(self.path, f"cannot open gallery ({getattr(exc, 'strerror', None) or exc})") from None
        self._conn = conn
        try:
            self._open()
        except BaseException:
            conn.close()
            self._conn = None
            raise

    def _open(self) -> None:
        conn = self._conn
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise GalleryError(self.path, f"not a gallery database ({exc})") from None
        if app_id == 0 and not tables:
            try:
                with conn:
                    conn.executescript(f"BEGIN; {_SCHEMA} PRAGMA application_id = {APPLICATION_ID}; "
                                       f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            except sqlite3.Error as exc:
                raise GalleryError(self.path, f"cannot create gallery ({exc})") from None
        elif app_id != APPLICATION_ID:
            raise GalleryError(self.path, "not a gallery database (an SQLite file of another program)")
        elif version > SCHEMA_VERSION:
            raise GalleryError(self.path, f"gallery from a newer Vision Studio (schema {version}, "
                                          f"this version reads {SCHEMA_VERSION})")
        elif not {"people", "encodings"} <= tables:
            raise GalleryError(self.path, "damaged gallery (tables are missing)")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Gallery({str(self.path)!r})"

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise GalleryError(self.path, "gallery is closed")
        return self._conn

    def _run(self, fn):
        """Run fn(conn) under the lock in one transaction; SQLite errors become GalleryError."""
        with self._lock:
            conn = self._db()
            try:
                with conn:
                    return fn(conn)
            except sqlite3.IntegrityError as exc:
                raise GalleryError(self.path, f"conflicting change ({exc})") from None
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if "readonly" in text or "read-only" in text:
                    raise GalleryError(self.path, "gallery is read-only (no permission to write)") from None
                if "locked" in text or "busy" in text:
                    raise GalleryError(self.path, "gallery is in use by another program (locked)") from None
                raise GalleryError(self.path, f"gallery error ({text})") from None
            except sqlite3.DatabaseError as exc:
                raise GalleryError(self.path, f"damaged gallery ({exc})") from None

    def _person_row(self, conn, name: str):
        name = " ".join(str(name).split())
        return conn.execute("SELECT id, name, created FROM people WHERE name = ?", (name,)).fetchone()

    def _need(self, conn, name: str):
        row = self._person_row(conn, name)
        if row is None:
            raise GalleryError(self.path, f"no person named {name!r} in the gallery")
        return row

    # ------------------------------------------------------------------ people

    def add_person(self, name: str) -> Person:
        """A new person without faces; GalleryError if the name is taken."""
        clean = self._name(name)

        def op(conn):
            if self._person_row(conn, clean) is not None:
                raise GalleryError(self.path, f"{clean!r} is already in the gallery")
            created = _now()
            cur = conn.execute("INSERT INTO people(name, created) VALUES (?, ?)", (clean, created))
            return Person(cur.lastrowid, clean, created, 0)
        return self._run(op)

    def enroll(self, name: str, encoding, thumbnail: bytes | None = None, source: str | None = None,
               *, create: bool = True, skip_duplicate: bool = True) -> int | None:
        """Store one face encoding for `name` (created unless create=False); the new row's id.

        With skip_duplicate, an encoding identical to one this person already has is
        not stored again and None is returned (re-running an import adds nothing).
        """
        clean = self._name(name)
        try:
            blob = _to_blob(encoding)
            thumb = _check_thumbnail(thumbnail)
        except (ValueError, TypeError) as exc:
            raise GalleryError(self.path, str(exc)) from None
        source = None if source is None else str(source)

        def op(conn):
            row = self._person_row(conn, clean)
            if row is None:
                if not create:
                    raise GalleryError(self.path, f"no person named {clean!r} in the gallery")
                pid = conn.execute("INSERT INTO people(name, created) VALUES (?, ?)", (clean, _now())).lastrowid
            else:
                pid = row[0]
                if skip_duplicate and conn.execute(
                        "SELECT 1 FROM encodings WHERE person_id = ? AND encoding = ?", (pid, blob)).fetchone():
                    return None
            return conn.execute(
                "INSERT INTO encodings(person_id, encoding, source, thumbnail, created) VALUES (?, ?, ?, ?, ?)",
                (pid, blob, source, thumb, _now())).lastrowid
        return self._run(op)

    def people(self) -> list[Person]:
        """Everyone, by name (case-insensitive), with their number of faces."""
        rows = self._run(lambda c: c.execute(
            "SELECT p.id, p.name, p.created, COUNT(e.id) FROM people p "
            "LEFT JOIN encodings e ON e.person_id = p.id GROUP BY p.id ORDER BY p.name").fetchall())
        return [Person(*r) for r in rows]

    def person(self, name: str) -> Person | None:
        def op(conn):
            row = self._person_row(conn, name)
            if row is None:
                return None
            n = conn.execute("SELECT COUNT(*) FROM encodings WHERE person_id = ?", (row[0],)).fetchone()[0]
            return Person(row[0], row[1], row[2], n)
        return self._run(op)

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and self.person(name) is not None

    def __len__(self) -> int:
        return self._run(lambda c: c.execute("SELECT COUNT(*) FROM people").fetchone()[0])

    def rename(self, old: str, new: str) -> Person:
        """Rename a person (a change of case only is fine); GalleryError if `new` is someone else."""
        clean = self._name(new)

        def op(conn):
            row = self._need(conn, old)
            other = self._person_row(conn, clean)
            if other is not None and other[0] != row[0]:
                raise GalleryError(self.path, f"{other[1]!r} is already in the gallery (use merge)")
            conn.execute("UPDATE people SET name = ? WHERE id = ?", (clean, row[0]))
        self._run(op)
        return self.person(clean)

    def merge(self, source: str, target: str) -> int:
        """Move every face of `source` to `target` and delete `source`; the number moved."""
        def op(conn):
            src, dst = self._need(conn, source), self._need(conn, target)
            if src[0] == dst[0]:
                raise GalleryError(self.path, f"cannot merge {src[1]!r} into itself")
            moved = conn.execute("UPDATE encodings SET person_id = ? WHERE person_id = ?", (dst[0], src[0])).rowcount
            conn.execute("DELETE FROM people WHERE id = ?", (src[0],))
            return moved
        return self._run(op)

    def delete(self, name: str) -> int:
        """Remove a person with every encoding and thumbnail; the number of faces removed."""
        def op(conn):
            row = self._need(conn, name)
            removed = conn.execute("DELETE FROM encodings WHERE person_id = ?", (row[0],)).rowcount
            conn.execute("DELETE FROM people WHERE id = ?", (row[0],))
            return removed
        return self._run(op)

    # ------------------------------------------------------------------ faces

    def faces(self, name: str | None = None) -> list[Face]:
        """Stored faces (of one person, or everyone's), oldest first."""
        def op(conn):
            sql = ("SELECT e.id, p.name, e.encoding, e.source, e.created, e.thumbnail FROM encodings e "
                   "JOIN people p ON p.id = e.person_id")
            if name is None:
                return conn.execute(sql + " ORDER BY e.id").fetchall()
            pid = self._need(conn, name)[0]
            return conn.execute(sql + " WHERE p.id = ? ORDER BY e.id", (pid,)).fetchall()
        return [Face(r[0], r[1], _from_blob(r[2], self.path), r[3], r[4], None if r[5] is None else bytes(r[5]))
                for r in self._run(op)]

    def remove_face(self, face_id: int) -> None:
        """Delete one stored face (a bad enrollment photo); the person stays."""
        def op(conn):
            if conn.execute("DELETE FROM encodings WHERE id = ?", (int(face_id),)).rowcount == 0:
                raise GalleryError(self.path, f"no face with id {face_id}")
        self._run(op)

    def all_encodings(self) -> tuple[np.ndarray, np.ndarray]:
        """(names, matrix): names[i] (str array) owns matrix[i] (N x 128 float64), for matching.

        Cached until the file changes (also through another connection or process).
        """
        with self._lock:
            conn = self._db()
            try:
                stamp = (conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.DatabaseError as exc:
                raise GalleryError(self.path, f"damaged gallery ({exc})") from None
            if self._cache is not None and self._cache[0] == stamp:
                return self._cache[1]
            rows = self._run(lambda c: c.execute(
                "SELECT p.name, e.encoding FROM encodings e JOIN people p ON p.id = e.person_id "
                "ORDER BY e.id").fetchall())
            names = np.array([r[0] for r in rows], dtype=str) if rows else np.array([], dtype=str)
            matrix = (np.stack([_from_blob(r[1], self.path) for r in rows]) if rows
                      else np.empty((0, ENCODING_SIZE), np.float64))
            names.flags.writeable = False
            matrix.flags.writeable = False
            self._cache = (stamp, (names, matrix))
            return names, matrix

    def _name(self, name) -> str:
        try:
            return check_name(name)
        except ValueError as exc:
            raise GalleryError(self.path, str(exc)) from None


# ---------------------------------------------------------------------- export / import

def export_gallery(gallery: Gallery, folder: str | os.PathLike, overwrite: bool = False) -> dict:
    """Write the gallery to `folder` (gallery.json, encodings.npy, thumbnails/); counts written."""
    folder = Path(folder)
    index = folder / "gallery.json"
    if index.exists() and not overwrite:
        raise GalleryError(index, "an export already exists here (overwrite it explicitly)")
    if folder.exists() and not folder.is_dir():
        raise GalleryError(folder, "exists and is not a folder")
    faces = gallery.faces()
    people = gallery.people()
    try:
        if not folder.exists():
            folder.mkdir(parents=True, mode=0o700)
            os.chmod(folder, 0o700)
        thumbs = folder / "thumbnails"
        if not thumbs.exists():
            thumbs.mkdir(mode=0o700)
        matrix = (np.stack([f.encoding for f in faces]) if faces else np.empty((0, ENCODING_SIZE))).astype("<f8")
        with _private_open(folder / "encodings.npy") as fh:
            np.save(fh, matrix, allow_pickle=False)
        by_person: dict[str, list] = {p.name: [] for p in people}
        for row, face in enumerate(faces):
            entry = {"row": row, "source": face.source, "created": face.created}
            if face.thumbnail:
                rel = f"thumbnails/{row}.jpg"
                with _private_open(folder / rel) as fh:
                    fh.write(face.thumbnail)
                entry["thumbnail"] = rel
            by_person[face.person].append(entry)
        doc = {"format": EXPORT_FORMAT, "version": SCHEMA_VERSION, "encoding_size": ENCODING_SIZE,
               "exported": _now(), "encodings": "encodings.npy",
               "people": [{"name": p.name, "created": p.created, "faces": by_person[p.name]} for p in people]}
        with _private_open(index) as fh:
            fh.write(json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8"))
    except OSError as exc:
        raise GalleryError(folder, f"cannot write export ({exc.strerror or exc})") from None
    return {"people": len(people), "faces": len(faces)}


def _stamp(value) -> str:
    """An exported ISO 8601 time kept as it was; anything else becomes now."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            datetime.fromisoformat(value)
            return value
        except ValueError:
            pass
    return _now()


def _private_open(path: Path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, "wb")


def import_gallery(gallery: Gallery, folder: str | os.PathLike) -> dict:
    """Add an export's people and faces (merging into people of the same name), all or nothing.

    Returns {"people": new people, "faces": faces added, "duplicates": identical faces skipped}.
    """
    folder = Path(folder)
    index = folder / "gallery.json"

    def bad(reason, where=index):
        return GalleryError(where, f"not a gallery export ({reason})")

    try:
        doc = json.loads(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise bad("gallery.json is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"unreadable gallery.json: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise bad(f"format is not {EXPORT_FORMAT!r}")
    if not isinstance(doc.get("version"), int) or doc["version"] > SCHEMA_VERSION:
        raise bad(f"unsupported version {doc.get('version')!r}")
    npy = folder / "encodings.npy"
    try:
        matrix = np.load(npy, allow_pickle=False)
    except FileNotFoundError:
        raise bad("encodings.npy is missing", npy) from None
    except (OSError, ValueError) as exc:
        raise bad(f"unreadable encodings.npy: {exc}", npy) from None
    if matrix.ndim != 2 or matrix.shape[1] != ENCODING_SIZE or not np.issubdtype(matrix.dtype, np.floating):
        raise bad(f"encodings.npy must be N x {ENCODING_SIZE} floats, got {matrix.dtype} {matrix.shape}", npy)
    people = doc.get("people")
    if not isinstance(people, list):
        raise bad("'people' must be a list")
    root = folder.resolve()
    plan: list[tuple[str, str, list[tuple[np.ndarray, bytes | None, str | None, str]]]] = []
    for person in people:
        if not isinstance(person, dict) or not isinstance(person.get("faces", []), list):
            raise bad("each person needs a name and a list of faces")
        try:
            name = check_name(person.get("name"))
        except ValueError as exc:
            raise bad(f"person {person.get('name')!r}: {exc}") from None
        items = []
        for face in person.get("faces", []):
            row = face.get("row") if isinstance(face, dict) else None
            if not isinstance(row, int) or not 0 <= row < matrix.shape[0]:
                raise bad(f"{name!r}: face row {row!r} is not in encodings.npy")
            thumb = None
            rel = face.get("thumbnail")
            if rel is not None:
                path = (folder / str(rel)).resolve()
                if not path.is_relative_to(root) or not path.is_file():
                    raise bad(f"{name!r}: thumbnail {rel!r} is not a file inside the export")
                thumb = path.read_bytes()
                try:
                    thumb = _check_thumbnail(thumb)
                except ValueError as exc:
                    raise bad(f"{rel}: {exc}") from None
            try:
                enc = check_encoding(matrix[row])
            except ValueError as exc:
                raise bad(f"{name!r}, row {row}: {exc}") from None
            source = face.get("source")
            items.append((enc, thumb, None if source is None else str(source), _stamp(face.get("created"))))
        plan.append((name, _stamp(person.get("created")), items))

    def op(conn):
        stats = {"people": 0, "faces": 0, "duplicates": 0}
        for name, created, items in plan:
            row = gallery._person_row(conn, name)
            if row is None:
                pid = conn.execute("INSERT INTO people(name, created) VALUES (?, ?)", (name, created)).lastrowid
                stats["people"] += 1
            else:
                pid = row[0]
            for enc, thumb, source, face_created in items:
                blob = _to_blob(enc)
                if conn.execute("SELECT 1 FROM encodings WHERE person_id = ? AND encoding = ?",
                                (pid, blob)).fetchone():
                    stats["duplicates"] += 1
                    continue
                conn.execute("INSERT INTO encodings(person_id, encoding, source, thumbnail, created) "
                             "VALUES (?, ?, ?, ?, ?)", (pid, blob, source, thumb, face_created))
                stats["faces"] += 1
        return stats
    return gallery._run(op)


def enroll_many(gallery: Gallery, name: str, faces: Iterable[tuple[np.ndarray, bytes | None, str | None]]) -> int:
    """Enroll (encoding, thumbnail, source) triples for one person; the number stored."""
    return sum(gallery.enroll(name, enc, thumb, src) is not None for enc, thumb, src in faces)
