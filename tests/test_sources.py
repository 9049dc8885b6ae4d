"""Live sources: parsing, camera listing, the capture thread (pacing, latest-wins, controls),
the watchdog and reconnect on a fake stalling source, the open timeout against a loopback
TCP server that accepts and never answers, truncated/unreadable files, the MP4 writer.

Videos are generated here with cv2.VideoWriter from the test photos and go through
the same Capture/CvReader code a webcam uses."""
from __future__ import annotations

import sys
import threading
import time

import cv2
import numpy as np
import pytest
from live_helpers import MjpegServer, SilentServer, make_video

from vision_studio.core.sources import (
    Capture,
    SourceError,
    SourceInfo,
    VideoWriter,
    list_cameras,
    parse_source,
)
from vision_studio.core.sources import spec as spec_mod


@pytest.fixture
def clip(tmp_path, sample_images):
    path = tmp_path / "clip.mp4"
    frames = make_video(path, [sample_images["bus.jpg"], sample_images["zidane.jpg"]])
    return path, frames


def drain(cap, timeout=5.0):
    seen, seq = [], -1
    while (f := cap.wait_frame(seq, timeout)) is not None:
        seen.append(f)
        seq = f.seq
    return seen


def diff(a, b):
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


# ---- parsing and listing ----------------------------------------------------------------
def test_parse_source_kinds(tmp_path, clip):
    assert parse_source("camera:2").kind == "camera" and parse_source("camera:2").target == "2"
    assert parse_source("/dev/video1").target == "1"
    s = parse_source("rtsp://admin:secret@10.0.0.5:554/live?x=1", 1280, 720, 30)
    assert (s.kind, s.width, s.height, s.fps, s.live) == ("stream", 1280, 720, 30.0, True)
    assert "secret" not in s.label and "secret" not in s.stem and s.stem.startswith("10.0.0.5")
    assert parse_source(str(clip[0])).kind == "video" and parse_source(str(clip[0])).stem == "clip"
    assert parse_source(str(tmp_path)).kind == "folder"
    with pytest.raises(SourceError, match="missing.mp4: no such file"):
        parse_source(str(tmp_path / "missing.mp4"))
    with pytest.raises(SourceError, match="width must be positive"):
        parse_source("camera:0", width=-1)


def test_linux_cameras_from_sysfs(tmp_path, monkeypatch):
    dev, sysfs = tmp_path / "dev", tmp_path / "sys"
    for n, name, index in ((0, "HD Webcam: HD Webcam", "0"), (1, "HD Webcam: HD Webcam", "1"), (2, "USB Cam", "0")):
        (dev / f"video{n}").parent.mkdir(exist_ok=True)
        (dev / f"video{n}").touch()
        (sysfs / f"video{n}").mkdir(parents=True)
        (sysfs / f"video{n}" / "name").write_text(name + "\n")
        (sysfs / f"video{n}" / "index").write_text(index + "\n")
    monkeypatch.setattr(sys, "platform", "linux")
    cams = list_cameras(sysfs=sysfs, dev=dev)
    assert [(c.index, c.name, c.source) for c in cams] == [(0, "HD Webcam: HD Webcam", "camera:0"),
                                                         (2, "USB Cam", "camera:2")]


@pytest.mark.parametrize("platform, backend", [("win32", cv2.CAP_DSHOW), ("darwin", cv2.CAP_AVFOUNDATION)])
def test_other_os_probes_indices_with_their_backend(monkeypatch, platform, backend):
    calls = []

    class FakeCap:
        def __init__(self, index, api):
            calls.append((index, api))
            self.index = index

        def isOpened(self):
            return self.index in (0, 2)

        def release(self):
            pass

    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(cv2, "VideoCapture", FakeCap)
    assert [c.index for c in list_cameras(max_probe=4)] == [0, 2]
    assert calls == [(i, backend) for i in range(4)]
    assert spec_mod.camera_backend() == backend


# ---- files through the capture thread -----------------------------------------------------
def test_file_plays_at_its_rate_with_right_pixels(clip):
    path, frames = clip
    cap = Capture(parse_source(str(path))).start()
    t0 = time.monotonic()
    seen = drain(cap)
    elapsed = time.monotonic() - t0
    st = cap.stats()
    assert cap.stop()
    assert [f.index for f in seen] == list(range(60))
    assert 1.6 < elapsed < 3.0, elapsed  # 60 frames at 30 fps: 2 s
    assert st.state == "ended" and "60 frames" in st.message and st.dropped == 0
    assert abs(seen[-1].timestamp - 59 / 30) < 0.05
    assert diff(seen[0].pixels, frames[0]) < 8 and diff(seen[59].pixels, frames[1]) < 8
    assert diff(seen[59].pixels, frames[0]) > 30


def test_seek_step_pause_speed(clip):
    path, frames = clip
    cap = Capture(parse_source(str(path)), start_paused=True).start()
    try:
        cap.seek(45)
        f = cap.wait_frame(-1, 3)
        assert f.index == 45 and diff(f.pixels, frames[1]) < 8
        assert cap.wait_frame(f.seq, 0.5) is None  # paused: nothing more comes
        cap.step()
        g = cap.wait_frame(f.seq, 3)
        assert g.index == 46
        cap.step(-10)
        h = cap.wait_frame(g.seq, 3)
        assert h.index == 36
        cap.seek(0)
        cap.set_speed(4.0)
        cap.play()
        t0 = time.monotonic()
        last = drain(cap)[-1]
        assert last.index == 59 and time.monotonic() - t0 < 1.2  # 2 s of video at 4x
        assert cap.stats().state == "ended"
        assert cap.stats().message.startswith("End of")
        cap.seek(10)  # after the end, a seek shows that frame
        assert cap.wait_frame(last.seq, 3).index == 10
        assert not cap.stats().message.startswith("End of")  # and the panel no longer says so
    finally:
        assert cap.stop()


def test_slow_consumer_gets_the_newest_frame_and_drops_are_counted(clip):
    cap = Capture(parse_source(str(clip[0])), paced=False).start()
    time.sleep(0.3)
    first = cap.latest()
    drain(cap)
    st = cap.stats()
    cap.stop()
    assert first is not None and first.index > 5  # not frame 0 queued from the start
    assert st.dropped >= 5 and st.frames == 60


def test_folder_plays_as_a_sequence(tmp_path, sample_images):
    for i, name in enumerate(("bus.jpg", "zidane.jpg", "darknet_dog.jpg")):
        (tmp_path / f"img{i + 1}.jpg").write_bytes(sample_images[name].read_bytes())
    cap = Capture(parse_source(str(tmp_path), fps=20)).start()
    seen = drain(cap)
    cap.stop()
    assert [f.pixels.shape for f in seen] == [(1080, 810, 3), (720, 1280, 3), (576, 768, 3)]
    assert cap.stats().info.frame_count == 3


def test_truncated_and_unreadable_videos(tmp_path, sample_images):
    avi = tmp_path / "clip.avi"
    make_video(avi, [sample_images["bus.jpg"], sample_images["zidane.jpg"]], codec="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(avi.read_bytes()[: avi.stat().st_size // 2])
    cap = Capture(parse_source(str(cut)), paced=False).start()
    seen = drain(cap)
    cap.stop()
    st = cap.stats()
    assert st.state == "failed" and 20 < len(seen) < 45
    assert st.message == f"{cut}: stopped at frame {len(seen)} of 60 (the file is truncated or damaged)"

    mp4 = tmp_path / "cut.mp4"
    make_video(tmp_path / "full.mp4", [sample_images["bus.jpg"]])
    mp4.write_bytes((tmp_path / "full.mp4").read_bytes()[:5000])  # the index (moov) is at the end
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    for bad in (mp4, text):
        cap = Capture(parse_source(str(bad))).start()
        assert drain(cap) == []
        cap.stop()
        assert cap.stats().state == "failed"
        assert cap.stats().message == f"{bad}: cannot open this video (not a video file OpenCV can read, or damaged)"


# ---- faults on live sources ---------------------------------------------------------------
class FakeCamera:
    """A live source that delivers `good` frames, then stalls for `stall` s, then dies."""

    def __init__(self, good=10, stall=0.0, die=True, fps=50.0):
        self.info = SourceInfo(64, 48, fps)
        self.good, self.stall, self.die, self.fps = good, stall, die, fps
        self.position = -1
        self.closed = False

    def read(self):
        if self.position + 1 >= self.good:
            if self.stall:
                time.sleep(self.stall)
                self.stall = 0.0
                if not self.die:
                    self.good += 1000
            if self.die:
                raise SourceError("fake: stopped delivering frames")
        time.sleep(1 / self.fps)
        self.position += 1
        return np.full((48, 64, 3), self.position % 256, np.uint8), self.position / self.fps

    def close(self):
        self.closed = True


def test_stalling_camera_reports_reconnecting_and_resumes():
    cams = []

    def opener(spec):
        cams.append(None)
        if len(cams) == 2:  # unplugged: the first reopen fails, the next works
            raise SourceError("camera:9: cannot open this camera")
        first = len(cams) == 1
        cams[-1] = FakeCamera(good=10, stall=1.2 if first else 0.0, die=first)
        return cams[-1]

    cap = Capture(parse_source("camera:9"), opener=opener, stall_timeout=0.5, backoff=(0.2, 0.4)).start()
    try:
        seen = [cap.wait_frame(-1, 3)]
        deadline = time.monotonic() + 3
        states = set()
        while time.monotonic() < deadline and len(cams) < 3:
            states.add(cap.stats().state)
            time.sleep(0.02)
        assert "reconnecting" in states  # the watchdog saw the stall before the reader failed
        f = cap.wait_frame(seen[0].seq + 10, 3)
        st = cap.stats()
        assert f is not None and st.state == "playing" and st.reconnects == 2 and len(cams) == 3
        assert cams[0].closed
    finally:
        assert cap.stop()


def test_a_camera_that_never_opens_fails_at_once():
    def opener(spec):
        raise SourceError("camera:7: cannot open this camera (not connected, or in use by another program)")

    cap = Capture(parse_source("camera:7"), opener=opener).start()
    assert cap.wait_frame(-1, 2) is None
    assert cap.stats().state == "failed" and "not connected" in cap.stats().message
    assert cap.stop()


def test_open_backstop_when_the_backend_ignores_its_timeout():
    release = threading.Event()

    def opener(spec):
        release.wait(10)
        return FakeCamera()

    cap = Capture(parse_source("rtsp://127.0.0.1:9/x"), opener=opener, open_timeout=0.5).start()
    t0 = time.monotonic()
    assert cap.wait_frame(-1, 3) is None
    assert time.monotonic() - t0 < 1.0
    assert cap.stats().state == "failed" and "no video within 0.5 s" in cap.stats().message
    release.set()
    assert cap.stop()


@pytest.mark.parametrize("scheme", ["http", "rtsp"])
def test_stream_that_accepts_and_never_sends_gives_up_within_5s(scheme):
    with SilentServer() as server:
        port, conns = server.port, server.conns
        cap = Capture(parse_source(f"{scheme}://127.0.0.1:{port}/live")).start()
        t0 = time.monotonic()
        assert cap.wait_frame(-1, 8) is None
        elapsed = time.monotonic() - t0
        st = cap.stats()
        assert cap.stop(6)
        assert conns, "the client never connected"
    assert st.state == "failed" and elapsed < 5.2, (elapsed, st)
    assert st.message.startswith(f"{scheme}://127.0.0.1:{port}/live: no video within")


# ---- writer --------------------------------------------------------------------------------
def test_writer_is_atomic_and_readable(tmp_path, clip):
    frames = clip[1]
    out = tmp_path / "out.mp4"
    w = VideoWriter(out, fps=25)
    for i in range(20):
        w.write(frames[i // 10])
        if i == 5:
            assert not out.exists() and len(list(tmp_path.glob(".out.*.part.mp4"))) == 1
    w.write(cv2.resize(frames[0], (100, 80)))  # another size is resized to the first
    w.close()
    assert not list(tmp_path.glob("*.part.mp4")) and w.size_bytes == out.stat().st_size > 1000
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 21 and cap.get(cv2.CAP_PROP_FPS) == 25
    ok, bgr = cap.read()
    cap.release()
    assert ok and diff(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), frames[0]) < 8

    w2 = VideoWriter(tmp_path / "aborted.mp4", fps=30)
    w2.write(frames[0])
    w2.abort()
    assert not list(tmp_path.glob("aborted*")) and not list(tmp_path.glob(".aborted*"))
    with pytest.raises(SourceError, match="no frames to write"):
        VideoWriter(tmp_path / "empty.mp4", fps=30).close()
    assert not list(tmp_path.glob("*empty*"))


def test_real_mjpeg_stream_plays_drops_and_reconnects():
    """An HTTP MJPEG stream (as IP cameras serve) that hangs up every 30 frames, then is down
    for a while: the capture reconnects each time and resumes."""
    with MjpegServer(fps=30, per_connection=30) as server:
        cap = Capture(parse_source(server.url), backoff=(0.3,)).start()
        try:
            first = cap.wait_frame(-1, 5)
            assert first is not None and first.pixels.shape == (240, 320, 3)
            assert first.pixels[120, 0, 1] > 150 and first.pixels[120, 319, 1] < 60  # the green bar's start
            server.down.set()
            deadline = time.monotonic() + 5
            while cap.stats().state != "reconnecting" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert cap.stats().state == "reconnecting" and "Reconnecting" in cap.stats().message
            seq = cap.latest().seq
            server.down.clear()
            resumed = cap.wait_frame(seq, 8)
            st = cap.stats()
            assert resumed is not None and st.state == "playing" and st.reconnects >= 1
            assert server.connections >= 2 and 15 < st.source_fps < 40
        finally:
            assert cap.stop()
