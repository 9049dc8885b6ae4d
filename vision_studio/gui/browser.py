"""Which images are open and which one is current; loads them in a worker.

A small controller so the main window only wires signals. Loading uses the
"load" job key: paging quickly through a folder cancels stale loads, and only
the latest request's image is ever shown.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from vision_studio.gui.workers import JobRunner

if TYPE_CHECKING:
    from vision_studio.core.image_io import LoadedImage

log = logging.getLogger(__name__)


class ImageBrowser(QObject):
    sig_list_changed = Signal(list, str)  # paths, title
    sig_loading = Signal(object)  # Path
    sig_loaded = Signal(object)  # LoadedImage
    sig_failed = Signal(object, str)  # Path, one-line message
    sig_notice = Signal(str)

    def __init__(self, jobs: JobRunner, parent=None):
        super().__init__(parent)
        self._jobs = jobs
        self._paths: list[Path] = []
        self._index = -1
        self.current: LoadedImage | None = None
        self.max_pixels: int | None = None

    @property
    def paths(self) -> list[Path]:
        return list(self._paths)

    @property
    def current_path(self) -> Path | None:
        return self._paths[self._index] if 0 <= self._index < len(self._paths) else None

    def open_paths(self, paths: list[Path]) -> None:
        """Files and/or folders. One file: browse its folder. One folder: its images."""
        paths = [Path(p).expanduser() for p in paths]
        missing = [p for p in paths if not p.exists()]
        for p in missing:
            self.sig_failed.emit(p, f"{p}: file not found")
        paths = [p for p in paths if p.exists()]
        if not paths:
            return
        if len(paths) == 1 and paths[0].is_file():
            target = paths[0].resolve()
            folder_images = self._safe_list(target.parent)
            if target not in folder_images:
                folder_images = sorted(set(folder_images) | {target})
            self._set_list(folder_images, str(target.parent), target)
            return
        files: list[Path] = []
        for p in paths:
            files.extend(self._safe_list(p) if p.is_dir() else [p.resolve()])
        title = str(paths[0].resolve()) if len(paths) == 1 else f"{len(paths)} items"
        if not files:
            self.sig_notice.emit(f"No images found in {title}")
        self._set_list(files, title, files[0] if files else None)

    def _safe_list(self, folder: Path) -> list[Path]:
        from vision_studio.core.image_io import list_images

        try:
            return [p.resolve() for p in list_images(folder)]
        except OSError as exc:
            self.sig_failed.emit(folder, f"{folder}: cannot list folder ({exc.strerror or exc})")
            return []

    def _set_list(self, files: list[Path], title: str, current: Path | None) -> None:
        self._paths = files
        self._index = -1
        self.sig_list_changed.emit(list(files), title)
        if current is not None:
            self.show(current)

    def show(self, path: Path) -> None:
        path = Path(path)
        if path not in self._paths:
            self._paths.append(path)
        self._index = self._paths.index(path)
        self.sig_loading.emit(path)
        from vision_studio.core.image_io import read_image

        self._jobs.start(read_image, path, self.max_pixels, name=f"Loading {path.name}", key="load",
                         on_result=self._on_loaded, on_error=lambda exc: self._on_error(path, exc))

    def step(self, delta: int) -> None:
        if not self._paths:
            return
        index = (self._index + delta) % len(self._paths) if self._index >= 0 else 0
        self.show(self._paths[index])

    def _on_loaded(self, image: LoadedImage) -> None:
        if image.path != self.current_path:
            return
        self.current = image
        log.info("Opened %s (%d × %d, %s)", image.path, image.width, image.height, image.info.format)
        self.sig_loaded.emit(image)

    def _on_error(self, path: Path, exc: BaseException) -> None:
        self.current = None
        message = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
        log.error("%s", message)
        self.sig_failed.emit(path, message)
