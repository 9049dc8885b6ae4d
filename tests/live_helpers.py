"""Test sources for the live-video tests: generated videos, a loopback MJPEG-over-HTTP
server (a real network stream OpenCV opens through FFmpeg, as it would an IP camera),
and a loopback TCP server that accepts and never sends (the open timeout)."""
from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from vision_studio.core.image_io import read_image


def make_video(path, images, n=60, fps=30.0, size=(320, 240), codec="mp4v"):
    """n frames of the given photos in turn (equal shares, in order); returns the RGB frames used."""
    frames = [cv2.resize(read_image(p).pixels, size) for p in images]
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    assert w.isOpened()
    for i in range(n):
        w.write(cv2.cvtColor(frames[i * len(frames) // n], cv2.COLOR_RGB2BGR))
    w.release()
    return frames


class MjpegServer:
    """multipart/x-mixed-replace JPEG frames at `fps`; each connection gets `per_connection`
    frames and is then closed (None: endless). `down` refuses service (closes at once)."""

    def __init__(self, size=(320, 240), fps=25.0, per_connection=None):
        self.size, self.fps, self.per_connection = size, fps, per_connection
        self.connections = 0
        self.down = threading.Event()
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.connections += 1
                if outer.down.is_set():
                    self.send_error(503)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while not outer.stopping.is_set() and (outer.per_connection is None or i < outer.per_connection):
                        img = np.zeros((outer.size[1], outer.size[0], 3), np.uint8)
                        img[:, : (i * 7) % outer.size[0] + 1] = (0, 200, 0)
                        jpg = cv2.imencode(".jpg", img)[1].tobytes()
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                         % len(jpg) + jpg + b"\r\n")
                        i += 1
                        time.sleep(1 / outer.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._srv.server_address[1]}/video.mjpg"
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self._srv.shutdown()
        self._srv.server_close()
        self._thread.join()


class SilentServer:
    """Accepts TCP connections on loopback and never sends a byte."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while not self._stop.is_set():
            try:
                self.conns.append(self._sock.accept()[0])
            except OSError:
                pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        for c in self.conns:
            c.close()
        self._sock.close()
