"""dlib in a process of its own, so face analysis never freezes the window.

dlib's Python bindings keep the GIL for the whole of every call: a HOG search of a 640x480
frame holds it ~80 ms, an encoding ~20-70 ms per face, a CNN search seconds (measured: a
1 ms heartbeat thread of the same process stalled 88 ms while HOG ran, and a live video
with faces on fell to 28 shown fps with 220 ms freezes). A worker *thread* cannot help:
while dlib runs, no other Python code of the process does, the GUI thread included. So
every dlib call of the face pipeline (HOG/CNN search, landmarks, encodings, clustering)
runs in ONE helper process, started on first use; the calling thread waits on a pipe with
the GIL released. The image crosses the pipe each call (~1 ms for 640x480, ~25 ms for
12 MP: small beside what dlib does with it, and never a stale picture).

    eng = engine()                                   # FaceEngineError if it cannot start
    eng.hog(img, upsample)                           # [(left, top, right, bottom, score)]
    eng.cnn(img, upsample)                           # [(left, top, right, bottom, confidence)]
    eng.landmarks(img, locations, "large")           # face_recognition.face_landmarks
    eng.encodings(img, locations, num_jitters, "small")  # face_recognition.face_encodings
    eng.cluster(matrix, threshold)                   # dlib.chinese_whispers_clustering labels

`img` is RGB uint8 H x W x 3, C-contiguous (detection.prepare_pixels); `locations` are
face_recognition's (top, right, bottom, left) tuples. Calls from several threads take
turns (dlib's networks are not re-entrant anyway). A helper that dies (killed, out of
memory) fails the call it was running with one line, and the next call starts a new one.
`close()` (also run at exit) kills a helper in the middle of a long call (a CNN search)
instead of waiting for it.

Where a helper process is not possible the same functions run in the calling process:
in a frozen build (PyInstaller: `sys.executable` is the app, not Python) and with
VISION_STUDIO_FACES_IN_PROCESS=1 (debugging). The window then stalls while dlib runs.
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
# The helper must not import from the folder the app was started in (a stray numpy.py or
# dlib.py there): -c's '' entry is dropped, and this package's root is searched last (it is
# only needed when vision_studio is not installed, e.g. run from a checkout).
_HELPER = ("import sys; sys.path = [p for p in sys.path if p]; sys.path.append({root!r}); "
           "from vision_studio.core.faces.engine import _serve; _serve()")


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


def _cluster(fr, matrix, threshold: float) -> list[int]:
    import dlib

    return list(dlib.chinese_whispers_clustering([dlib.vector(row.tolist()) for row in matrix], float(threshold)))


def _info(fr) -> dict:
    import dlib

    return {"cuda": bool(getattr(dlib, "DLIB_USE_CUDA", False)), "pid": os.getpid()}


_OPS = {"hog": _hog, "cnn": _cnn, "landmarks": _landmarks, "encodings": _encodings, "cluster": _cluster,
        "info": _info}


def _run(fr, op: str, args: tuple) -> tuple[str, Any]:
    """("ok", value), or the failure as ("MemoryError" | "RuntimeError", one line)."""
    try:
        return "ok", _OPS[op](fr, *args)
    except MemoryError:
        return "MemoryError", "not enough memory"
    except Exception as exc:  # noqa: BLE001 - crosses the pipe as text; the caller raises it
        text = " ".join(str(exc).split())[:300]
        return "RuntimeError", text if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {text}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _serve() -> None:
    """The helper process: import face_recognition, say so, then answer (id, op, args) calls
    read from stdin until it closes. Replies go to the original stdout, which is then
    pointed at stderr, so nothing a library prints can corrupt them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is the app's to handle
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    calls = sys.stdin.buffer

    def reply(message) -> None:
        pickle.dump(message, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()

    try:
        from vision_studio.core.thirdparty import import_face_recognition

        fr = import_face_recognition()
        reply((0, "ready", _info(fr)))
    except BaseException as exc:  # noqa: BLE001 - reported by the caller as one line
        reply((0, "failed", _one_line(exc)))
        return
    try:
        while True:
            try:
                call_id, op, args = pickle.load(calls)
            except (EOFError, OSError, pickle.UnpicklingError):
                return  # the app has ended (or closed the engine)
            reply((call_id, *_run(fr, op, args)))
    except OSError:  # BrokenPipeError included
        return  # the app ended while we were busy: nobody is left to answer


# ----------------------------------------------------------------------------- the engine

def _raise(kind: str, text: str):
    if kind == "MemoryError":
        raise MemoryError(text)
    raise RuntimeError(text)


class FaceEngine:
    """dlib's face calls in a helper process (see the module docstring). Thread-safe."""

    def __init__(self, in_process: bool | None = None):
        if in_process is None:
            in_process = (os.environ.get("VISION_STUDIO_FACES_IN_PROCESS", "").strip() not in ("", "0")
                          or bool(getattr(sys, "frozen", False)))
        self.in_process = in_process
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._calls = 0
        self._closing = False  # close() killed the helper: not a crash to explain
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

    def cluster(self, matrix, threshold: float) -> list[int]:
        return self._call("cluster", matrix, float(threshold))

    @property
    def cuda(self) -> bool:
        """dlib was built with CUDA (then "auto" means the CNN detector)."""
        return bool(self.start().info.get("cuda"))

    @property
    def pid(self) -> int | None:
        """The helper's process id (None in-process or before the first call)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        proc = self._proc
        return self._fr is not None if self.in_process else proc is not None and proc.poll() is None

    def _call(self, op: str, *args):
        with self._lock:
            self._start_locked()
            if self.in_process:
                kind, value = _run(self._fr, op, args)
            else:
                self._calls += 1
                call_id = self._calls
                try:
                    self._send((call_id, op, args))
                    got, kind, value = self._receive()
                    if got != call_id:  # cannot happen while every failure discards the helper
                        raise OSError(f"reply {got} to call {call_id}")
                except (EOFError, OSError, pickle.UnpicklingError) as exc:
                    reason = self._reason(exc)
                    self._discard()
                    raise FaceEngineError(f"the face engine stopped while running {op} ({reason}); "
                                          "the next image starts it again") from None
                except BaseException:  # Ctrl+C, a pickling error...: its reply would answer the next call
                    self._discard()
                    raise
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
        """Start the helper now (the first call does it otherwise); FaceEngineError if it cannot.
        Returns at once when it runs (no waiting behind another thread's call)."""
        if not self.running:
            with self._lock:
                self._start_locked()
        return self

    def _start_locked(self) -> None:
        if self.running:
            return
        if self.in_process:
            if self._fr is None:
                from vision_studio.core.thirdparty import import_face_recognition

                self._fr = import_face_recognition()
                self.info = _info(self._fr)
            return
        self._discard()
        self._closing = False
        # A plain child process, not multiprocessing: its spawn mode re-runs the caller's main
        # script in the child (fatal for a script without a __main__ guard), and fork would copy
        # Qt's, torch's and OpenMP's threads' locks in whatever state they are.
        root = str(Path(__file__).resolve().parents[3])
        try:
            self._proc = subprocess.Popen([sys.executable, "-c", _HELPER.format(root=root)],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError as exc:
            raise FaceEngineError(f"the face engine could not start ({_one_line(exc)})") from None
        timed_out = threading.Event()

        def too_late() -> None:  # a stuck import must not hang us
            timed_out.set()
            proc = self._proc
            if proc is not None:
                proc.kill()

        timer = threading.Timer(START_TIMEOUT_S, too_late)
        timer.daemon = True
        try:
            timer.start()
            _, kind, value = self._receive()
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            reason = f"it did not start within {START_TIMEOUT_S:.0f} s" if timed_out.is_set() else self._reason(exc)
            self._discard()
            raise FaceEngineError(f"the face engine could not start ({reason})") from None
        except BaseException:
            self._discard()
            raise
        finally:
            timer.cancel()
        if kind != "ready":
            self._discard()
            raise FaceEngineError(f"the face engine could not start: {value}")
        self.info = value

    def _reason(self, exc: BaseException) -> str:
        proc = self._proc
        if proc is not None:
            try:
                code = proc.wait(2.0)
            except subprocess.TimeoutExpired:
                code = None
            if self._closing:
                return "it was closed"
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
            try:
                proc.wait(10.0)
            except subprocess.TimeoutExpired:  # pragma: no cover - an unkillable process
                pass

    def close(self) -> None:
        """Stop the helper, at once: a call still running fails (FaceEngineError) instead of
        keeping the app from closing (a CNN search takes ~27 s per 720p frame on a CPU)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._closing = True
            proc.kill()  # without the lock: a running call holds it until the helper answers
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


def close_engine() -> None:
    """Stop the process-wide helper if it runs (the window closing: a job inside a long dlib
    call then ends at once instead of keeping the app open)."""
    eng = _ENGINE
    if eng is not None:
        eng.close()
