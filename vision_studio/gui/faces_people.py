"""The Faces panel's "People" tab: the gallery's people with thumbnails and face counts.

Add a person from photos (one face each; photos with no face or several are skipped and
named in the status line), import a folder with one sub-folder per person, rename, merge,
delete (after a confirmation: every encoding and thumbnail goes), export/import the
gallery, or switch to another gallery file. The public methods without dialogs
(enroll_files, rename_person, …) are what the buttons call after asking, and what tests
drive. Every one is a job started through the dock (FacesDock.start).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vision_studio.gui import faces_jobs as fj

if TYPE_CHECKING:
    from vision_studio.gui.docks.faces import FacesDock

THUMB = 48


def thumbnail_icon(jpeg: bytes | None, size: int = THUMB) -> QIcon:
    """A stored JPEG thumbnail as an icon (grey when there is none or it does not decode)."""
    pixmap = QPixmap()
    if not jpeg or not pixmap.loadFromData(jpeg, "JPEG"):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.lightGray)
    return QIcon(pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation))


class PeoplePanel(QWidget):
    def __init__(self, dock: FacesDock):
        super().__init__(dock)
        self.dock = dock
        self.people: list[fj.PersonRow] = []
        self._select_next: str | None = None
        page = self
        v = QVBoxLayout(page)
        v.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.path_label = QLabel(page)
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        gallery_button = QToolButton(page)
        gallery_button.setText("Gallery")
        gallery_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(gallery_button)
        menu.addAction("Open or Create Gallery File…", self._choose_gallery)
        menu.addAction("Use the Default Gallery", lambda: self.dock.set_gallery_path(None))
        menu.addSeparator()
        menu.addAction("Export Gallery…", self._export_dialog)
        menu.addAction("Import Gallery…", self._import_dialog)
        menu.addSeparator()
        menu.addAction("Reload", self.dock.refresh)
        gallery_button.setMenu(menu)
        row.addWidget(self.path_label, 1)
        row.addWidget(gallery_button)
        v.addLayout(row)
        self.people_list = QListWidget(page)
        self.people_list.setObjectName("PeopleList")
        self.people_list.setIconSize(QSize(THUMB, THUMB))
        self.people_list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        v.addWidget(self.people_list, 1)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, (key, text, slot, tip) in enumerate((
                ("add", "Add from Files…", self._add_files_dialog, "Enroll a person from photos (one face each)"),
                ("import", "Import Folder…", self._import_folder_dialog, "A folder with one sub-folder per person"),
                ("rename", "Rename…", self._rename_dialog, "Rename the selected person"),
                ("merge", "Merge into…", self._merge_dialog, "Move the selected person's faces to someone else"),
                ("delete", "Delete", self._delete_dialog, "Delete the selected person with every face"))):
            b = QPushButton(text, page)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            grid.addWidget(b, i // 2, i % 2)
            self.buttons[key] = b
        v.addLayout(grid)
        self.people_list.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()
        self.sync_path_label()

    def sync_path_label(self) -> None:
        path = self.dock.gallery_path()
        self.path_label.setText(Path(path).name if path else "Default gallery")
        self.path_label.setToolTip(path or "faces.sqlite in the app's data folder")

    def _choose_gallery(self) -> None:
        start = self.dock.gallery_path() or str(Path.home() / "faces.sqlite")
        path, _ = QFileDialog.getSaveFileName(self, "Open or create a face gallery", start,
                                              "Face gallery (*.sqlite *.db);;All files (*)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.dock.set_gallery_path(path)

    def set_people(self, people: list) -> None:
        self.people = list(people)
        selected, self._select_next = self._select_next or self.selected_person(), None
        self.people_list.clear()
        for p in self.people:
            item = QListWidgetItem(thumbnail_icon(p.thumbnail),
                                   f"{p.name}\n{p.faces} face{'s' if p.faces != 1 else ''}")
            item.setData(Qt.ItemDataRole.UserRole, p.name)
            self.people_list.addItem(item)
            if p.name == selected:
                self.people_list.setCurrentItem(item)
        if self.dock.status.property("kind") == "gallery-error":
            self.dock.show_status("")
        self._update_buttons()
        self.dock.sig_people_changed.emit(self.people)

    def select_after_reload(self, name: str) -> None:
        self._select_next = name

    def names(self) -> list[str]:
        return [p.name for p in self.people]

    def selected_person(self) -> str | None:
        items = self.people_list.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def select_person(self, name: str) -> None:
        for i in range(self.people_list.count()):
            item = self.people_list.item(i)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) == name)

    def _update_buttons(self) -> None:
        chosen = self.selected_person() is not None
        for key in ("rename", "merge", "delete"):
            self.buttons[key].setEnabled(chosen)
        self.buttons["merge"].setEnabled(chosen and len(self.people) > 1)

    # ------------------------------------------------------------------ actions (testable, no dialogs)
    def enroll_files(self, name: str, files: list[str]) -> int:
        return self.dock.start(fj.enroll_files, self.dock.gallery_path(), name, list(files), self.dock.enrollment_options(),
                          name=f"Enrolling {name}", on_result=self.dock._enrolled, dlib=True)

    def import_folder(self, folder: str) -> int:
        return self.dock.start(fj.import_folder, self.dock.gallery_path(), folder, self.dock.enrollment_options(),
                          name=f"Importing {Path(folder).name}", on_result=self.dock._enrolled,
                               dlib=True)

    def rename_person(self, old: str, new: str) -> int:
        return self.dock.start(fj.rename_person, self.dock.gallery_path(), old, new, name="Gallery: rename",
                          on_result=lambda n: self.dock.gallery_changed(f"Renamed {old} to {n}"))

    def merge_people(self, source: str, target: str) -> int:
        return self.dock.start(fj.merge_people, self.dock.gallery_path(), source, target, name="Gallery: merge",
                          on_result=lambda n: self.dock.gallery_changed(f"Merged {source} into {target} ({n} faces moved)"))

    def delete_person(self, name: str) -> int:
        return self.dock.start(fj.delete_person, self.dock.gallery_path(), name, name="Gallery: delete",
                          on_result=lambda n: self.dock.gallery_changed(f"Deleted {name} and {n} face(s)"))

    def export_gallery(self, folder: str) -> int:
        return self.dock.start(fj.export_gallery, self.dock.gallery_path(), folder, name="Gallery: export",
                          on_result=lambda s: self.dock.show_status(
                              f"Exported {s['people']} people, {s['faces']} faces to {folder}"))

    def import_gallery(self, folder: str) -> int:
        return self.dock.start(fj.import_gallery, self.dock.gallery_path(), folder, name="Gallery: import",
                          on_result=lambda s: self.dock.gallery_changed(
                              f"Imported {s['people']} new people, {s['faces']} faces "
                              f"({s['duplicates']} already there)"))

    def _add_files_dialog(self) -> None:
        from vision_studio.core.image_io import IMAGE_EXTENSIONS

        patterns = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, "Photos of one person (one face each)", str(Path.home()),
                                                f"Images ({patterns});;All files (*)")
        if files:
            name = self.dock.ask_name("Add person", f"Who is in these {len(files)} photo(s)?")
            if name:
                self.enroll_files(name, files)

    def _import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with one sub-folder per person", str(Path.home()))
        if folder:
            self.import_folder(folder)

    def _rename_dialog(self) -> None:
        old = self.selected_person()
        if old:
            new, ok = QInputDialog.getText(self, "Rename person", f"New name for {old}:", text=old)
            if ok and new.strip() and new.strip() != old:
                self.rename_person(old, new.strip())

    def _merge_dialog(self) -> None:
        source = self.selected_person()
        others = [n for n in self.names() if n != source]
        if source and others:
            target, ok = QInputDialog.getItem(self, "Merge people", f"Move every face of {source} to:", others, 0,
                                              False)
            if ok and target:
                self.merge_people(source, target)

    def _delete_dialog(self) -> None:
        name = self.selected_person()
        person = next((p for p in self.people if p.name == name), None)
        if person is None:
            return
        answer = QMessageBox.question(
            self, "Delete person",
            f"Delete {name} and all {person.faces} stored face(s) and thumbnail(s)? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_person(name)

    def _export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the gallery to a folder", str(Path.home()))
        if not folder:
            return
        if (Path(folder) / "gallery.json").exists():
            answer = QMessageBox.question(
                self, "Export gallery", f"{folder} already holds a gallery export. Replace it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.export_gallery(folder)

    def _import_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a gallery export (folder with gallery.json)",
                                                  str(Path.home()))
        if folder:
            self.import_gallery(folder)
