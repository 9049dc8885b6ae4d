"""The Faces panel's "Unknown" tab: group the faces nobody has named in the open folder.

One job (faces_jobs.cluster_folder, cancellable, with progress) finds every face the
gallery does not recognize in the folder's images and clusters them ("Unknown 1" is
the largest). "Name this cluster…" enrolls all its faces in one step; the cluster then
leaves the list, because its faces are no longer unknown.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vision_studio.gui import faces_jobs as fj

if TYPE_CHECKING:
    from vision_studio.gui.docks.faces import FacesDock

JOB_KEY = "faces-cluster"


class ClusterPanel(QWidget):
    def __init__(self, dock: FacesDock):
        super().__init__(dock)
        from vision_studio.gui.faces_people import THUMB

        self.dock = dock
        self.report: fj.ClusterReport | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        self.info = QLabel("Group the faces the gallery does not know, in the folder that is open.", self)
        self.info.setWordWrap(True)
        v.addWidget(self.info)
        row = QHBoxLayout()
        self.run_button = QPushButton("Cluster Unknown Faces", self)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        row.addWidget(self.run_button, 1)
        row.addWidget(self.cancel_button)
        v.addLayout(row)
        self.list = QListWidget(self)
        self.list.setObjectName("ClusterList")
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.itemSelectionChanged.connect(self._update)
        self.list.itemDoubleClicked.connect(lambda _: self._name_dialog())
        v.addWidget(self.list, 1)
        self.name_button = QPushButton("Name This Cluster…", self)
        self.name_button.setToolTip("Enroll every face of the selected cluster as one person")
        self.name_button.clicked.connect(self._name_dialog)
        v.addWidget(self.name_button)
        self._update()

    def run(self) -> int | None:
        browser = self.dock.browser
        paths = [str(p) for p in browser.paths] if browser is not None else []
        if not paths:
            self.dock.show_status("Open a folder of photos first, then cluster its unknown faces", error=True)
            return None
        self.clear()
        self.info.setText(f"Looking for faces in {len(paths)} image(s)…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        return self.dock.start(fj.cluster_folder, self.dock.gallery_path(), paths, self.dock.enrollment_options(),
                               self.dock.form.recognize.isChecked(), name="Clustering faces", key=JOB_KEY,
                               on_result=self._on_report, on_finished=self._idle, dlib=True)

    def cancel(self) -> None:
        self.dock.cancel(JOB_KEY)
        self.info.setText("Clustering cancelled.")
        self._idle()

    def _idle(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def clear(self) -> None:
        self.report = None
        self.list.clear()
        self._update()

    def _on_report(self, report: fj.ClusterReport) -> None:
        from vision_studio.gui.faces_people import thumbnail_icon

        self.report = report
        self.list.clear()
        for cluster in report.clusters:
            n, images = len(cluster), len(cluster.sources)
            item = QListWidgetItem(thumbnail_icon(cluster.samples[0].thumbnail),
                                   f"{cluster.label}\n{n} face{'s' if n != 1 else ''} in "
                                   f"{images} image{'s' if images != 1 else ''}")
            item.setData(Qt.ItemDataRole.UserRole, cluster.label)
            item.setToolTip("\n".join(cluster.sources[:10]))
            self.list.addItem(item)
        skipped = f"; {len(report.notes)} unreadable" if report.notes else ""
        self.info.setText(f"{len(report.clusters)} group(s) of unknown faces in {report.images} image(s); "
                          f"{report.known} face(s) already known{skipped}.")
        if self.list.count():
            self.list.setCurrentRow(0)
        self._update()

    def selected_cluster(self):
        items = self.list.selectedItems()
        if not items or self.report is None:
            return None
        label = items[0].data(Qt.ItemDataRole.UserRole)
        return next((c for c in self.report.clusters if c.label == label), None)

    def _update(self) -> None:
        self.name_button.setEnabled(self.selected_cluster() is not None)

    def _name_dialog(self) -> None:
        cluster = self.selected_cluster()
        if cluster is not None:
            name = self.dock.ask_name("Name this cluster", f"Who are the {len(cluster)} face(s) of {cluster.label}?")
            if name:
                self.name_cluster(cluster.label, name)

    def name_cluster(self, label: str, name: str) -> int | None:
        """Enroll every face of cluster `label` as `name` (in a job); the cluster leaves the list."""
        cluster = next((c for c in self.report.clusters if c.label == label), None) if self.report else None
        if cluster is None:
            return None

        def done(report: fj.EnrollReport) -> None:
            self.report.clusters.remove(cluster)
            for i in range(self.list.count()):
                if self.list.item(i).data(Qt.ItemDataRole.UserRole) == label:
                    self.list.takeItem(i)
                    break
            self._update()
            self.dock._enrolled(report)

        return self.dock.start(fj.enroll_cluster, self.dock.gallery_path(), cluster, name,
                               name=f"Enrolling {name}", on_result=done)
