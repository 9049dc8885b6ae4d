"""Results panel: what the analysis found, as tables.

"Detections" lists every box-bearing result (objects, faces, measured regions) with
class, confidence, box in original pixels, area and track id; per-label counts sit
above it. Measurement steps add their own tables (like Fiji's Results window). All
tables sort by column and filter by text; a selected detection row is highlighted on
the canvas and clicking a box on the canvas selects its row. Copy as CSV copies what
is shown.
"""
from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

DETECTIONS = "Detections"
DETECTION_COLUMNS = ("#", "kind", "label", "confidence", "x1", "y1", "x2", "y2", "area", "track id")


def detection_rows(detections) -> list[dict]:
    rows = []
    for i, d in enumerate(detections):
        if d.box is None:
            continue
        x1, y1, x2, y2 = d.box
        rows.append({"#": i, "kind": d.kind, "label": d.display_label,
                     "confidence": None if d.confidence is None else round(float(d.confidence), 4),
                     "x1": round(x1, 1), "y1": round(y1, 1), "x2": round(x2, 1), "y2": round(y2, 1),
                     "area": round(d.area, 1), "track id": d.track_id})
    return rows


class ResultsDock(QDockWidget):
    sig_detection_selected = Signal(int)  # index into the detections list, -1: none

    def __init__(self, parent=None):
        super().__init__("Results", parent)
        self.setObjectName("ResultsDock")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.table_choice = QComboBox(body)
        self.table_choice.currentIndexChanged.connect(self._show_table)
        self.filter = QLineEdit(body)
        self.filter.setPlaceholderText("Filter…")
        self.filter.setClearButtonEnabled(True)
        self.copy_button = QPushButton("Copy as CSV", body)
        self.copy_button.clicked.connect(self.copy_csv)
        row.addWidget(self.table_choice)
        row.addWidget(self.filter, 1)
        row.addWidget(self.copy_button)
        self.summary = QLabel("No results", body)
        self.summary.setWordWrap(True)

        self.model = QStandardItemModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)  # any column
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView(body)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.setWidget(body)
        self._tables: list[tuple[str, list[dict]]] = []
        self._showing = ""

    # ------------------------------------------------------------------ content
    def set_results(self, detections=(), tables=()) -> None:
        """Detections (any kind with a box) and measurement tables [(title, rows)]."""
        self._tables = []
        rows = detection_rows(detections)
        if rows:
            self._tables.append((DETECTIONS, rows))
        self._tables.extend((title, list(t)) for title, t in tables)
        self._counts = Counter(r["label"] for r in rows)
        keep = self._showing
        self.table_choice.blockSignals(True)
        self.table_choice.clear()
        self.table_choice.addItems([title for title, _ in self._tables])
        titles = [t for t, _ in self._tables]
        self.table_choice.setCurrentIndex(titles.index(keep) if keep in titles else 0)
        self.table_choice.blockSignals(False)
        self.table_choice.setVisible(len(self._tables) > 1)
        self._show_table(self.table_choice.currentIndex())

    def set_tables(self, tables) -> None:  # measurement tables only
        self.set_results((), tables)

    def row_count(self) -> int:
        return self.proxy.rowCount()

    def _show_table(self, index: int) -> None:
        self.model.clear()
        if not 0 <= index < len(self._tables):
            self.summary.setText("No results")
            self._showing = ""
            return
        title, rows = self._tables[index]
        self._showing = title
        columns = list(DETECTION_COLUMNS) if title == DETECTIONS else (list(rows[0]) if rows else [])
        self.model.setHorizontalHeaderLabels(columns)
        for r in rows:
            items = []
            for key in columns:
                value = r.get(key)
                item = QStandardItem()
                item.setEditable(False)
                item.setData(round(value, 3) if isinstance(value, float) else value, Qt.ItemDataRole.DisplayRole)
                items.append(item)
            self.model.appendRow(items)
        self.table.resizeColumnsToContents()
        if title == DETECTIONS:
            counts = ", ".join(f"{label} {n}" for label, n in self._counts.most_common())
            self.summary.setText(f"{len(rows)} found: {counts}")
        else:
            self.summary.setText(f"{title}: {len(rows)} object{'s' if len(rows) != 1 else ''}")

    # ------------------------------------------------------------------ selection
    def select_detection(self, index: int) -> None:
        """Select the row of detection `index` (from a click on the canvas)."""
        if self._showing != DETECTIONS:
            titles = [t for t, _ in self._tables]
            if DETECTIONS not in titles:
                return
            self.table_choice.setCurrentIndex(titles.index(DETECTIONS))
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data() == index:
                self.table.selectRow(row)
                self.table.scrollTo(self.proxy.index(row, 0))
                return

    def _on_row(self, current, _previous) -> None:
        if self._showing != DETECTIONS or not current.isValid():
            self.sig_detection_selected.emit(-1)
            return
        self.sig_detection_selected.emit(int(self.proxy.index(current.row(), 0).data()))

    # ------------------------------------------------------------------ CSV
    def csv_text(self) -> str:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        cols = self.proxy.columnCount()
        writer.writerow([self.proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(cols)])
        for r in range(self.proxy.rowCount()):
            writer.writerow(["" if (v := self.proxy.index(r, c).data()) is None else v for c in range(cols)])
        return buf.getvalue()

    def copy_csv(self) -> None:
        QApplication.clipboard().setText(self.csv_text())
