"""Help > About: what this is and the versions of everything that matters for bug reports."""
from __future__ import annotations

import html
import platform

from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from vision_studio import APP_NAME
from vision_studio.core.runtime import data_dir, library_versions


def about_html() -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>&nbsp;&nbsp;{html.escape(v)}</td></tr>"
                   for k, v in library_versions(qVersion()).items())
    return (f"<h3>{APP_NAME}</h3><p>Image analysis: filters, faces and objects, "
            f"with the same pipeline on the command line.</p><table>{rows}</table>"
            f"<p>Python {html.escape(platform.python_version())} on {html.escape(platform.platform())}<br>"
            f"Data folder: {html.escape(str(data_dir()))}</p>")


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, f"About {APP_NAME}", about_html())
