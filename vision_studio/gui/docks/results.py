"""Results panel: tables of per-object measurements (like Fiji's Results window)."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class ResultsDock(QDockWidget):
    def __init__(self, parent=None):
        super().__init__("Results", parent)
        self.setObjectName("ResultsDock")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.summary = QLabel("No measurements", body)
        self.table_choice = QComboBox(body)
        self.table_choice.currentIndexChanged.connect(self._show_table)
        self.copy_button = QPushButton("Copy as CSV", body)
        self.copy_button.clicked.connect(self.copy_csv)
        row.addWidget(self.summary, 1)
        row.addWidget(self.table_choice)
        row.addWidget(self.copy_button)
        self.table = QTableWidget(body)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        self.setWidget(body)
        self._tables: list[tuple[str, tuple[dict, ...]]] = []

    def set_tables(self, tables) -> None:
        self._tables = list(tables)
        self.table_choice.blockSignals(True)
        self.table_choice.clear()
        self.table_choice.addItems([title for title, _ in self._tables])
        self.table_choice.blockSignals(False)
        self.table_choice.setVisible(len(self._tables) > 1)
        self._show_table(0)

    def _show_table(self, index: int) -> None:
        self.table.setSortingEnabled(False)
        self.table.clear()
        if not 0 <= index < len(self._tables):
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.summary.setText("No measurements")
            return
        title, rows = self._tables[index]
        columns = list(rows[0]) if rows else []
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(columns):
                value = row.get(key)
                item = QTableWidgetItem()
                if isinstance(value, float):
                    item.setData(0, round(value, 3))
                else:
                    item.setData(0, value)
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self.summary.setText(f"{title}: {len(rows)} object{'s' if len(rows) != 1 else ''}")

    def csv_text(self) -> str:
        cols = [self.table.horizontalHeaderItem(c).text() for c in range(self.table.columnCount())]
        lines = [",".join(cols)]
        for r in range(self.table.rowCount()):
            lines.append(",".join(self.table.item(r, c).text() if self.table.item(r, c) else ""
                                  for c in range(self.table.columnCount())))
        return "\n".join(lines) + "\n"

    def copy_csv(self) -> None:
        QApplication.clipboard().setText(self.csv_text())
