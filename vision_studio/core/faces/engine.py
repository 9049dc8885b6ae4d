"""dlib in a process of its own, so face analysis never freezes the window.

dlib's Python bindings keep the GIL for the whole of every call: a HOG search of a 640x480
frame holds it ~80 ms, an encoding ~20-70 ms per face, a CNN search seconds (measured: a
1 ms heartbeat thread of the same process stalled 76 ms at every HOG call, and a live
video with faces on fell to 27 shown fps). A worker *thread* cannot help with that: while
dlib runs, no other Python code of the process does, the GUI thread included. So every
dlib call of the face pipeline (HOG/CNN search, landmarks, encodings) runs in ONE helper
process, started on first use; the calling thread waits on a pipe with the GIL released.
The image crosses the pipe each call (~1 ms for 640x480, ~25 ms for 12 MP: small beside
what dlib does with it, and never a stale picture).

    eng = engine()                                   # FaceError if face_recognition is missing
    eng.hog(img, upsample)                           # [(left, top, right, bottom, score)]
    eng.cnn(img, upsample)                           # [(left, top, right, bottom, confidence)]
    eng.landmarks(img, locations, "large")           # face_recognition.face_landmarks
    eng.encodings(img, locations, num_jitters, "small")  # face_recognition.face_encodings

`img` is RGB uint8 H x W x 3, C-contiguous (detection.prepare_pixels); `locations` are
face_recognition's (top, right, bottom, left) tuples. Calls from several threads take
turns (dlib's networks are not re-entrant anyway). A helper that dies (killed, out of
memory) fails the call it was running with one line, and the next call starts a new one.
VISION_STUDIO_FACES_IN_PROCESS=1 runs the same functions in the calling process instead
(debugging; the window then stalls while dlib runs, as above).
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 120.0  # importing face_recognition loads ~100 MB of models: seconds on a slow disk


class FaceEngineError(RuntimeError):
    """The helper process could not start or stopped; the message is one line for the user."""


# ----------------------------------------------------------------------------- the dlib calls
# The same functions run in the helper and in-process; they return plain picklable values.

def _hog(fr, img, upsample: int) -> list[tuple]:
    detector = getattr(fr.api, "face_detector", None)
    if detector is None:  # pragma: no cover - other face_recognition versions
        import dlib

        detector = dlib.get_frontal_face_detector()
    rects, scores, _ = detector.run(img, upsample, 0.0)
    return [(r.left(), r.top(), r.right(), r.bottom(), float(s)) for r, s in zip(rects, scores)]


def _cnn(fr, img, upsample: int) -> list[tuple]:
    return [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), float(d.confidence))
            for d in fr.api.cnn_face_detector(img, upsample)]


def _landmarks(fr, img, locations, model: str) -> list[dict]:
    return fr.face_landmarks(img, locations, model=model)


def _encodings(fr, img, locations, num_jitters: int, model: str) -> list:
    return list(fr.face_encodings(img, locations, num_jitters=num_jitters, model=model))


def _info(fr) -> dict:
    import dlib

    return {"cuda": bool(getattr(dlib, "DLIB_USE_CUDA", False)), "pid": os.getpid()}


_OPS = {"hog": _hog, "cnn": _cnn, "landmarks": _landmarks, "encodings": _encodings, "info": _info}


def _run(fr, op: str, args: tuple) -> tuple[str, Any]:
    """("ok", value), or the failure as ("MemoryError" | "RuntimeError", one line)."""
    try:
        return "ok", _OPS[op](fr, *args)
    except MemoryError:
        return "MemoryError", "not enough memory"
    except Exception as exc:  # noqa: BLE001 - crosses the pipe as text; the caller raises it
        text = " ".join(str(exc).split())[:300]
        return "RuntimeError", text if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {text}"


def _serve() -> None:
    """The helper process (`python -m vision_studio.core.faces.engine`): import face_recognition,
    say so, then answer calls read from stdin until it closes. Replies go to the original
    stdout, which is then pointed at stderr, so nothing a library prints can corrupt them."""
    import pickle
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is the app's to handle
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    calls = sys.stdin.buffer

    def reply(message) -> None:
        pickle.dump(message, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()

    from vision_studio.core.thirdparty import import_face_recognition

    try:
        fr = import_face_recognition()
        reply(("ready", _info(fr)))
    except BaseException as exc:  # noqa: BLE001 - reported by the caller as one line
        reply(("failed", " ".join(str(exc).split()) or type(exc).__name__))
        return
    while True:
        try:
            op, args = pickle.load(calls)
        except (EOFError, OSError, pickle.UnpicklingError):
            return  # the app has ended (or closed the engine)
        reply(_run(fr, op, args))


# ----------------------------------------------------------------------------- the engine

def _raise(kind: str, text: str):
    if kind == "MemoryError":
        raise MemoryError(text)
    raise RuntimeError(text)


class FaceEngine:
    """dlib's face calls in a helper process (see the module docstring). Thread-safe."""

    def __init__(self, in_process: bool | None = None):
        if in_process is None:
            in_process = os.environ.get("VISION_STUDIO_FACES_IN_PROCESS", "").strip() not in ("", "0")
        self.in_process = in_process
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._fr = None
        self.info: dict = {}

    # ---- calls
    def hog(self, img, upsample: int) -> list[tuple]:
        return self._call("hog", img, int(upsample))

    def cnn(self, img, upsample: int) -> list[tuple]:
        return self._call("cnn", img, int(upsample))

    def landmarks(self, img, locations, model: str) -> list[dict]:
        return self._call("landmarks", img, list(locations), model)

    def encodings(self, img, locations, num_jitters: int, model: str) -> list:
        return self._call("encodings", img, list(locations), int(num_jitters), model)

    @property
    def cuda(self) -> bool:
        """dlib was built with CUDA (then "auto" means the CNN detector)."""
        if not self.info:  # known once started: no waiting behind a running call
            self.start()
        return bool(self.info.get("cuda"))

    @property
    def pid(self) -> int | None:
        """The helper's process id (None in-process or before the first call)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _call(self, op: str, *args):
        with self._lock:
            self._start_locked()
            if self.in_process:
                kind, value = _run(self._fr, op, args)
            else:
                try:
                    self._send((op, args))
                    kind, value = self._receive()
                except (EOFError, OSError, pickle.UnpicklingError) as exc:
                    reason = self._reason(exc)
                    self._discard()
                    raise FaceEngineError(f"the face engine stopped while running {op} ({reason}); "
                                          "the next image starts it again") from None
        if kind != "ok":
            _raise(kind, value)
        return value

    def _send(self, message) -> None:
        pickle.dump(message, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self._proc.stdin.flush()

    def _receive(self):
        return pickle.load(self._proc.stdout)  # waits in read(): the GIL is free meanwhile

    # ---- lifecycle
    def start(self) -> FaceEngine:
        """Start the helper now (the first call does it otherwise); FaceEngineError if it cannot."""
        with self._lock:
            self._start_locked()
        return self

    def _start_locked(self) -> None:
        if self.in_process:
            if self._fr is None:
                from vision_studio.core.thirdparty import import_face_recognition

                self._fr = import_face_recognition()
                self.info = _info(self._fr)
            return
        if self._proc is not None and self._proc.poll() is None:
            return
        self._discard()
        # A plain child process, not multiprocessing: its spawn mode re-runs the caller's main
        # script in the child (fatal for a script without a __main__ guard), and fork would copy
        # Qt's, torch's and OpenMP's threads' locks in whatever state they are.
        package_root = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}
        self._proc = subprocess.Popen([sys.executable, "-m", "vision_studio.core.faces.engine"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        timer = threading.Timer(START_TIMEOUT_S, self._proc.kill)  # a stuck import must not hang us
        timer.start()
        try:
            kind, value = self._receive()
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            late = not timer.is_alive()
            reason = f"it did not start within {START_TIMEOUT_S:.0f} s" if late else self._reason(exc)
            self._discard()
            raise FaceEngineError(f"the face engine could not start ({reason})") from None
        finally:
            timer.cancel()
        if kind != "ready":
            self._discard()
            raise FaceEngineError(value)
        self.info = value

    def _reason(self, exc: BaseException) -> str:
        proc = self._proc
        if proc is not None:
            try:
                code = proc.wait(2.0)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None and code < 0:
                name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
                hint = ": out of memory?" if -code == signal.SIGKILL else ""
                return f"killed by {name}{hint}"
            if code is not None:
                return f"exit code {code}"
        return type(exc).__name__

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()  # the helper reads EOF and ends
            except OSError:
                pass
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)

    def close(self) -> None:
        """Stop the helper (it also ends by itself when this process ends)."""
        with self._lock:
            self._discard()


_ENGINE: FaceEngine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> FaceEngine:
    """The process-wide engine, started on first use."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = FaceEngine()
            import atexit

            atexit.register(_ENGINE.close)  # ends the helper before the interpreter's teardown
        eng = _ENGINE
    return eng.start()


if __name__ == "__main__":
    _serve()
