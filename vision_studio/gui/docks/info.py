"""Image info panel: what the file is, and what the analysis sees."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDockWidget, QTreeWidget, QTreeWidgetItem

if TYPE_CHECKING:
    from vision_studio.core.image_io import ImageInfo

_ORIENTATION = {1: "normal", 2: "mirrored", 3: "rotated 180°", 4: "flipped",
                5: "mirrored + rotated 90°", 6: "rotated 90° (applied)", 7: "mirrored + rotated 270°",
                8: "rotated 270° (applied)"}


def info_rows(info: ImageInfo) -> list[tuple[str, str]]:
    rows = [
        ("File", info.path.name),
        ("Folder", str(info.path.parent)),
        ("Format", info.format),
        ("Size", f"{info.width} × {info.height} px"),
        ("Channels", f"{info.channels} ({info.mode})"),
        ("Bit depth", f"{info.bit_depth}-bit {info.dtype}"),
        ("File size", _human_size(info.file_size)),
    ]
    if info.frames > 1:
        rows.append(("Frames", f"{info.frames} (showing the first)"))
    if info.exif_orientation:
        rows.append(("EXIF orientation", f"{info.exif_orientation}: {_ORIENTATION.get(info.exif_orientation, '?')}"))
    if info.camera:
        rows.append(("Camera", info.camera))
    if info.datetime:
        rows.append(("Taken", info.datetime))
    if info.has_gps:
        rows.append(("GPS", "location present"))
    for note in info.notes:
        rows.append(("Note", note))
    return rows


def _human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class InfoDock(QDockWidget):
    def __init__(self, parent=None):
        super().__init__("Image info", parent)
        self.setObjectName("InfoDock")
        self._tree = QTreeWidget(self)
        self._tree.setHeaderLabels(["Property", "Value"])
        self._tree.setRootIsDecorated(False)
        self._tree.setAlternatingRowColors(True)
        self.setWidget(self._tree)

    def show_info(self, info: ImageInfo | None) -> None:
        self._tree.clear()
        if info is None:
            return
        for key, value in info_rows(info):
            item = QTreeWidgetItem([key, value])
            item.setToolTip(1, value)
            self._tree.addTopLevelItem(item)
        self._tree.resizeColumnToContents(0)

    def rows(self) -> list[tuple[str, str]]:
        return [(self._tree.topLevelItem(i).text(0), self._tree.topLevelItem(i).text(1))
                for i in range(self._tree.topLevelItemCount())]
