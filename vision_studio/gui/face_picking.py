"""Enrolling a face clicked on the canvas: "Add to gallery as…" / "Add to <person>".

The canvas only says which overlay was right-clicked (its index into the detections it
shows). Here we find that face in the pipeline's last full result and pick the pixels
its box refers to: the original image when the analysis saw an image of the same size
(cleaner than a filtered one), else the filtered result itself — unless that result is
anonymized, which would enroll a blur. The encoding runs in a job (faces_jobs.enroll_face).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint
from PySide6.QtWidgets import QMenu

from vision_studio.gui import faces_jobs as fj

if TYPE_CHECKING:
    from vision_studio.gui.docks.faces import FacesDock

MAX_MENU_PEOPLE = 20


class FaceUnavailable(Exception):
    """The clicked face cannot be enrolled (one-line reason for the status line)."""


class FacePicker(QObject):
    def __init__(self, dock: FacesDock):
        super().__init__(dock)
        self.dock = dock

    def face_at(self, index: int):
        """(pixels, box, source path) of the face overlay `index`, or FaceUnavailable."""
        pipeline, browser = self.dock.pipeline, self.dock.browser
        last = pipeline.last if pipeline is not None else None
        image = browser.current if browser is not None else None
        if last is None or image is None or not last.full:
            raise FaceUnavailable("Wait for the analysis to finish, then right-click the face again")
        detections = last.output.detections
        if not 0 <= index < len(detections) or detections[index].kind != "face" or detections[index].box is None:
            raise FaceUnavailable("That box is not a face")
        box = detections[index].box
        settings = pipeline.analyzers
        original = image.pixels
        shown = last.output.image
        if settings.detect_on == "original" or tuple(shown.shape[:2]) == tuple(original.shape[:2]):
            pixels = original
        elif settings.faces is not None and settings.faces.anonymize:
            raise FaceUnavailable("Turn anonymizing off to enroll this face (the image is resized by a step)")
        else:
            from vision_studio.core.ops.spec import to_rgb

            pixels = to_rgb(shown)
        return pixels, box, str(image.path)

    def build_menu(self, index: int) -> QMenu:
        menu = QMenu(self.dock)
        identity = None
        try:
            last = self.dock.pipeline.last
            identity = last.output.detections[index].identity
        except (AttributeError, IndexError):
            pass
        menu.addAction("Add to Gallery as…", lambda: self.ask_and_add(index))
        names = self.dock.names()
        if identity in names:
            menu.addAction(f"Add to {identity}", lambda: self.add(index, identity))
        others = [n for n in names if n != identity][:MAX_MENU_PEOPLE]
        if others:
            sub = menu.addMenu("Add to")
            for name in others:
                sub.addAction(name, lambda n=name: self.add(index, n))
        return menu

    def show_menu(self, index: int, global_pos: QPoint) -> None:
        if not self.dock._loaded:
            self.dock.refresh()  # the names come a moment later; "Add to Gallery as…" works now
        self.build_menu(index).exec(global_pos)

    def ask_and_add(self, index: int) -> None:
        try:
            self.face_at(index)  # say what is wrong before asking for a name
        except FaceUnavailable as exc:
            self.dock.show_status(str(exc), error=True)
            return
        name = self.dock.ask_name("Add to gallery", "Name of this person:")
        if name:
            self.add(index, name)

    def add(self, index: int, name: str) -> int | None:
        """Encode face `index` of the current result and enroll it as `name` (in a job)."""
        try:
            pixels, box, source = self.face_at(index)
        except FaceUnavailable as exc:
            self.dock.show_status(str(exc), error=True)
            return None
        options = self.dock.enrollment_options()
        return self.dock.start(fj.enroll_face, self.dock.gallery_path(), name, pixels, box, source,
                               options.num_jitters, name=f"Enrolling {name}", on_result=self.dock._enrolled,
                               dlib=True)
