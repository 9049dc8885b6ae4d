"""Files panel: the images of the current folder (or the list the user opened), with thumbnails."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from vision_studio.gui.qimage import rgb_to_pixmap
from vision_studio.gui.workers import JobRunner

THUMB = 64


def thumbnails(paths: list[Path], size: int):
    """Worker job: yield (index, thumbnail or None) so the list fills in as they arrive."""
    from vision_studio.core.image_io import ImageReadError, make_thumbnail

    for index, path in enumerate(paths):
        try:
            yield index, make_thumbnail(path, size)
        except ImageReadError:
            yield index, None


class FilesDock(QDockWidget):
    sig_file_activated = Signal(object)  # Path

    def __init__(self, jobs: JobRunner, parent=None):
        super().__init__("Files", parent)
        self.setObjectName("FilesDock")
        self._jobs = jobs
        self._paths: list[Path] = []
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self._title = QLabel("No folder open", body)
        self._title.setWordWrap(True)
        self._list = QListWidget(body)
        self._list.setIconSize(QSize(THUMB, THUMB))
        self._list.setUniformItemSizes(True)
        self._list.setObjectName("FilesList")
        self._list.itemActivated.connect(self._on_activated)
        self._list.itemClicked.connect(self._on_activated)
        layout.addWidget(self._title)
        layout.addWidget(self._list)
        self.setWidget(body)
        self._placeholder = QPixmap(THUMB, THUMB)
        self._placeholder.fill(Qt.GlobalColor.transparent)

    @property
    def paths(self) -> list[Path]:
        return list(self._paths)

    def set_files(self, paths: list[Path], title: str) -> None:
        self._paths = list(paths)
        self._title.setText(f"{title}  ({len(paths)} image{'s' if len(paths) != 1 else ''})")
        self._title.setToolTip(title)
        self._list.clear()
        for path in self._paths:
            item = QListWidgetItem(QIcon(self._placeholder), path.name)
            item.setToolTip(str(path))
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            self._list.addItem(item)
        if self._paths:
            self._jobs.start(thumbnails, self._paths, THUMB, name="Thumbnails", key="thumbnails",
                             on_progress=self._on_thumbnail)
        else:
            self._jobs.cancel("thumbnails")

    def select(self, path: Path) -> None:
        try:
            row = self._paths.index(path)
        except ValueError:
            return
        self._list.blockSignals(True)
        self._list.setCurrentRow(row)
        self._list.scrollToItem(self._list.item(row))
        self._list.blockSignals(False)

    def _on_thumbnail(self, value) -> None:
        index, thumb = value
        item = self._list.item(index)
        if item is None:
            return
        if thumb is None:
            item.setText(f"{self._paths[index].name}  (unreadable)")
        else:
            item.setIcon(QIcon(self._square(rgb_to_pixmap(thumb))))

    def _square(self, pixmap: QPixmap) -> QPixmap:
        """Centre the thumbnail on a square canvas so every file name lines up."""
        canvas = QPixmap(self._placeholder)
        painter = QPainter(canvas)
        painter.drawPixmap((THUMB - pixmap.width()) // 2, (THUMB - pixmap.height()) // 2, pixmap)
        painter.end()
        return canvas

    def _on_activated(self, item: QListWidgetItem) -> None:
        self.sig_file_activated.emit(Path(item.data(Qt.ItemDataRole.UserRole)))
