"""The central image view: zoom around the cursor, pan by dragging, overlays from results."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

if TYPE_CHECKING:
    from vision_studio.core.annotate import Style
    from vision_studio.core.results import Detection

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0


class ImageCanvas(QGraphicsView):
    sig_cursor_moved = Signal(object)  # (x, y) in image pixels, or None when outside
    sig_zoom_changed = Signal(float)  # 1.0 == 100 %
    sig_rect_selected = Signal(object)  # (x, y, w, h) in image pixels after select_rect(); None: nothing drawn
    sig_overlay_clicked = Signal(int)  # index of the detection whose box was clicked
    sig_face_menu_requested = Signal(int, QPoint)  # a face box was right-clicked: index, global position

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("ImageCanvas")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._pixmap_item = QGraphicsPixmapItem()
        self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._pixmap_item)
        self._overlay_items: list = []
        self._fit_mode = True
        self._fit_key: tuple = ()  # _current_fit_key() at the last fit
        self._placeholder = "Open an image (Ctrl+O), a folder (Ctrl+Shift+O), or drop files here"
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setMouseTracking(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        # A neutral grey behind the picture, like every image viewer: the image's
        # own edges stay visible in both light and dark appearance.
        self.setBackgroundBrush(QBrush(QColor(128, 128, 128)))
        self.setAcceptDrops(False)  # the main window handles drops for the whole window
        self._band_start: QPointF | None = None
        self._boxes: dict[int, QGraphicsRectItem] = {}  # detection index -> its box item
        self._kinds: dict[int, str] = {}  # detection index -> its kind ("face", "object", ...)
        self._highlighted = -1
        self._press_pos: QPoint | None = None

    # ------------------------------------------------------------------ content
    def has_image(self) -> bool:
        return not self._pixmap_item.pixmap().isNull()

    def set_pixmap(self, pixmap: QPixmap, keep_view: bool = False, scale: float = 1.0,
                   keep_overlays: bool = False) -> None:
        """Show `pixmap`; `scale` < 1 marks a downscaled preview, shown at full size so
        scene coordinates stay ORIGINAL image pixels. `keep_overlays`: the overlays stay
        when the size is unchanged (video frames: redrawing them 30 times a second costs
        GUI time, and Python time here is time the analysis thread waits for the GIL)."""
        self._pixmap_item.setPixmap(pixmap)
        self._pixmap_item.setScale(1.0 / scale)
        w, h = pixmap.width() / scale, pixmap.height() / scale
        old = self._scene.sceneRect()
        # A proxy's rounded size / scale is within ~1/scale px of the original: not a change.
        tolerance = 1.0 / scale + 0.5
        changed = abs(old.width() - w) > tolerance or abs(old.height() - h) > tolerance
        self._scene.setSceneRect(QRectF(0, 0, w, h))
        if changed or not keep_overlays:
            self.clear_overlays()
        # A video's next frame keeps a valid fit: fitInView per frame was a quarter of the GUI
        # thread's GIL time at 30 fps (py-spy), time the analysis thread waited for.
        if not keep_view or changed or (self._fit_mode and self._fit_key != self._current_fit_key()):
            self.fit()

    def clear(self, message: str | None = None) -> None:
        self._pixmap_item.setPixmap(QPixmap())
        self.clear_overlays()
        if message is not None:
            self._placeholder = message
        self.viewport().update()

    def set_placeholder(self, message: str) -> None:
        self._placeholder = message
        self.viewport().update()

    def clear_overlays(self) -> None:
        for item in self._overlay_items:
            self._scene.removeItem(item)
        self._overlay_items.clear()
        self._boxes.clear()
        self._kinds.clear()
        self._highlighted = -1

    def set_results(self, detections: list[Detection], style: Style | None = None) -> None:
        """Overlays as Qt items from the same results and style the exporter draws."""
        from vision_studio.core.annotate import Style, color_for, label_text

        style = style or Style()
        self.clear_overlays()
        rect = self._scene.sceneRect()
        lw = style.width_for(int(rect.height()), int(rect.width()))
        for index, det in enumerate(detections):
            if det.keypoints is not None and len(det.keypoints):
                self._add_points(det, style, lw)
            if det.landmarks and style.show_landmarks:
                self._add_landmarks(det, style, lw)
            if det.box is None:
                continue
            r, g, b = color_for(det, style)
            x1, y1, x2, y2 = det.box
            box = QGraphicsRectItem(QRectF(x1, y1, x2 - x1, y2 - y1))
            pen = QPen(QColor(r, g, b), lw)
            pen.setCosmetic(False)
            box.setPen(pen)
            box.setZValue(1)
            box.setData(0, index)
            self._scene.addItem(box)
            self._overlay_items.append(box)
            self._boxes[index] = box
            self._kinds[index] = det.kind
            text = label_text(det, style)
            if text:
                label = QGraphicsSimpleTextItem(text)
                font = QFont()
                font.setPixelSize(max(10, lw * 5))
                label.setFont(font)
                label.setBrush(QBrush(QColor(255, 255, 255)))
                bg = QGraphicsRectItem(label.boundingRect().adjusted(-2, -1, 2, 1))
                bg.setBrush(QBrush(QColor(r, g, b)))
                bg.setPen(QPen(Qt.PenStyle.NoPen))
                h = bg.rect().height()
                pos = QPointF(x1, y1 - h if y1 - h >= 0 else y1)
                bg.setPos(pos)
                label.setParentItem(bg)
                bg.setZValue(2)
                self._scene.addItem(bg)
                self._overlay_items.append(bg)

    def _add_points(self, det: Detection, style: Style, lw: int) -> None:
        from vision_studio.core.annotate import color_for

        # One path item for all points: thousands of ORB keypoints stay cheap to draw.
        path = QPainterPath()
        radius = max(2.0, lw * 1.5)
        for x, y in det.keypoints[:, :2]:
            path.addEllipse(QPointF(float(x), float(y)), radius, radius)
        item = QGraphicsPathItem(path)
        pen = QPen(QColor(*color_for(det, style)), max(1, lw // 2))
        item.setPen(pen)
        item.setZValue(1)
        self._scene.addItem(item)
        self._overlay_items.append(item)

    def _add_landmarks(self, det: Detection, style: Style, lw: int) -> None:
        """Face landmarks as filled dots of radius lw, as annotate.render draws them."""
        from vision_studio.core.annotate import color_for

        path = QPainterPath()
        radius = float(max(1, lw))
        for pts in det.landmarks.values():
            for x, y in pts:
                path.addEllipse(QPointF(float(x), float(y)), radius, radius)
        item = QGraphicsPathItem(path)
        color = QColor(*color_for(det, style))
        item.setPen(QPen(Qt.PenStyle.NoPen))
        item.setBrush(QBrush(color))
        item.setZValue(1)
        self._scene.addItem(item)
        self._overlay_items.append(item)

    def highlight(self, index: int) -> None:
        """Emphasize one detection's box (-1: none), e.g. the row selected in Results."""
        for i, box in self._boxes.items():
            pen = box.pen()
            if i == self._highlighted and i != index:
                pen.setWidthF(pen.widthF() / 2.5)
                pen.setStyle(Qt.PenStyle.SolidLine)
            if i == index and i != self._highlighted:
                pen.setWidthF(pen.widthF() * 2.5)
                pen.setStyle(Qt.PenStyle.DashLine)
            box.setPen(pen)
        self._highlighted = index
        if index in self._boxes:
            self.ensureVisible(self._boxes[index], 40, 40)

    def highlighted(self) -> int:
        return self._highlighted

    def _box_at(self, view_pos: QPoint) -> int:
        """Smallest box under the cursor (nested boxes: the inner one wins)."""
        p = self.mapToScene(view_pos)
        hits = [(box.rect().width() * box.rect().height(), i) for i, box in self._boxes.items()
                if box.rect().contains(p)]
        return min(hits)[1] if hits else -1

    # ------------------------------------------------------------------ rectangle selection
    def select_rect(self) -> None:
        """Let the user drag a rectangle; emits sig_rect_selected, then panning resumes."""
        self._band_start = None
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)

    def selecting(self) -> bool:
        return self.dragMode() == QGraphicsView.DragMode.RubberBandDrag

    def mousePressEvent(self, event) -> None:
        self._press_pos = event.position().toPoint()
        if self.selecting():
            self._band_start = self.mapToScene(event.position().toPoint())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        clicked = self._press_pos is not None and (pos - self._press_pos).manhattanLength() < 4
        if not self.selecting():
            if clicked and self._boxes:  # a click, not a pan: select the box under the cursor
                index = self._box_at(pos)
                if index >= 0:
                    self.sig_overlay_clicked.emit(index)
            return
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.viewport().unsetCursor()
        if self._band_start is None:
            self.sig_rect_selected.emit(None)
            return
        a, b = self._band_start, self.mapToScene(event.position().toPoint())
        rect = self._scene.sceneRect()
        x1 = int(max(0, min(a.x(), b.x())))
        y1 = int(max(0, min(a.y(), b.y())))
        x2 = int(min(rect.width(), max(a.x(), b.x())))
        y2 = int(min(rect.height(), max(a.y(), b.y())))
        # A click without a drag (or a drag outside the image) draws nothing: None says so.
        self.sig_rect_selected.emit((x1, y1, x2 - x1, y2 - y1) if x2 > x1 and y2 > y1 else None)

    # ------------------------------------------------------------------ zoom
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self._fit_mode = False
        self.resetTransform()
        self.scale(factor, factor)
        self.sig_zoom_changed.emit(factor)

    def zoom_by(self, step: float, around: QPoint | None = None) -> None:
        """Scale by `step`, keeping the image pixel under `around` (view coords) in place."""
        current = self.zoom()
        target = max(MIN_ZOOM, min(MAX_ZOOM, current * step))
        if target == current:
            return
        self._fit_mode = False
        if around is None:
            self.scale(target / current, target / current)
        else:
            # Done by hand rather than with AnchorUnderMouse: that anchor uses the last
            # mouse-move position, which is wrong for touchpads and synthetic events.
            anchor = self.transformationAnchor()
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
            scene_point = self.mapToScene(around)
            self.scale(target / current, target / current)
            drift = self.mapFromScene(scene_point) - around
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
            self.setTransformationAnchor(anchor)
        self.sig_zoom_changed.emit(self.zoom())

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def fit(self) -> None:
        self._fit_mode = True
        if not self.has_image():
            return
        self.resetTransform()
        self.fitInView(self._pixmap_item, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:  # never blow small images up when fitting
            self.resetTransform()
        self._fit_key = self._current_fit_key()
        self.sig_zoom_changed.emit(self.zoom())

    def _current_fit_key(self) -> tuple:
        """What a fit depends on: the viewport's size and the image's (scene) size."""
        r = self._scene.sceneRect()
        return self.viewport().width(), self.viewport().height(), r.width(), r.height()

    # ------------------------------------------------------------------ events
    def wheelEvent(self, event: QWheelEvent) -> None:
        if not self.has_image():
            return
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(ZOOM_STEP ** (delta / 120.0), around=event.position().toPoint())
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        if not self.has_image():
            return
        p = self.mapToScene(event.position().toPoint())
        x, y = int(p.x() // 1), int(p.y() // 1)
        rect = self._scene.sceneRect()
        inside = 0 <= x < rect.width() and 0 <= y < rect.height()
        self.sig_cursor_moved.emit((x, y) if inside else None)

    def contextMenuEvent(self, event) -> None:
        """Right-click on a face box: whoever listens (the Faces panel) shows its menu."""
        index = self._box_at(event.pos())
        if index >= 0 and self._kinds.get(index) == "face":
            self.sig_overlay_clicked.emit(index)  # select it (Results row, highlight) as a click does
            self.sig_face_menu_requested.emit(index, event.globalPos())
            event.accept()
            return
        super().contextMenuEvent(event)

    def leaveEvent(self, event) -> None:
        super().leaveEvent(event)
        self.sig_cursor_moved.emit(None)

    def drawForeground(self, painter: QPainter, rect) -> None:
        super().drawForeground(painter, rect)
        if self.has_image():
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(self.palette().placeholderText().color())
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        painter.setFont(font)
        painter.drawText(self.viewport().rect().adjusted(24, 24, -24, -24),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
        painter.restore()
