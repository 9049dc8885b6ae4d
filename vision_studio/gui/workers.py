"""The one worker pattern every long job uses.

A job is a plain function (runs to a result) or a generator function (yields
progress values and is cancellable between yields; `yield None` is a heartbeat that only
gives it the chance to stop, and reaches nobody), run in the global
QThreadPool. The shape follows superqt's thread workers (started / yielded /
returned / errored / finished, cooperative `quit()`); it is written out here
because importing superqt runs its package init, which imports every superqt
widget and qtpy (140 ms, half of our start-up time; see docs/benchmarks.md).

What the runner guarantees, so no caller can get it wrong:
- every job's exception reaches the user: `errored` always goes to the job's
  `on_error` or to `JobRunner.sig_error` (and the traceback to the log);
- "latest request wins" per key: starting a job with the same `key` cancels
  the previous one and drops its late result;
- `shutdown()` cancels everything and waits, so the app never exits with a
  worker still running.
Workers never touch widgets; callbacks run on the GUI thread (queued signals).
"""
from __future__ import annotations

import inspect
import logging
import threading
import traceback
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Signals(QObject):
    """Created, used and destroyed inside one pool thread, so no QObject is ever deleted
    from a thread it does not belong to. Its one signal is queued to the runner."""

    event = Signal(int, str, object)  # job id, kind, payload


def _run_in_pool(fn: Callable[..., Any], args: tuple, kwargs: dict, abort: threading.Event,
                 job_id: int, runner_ref: weakref.ref) -> None:
    runner = runner_ref()
    if runner is None:  # the owner is gone: nobody wants the result
        return
    signals = _Signals()
    signals.event.connect(runner._on_event)
    del runner  # only a weak reference crosses threads: the runner dies on the GUI thread
    try:
        result = fn(*args, **kwargs)
        if inspect.isgenerator(result):
            result = _drain(result, abort, job_id, signals)
        if not abort.is_set():
            signals.event.emit(job_id, "returned", result)
    except Exception as exc:  # noqa: BLE001 - handed to the GUI thread, never swallowed
        if not abort.is_set():  # a cancelled job's exception (often Cancelled itself) is nobody's news
            signals.event.emit(job_id, "errored", exc)
    finally:
        signals.event.emit(job_id, "finished", None)
        del signals


def _drain(gen, abort: threading.Event, job_id: int, signals: _Signals):
    """Step a generator job, reporting each value; stop between yields when aborted."""
    while True:
        if abort.is_set():
            gen.close()
            return None
        try:
            value = next(gen)
        except StopIteration as stop:
            return stop.value
        if value is not None:  # None is a heartbeat: a chance to stop, nothing to report
            signals.event.emit(job_id, "yielded", value)


def _accepts_should_stop(fn: Callable[..., Any]) -> bool:
    try:
        return "should_stop" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


@dataclass
class _Job:
    name: str
    key: str | None
    abort: threading.Event
    callbacks: dict


class JobRunner(QObject):
    sig_error = Signal(str, object)  # job name, exception
    sig_busy_changed = Signal(bool)  # True while any job runs

    def __init__(self, parent: QObject | None = None, *, serial: bool = False):
        """serial=True: jobs run one after another on a private one-thread pool. That is how a
        model gets exactly one owning thread: the model thread's jobs can never overlap."""
        super().__init__(parent)
        self._jobs: dict[int, _Job] = {}
        self._latest: dict[str, int] = {}
        self._next_id = 0
        if serial:
            self._pool = QThreadPool(self)
            self._pool.setMaxThreadCount(1)
        else:
            self._pool = QThreadPool.globalInstance()
            # A few more threads than cores: a stale, uncancellable job must not block new ones.
            self._pool.setMaxThreadCount(max(4, self._pool.maxThreadCount()))

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def running_names(self) -> list[str]:
        return [job.name for job in self._jobs.values()]

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str,
        key: str | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> int:
        """Run `fn(*args, **kwargs)` in the thread pool; callbacks on the GUI thread. Returns a job id.

        A function with a `should_stop` parameter gets a callable that turns True once the
        job is cancelled, so plain (non-generator) jobs can stop early too."""
        if key is not None:
            self.cancel(key)
        job_id = self._next_id
        self._next_id += 1
        if key is not None:
            self._latest[key] = job_id
        abort = threading.Event()
        was_busy = self.busy
        self._jobs[job_id] = _Job(name, key, abort, {"returned": on_result, "yielded": on_progress,
                                                     "errored": on_error, "finished": on_finished})
        if not was_busy:
            self.sig_busy_changed.emit(True)
        ref = weakref.ref(self)
        if _accepts_should_stop(fn):
            kwargs = {**kwargs, "should_stop": abort.is_set}
        self._pool.start(lambda: _run_in_pool(fn, args, kwargs, abort, job_id, ref))
        return job_id

    def cancel(self, key: str) -> None:
        """Ask the current job of `key` to stop and forget its results."""
        job_id = self._latest.pop(key, None)
        job = self._jobs.get(job_id) if job_id is not None else None
        if job is not None:
            job.abort.set()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every job and wait for the pool; True when all stopped in time."""
        self._latest.clear()
        for job in self._jobs.values():
            job.abort.set()
        return self._pool.waitForDone(timeout_ms)

    @Slot(int, str, object)
    def _on_event(self, job_id: int, kind: str, payload: object) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        current = job.key is None or self._latest.get(job.key) == job_id
        callback = job.callbacks.get(kind)
        if kind == "finished":
            del self._jobs[job_id]
            if current and callback:
                callback()
            if not self._jobs:
                self.sig_busy_changed.emit(False)
            return
        if not current:
            return  # superseded by a newer request of the same key
        if kind == "errored":
            log.debug("%s failed:\n%s", job.name, "".join(traceback.format_exception(payload)))
            if callback is None:
                self.sig_error.emit(job.name, payload)
                return
        if callback is not None:
            callback(payload)
