"""The one worker pattern every long job uses.

Built on superqt's thread workers (FunctionWorker / GeneratorWorker in the
global QThreadPool): a plain function runs to a result; a generator function
yields progress values and is cancellable between yields (`quit()`).

What this module adds, so no caller can get it wrong:
- every job's exception reaches the user: `errored` is always connected to
  `JobRunner.sig_error` (and the traceback goes to the log);
- "latest request wins" per key: starting a job with the same `key` cancels
  the previous one and drops its late result;
- `shutdown()` cancels everything and waits, so the app never exits with a
  worker still running.
Workers never touch widgets; callbacks run on the GUI thread (queued signals).
"""
from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import GeneratorWorker, WorkerBase, create_worker

log = logging.getLogger(__name__)


class JobRunner(QObject):
    sig_error = Signal(str, object)  # job name, exception
    sig_busy_changed = Signal(bool)  # True while any job runs

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: dict[int, tuple[str, WorkerBase]] = {}
        self._latest: dict[str, int] = {}
        self._next_id = 0

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def running_names(self) -> list[str]:
        return [name for name, _ in self._running.values()]

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
    ) -> WorkerBase:
        """Run `fn(*args, **kwargs)` in the thread pool; callbacks on the GUI thread."""
        if key is not None:
            self.cancel(key)
        job_id = self._next_id
        self._next_id += 1
        if key is not None:
            self._latest[key] = job_id
        # _ignore_errors: we connect `errored` ourselves (below), superqt must not re-raise.
        worker = create_worker(fn, *args, _ignore_errors=True, _start_thread=False, **kwargs)

        def current() -> bool:
            return key is None or self._latest.get(key) == job_id

        if on_result is not None:
            worker.returned.connect(lambda value: current() and on_result(value))
        if on_progress is not None and isinstance(worker, GeneratorWorker):
            worker.yielded.connect(lambda value: current() and on_progress(value))

        def errored(exc: BaseException) -> None:
            if not current():
                return
            log.debug("%s failed:\n%s", name, "".join(traceback.format_exception(exc)))
            if on_error is not None:
                on_error(exc)
            else:
                self.sig_error.emit(name, exc)

        worker.errored.connect(errored)
        worker.finished.connect(lambda: self._done(job_id, on_finished if current() else None))
        was_busy = self.busy
        self._running[job_id] = (name, worker)
        if not was_busy:
            self.sig_busy_changed.emit(True)
        worker.start()
        return worker

    def cancel(self, key: str) -> None:
        """Ask the current job of `key` to stop and forget its results."""
        job_id = self._latest.pop(key, None)
        entry = self._running.get(job_id) if job_id is not None else None
        if entry is not None:
            entry[1].quit()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every job and wait for the pool; True when all stopped in time."""
        self._latest.clear()
        for _, worker in list(self._running.values()):
            worker.quit()
        return QThreadPool.globalInstance().waitForDone(timeout_ms)

    def _done(self, job_id: int, on_finished: Callable[[], None] | None) -> None:
        self._running.pop(job_id, None)
        if on_finished is not None:
            on_finished()
        if not self._running:
            self.sig_busy_changed.emit(False)
