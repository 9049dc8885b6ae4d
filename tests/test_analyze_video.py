"""`vision-studio analyze` on videos, streams and cameras, run as a user runs it.

Videos are generated from the test photos; the model is the shared yolov8n int8 ONNX
(real detections), faces are named from a gallery enrolled through the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from conftest import SHARED
from live_helpers import MjpegServer, SilentServer, make_video

MODEL = SHARED / "models" / "yolov8n_int8.onnx"
FACES = SHARED / "faces" / "face_recognition" / "examples"
needs_shared = pytest.mark.skipif(not MODEL.is_file(), reason="needs ../shared/testdata (model and faces)")


def vs(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "vision_studio", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=os.environ, check=False)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def frame_count(path):
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, bgr = cap.read()
    cap.release()
    return n, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None


@needs_shared
def test_objects_on_a_video_are_tracked_and_burned_in(tmp_path, sample_images):
    clip = tmp_path / "street.mp4"
    frames = make_video(clip, [sample_images["bus.jpg"]], n=12, size=(480, 640))
    out = tmp_path / "out"
    r = vs("analyze", clip, "-o", out, "--objects", "--model", MODEL, "--max-frames", 8)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["street.annotated.mp4", "street.frames.jsonl"]
    assert "street.mp4: 8 frames in" in r.stderr
    lines = read_jsonl(out / "street.frames.jsonl")
    assert [d["frame"] for d in lines] == list(range(8))
    assert [round(d["timestamp"], 3) for d in lines[:3]] == [0.0, round(1 / 30, 3), round(2 / 30, 3)]
    assert lines[0]["width"] == 480 and lines[0]["height"] == 640 and lines[0]["source"] == str(clip)
    people = [[o for o in d["results"] if o["label"] == "person"] for d in lines]
    assert all(len(p) >= 3 for p in people)
    assert {o["label"] for o in lines[0]["results"]} >= {"bus", "person"}
    # The same still scene: every person keeps its track id from the first frame to the last.
    ids = [sorted(o["track_id"] for o in p) for p in people]
    assert all(i == ids[0] for i in ids) and None not in ids[0]
    n, first = frame_count(out / "street.annotated.mp4")
    assert n == 8 and first.shape == (640, 480, 3)
    assert np.abs(first.astype(int) - frames[0].astype(int)).mean() > 2  # boxes and labels drawn
    r = vs("analyze", clip, "-o", tmp_path / "bot", "--objects", "--model", MODEL, "--max-frames", 4,
           "--tracker", "botsort")
    assert r.returncode == 0, r.stderr
    assert all(o["track_id"] is not None for d in read_jsonl(tmp_path / "bot" / "street.frames.jsonl")[1:]
               for o in d["results"])
    r = vs("analyze", clip, "-o", tmp_path / "x", "--objects", "--tracker", "deepsort")
    assert r.returncode == 2 and "invalid choice: 'deepsort'" in r.stderr


@needs_shared
def test_faces_keep_their_names_on_tracks(tmp_path):
    gallery = tmp_path / "faces.sqlite"
    r = vs("faces", "enroll", "Barack Obama", FACES / "obama-480p.jpg", "--gallery", gallery)
    assert r.returncode == 0, r.stderr
    clip = tmp_path / "pair.avi"
    make_video(clip, [FACES / "two_people.jpg"], n=8, size=(640, 360), codec="MJPG")
    out = tmp_path / "out"
    r = vs("analyze", clip, "-o", out, "--faces", "--gallery", gallery)
    assert r.returncode == 0, r.stderr
    lines = read_jsonl(out / "pair.frames.jsonl")
    assert len(lines) == 8
    named = [{f["track_id"]: f["label"] for f in d["results"] if f["kind"] == "face"} for d in lines]
    assert all(n == named[0] for n in named) and len(named[0]) == 2
    assert sorted(named[0].values()) == ["Barack Obama", "Unknown"]
    obama = next(f for f in lines[0]["results"] if f["label"] == "Barack Obama")
    assert obama["box"][0] < 320  # Obama stands on the left of two_people.jpg


def test_pipeline_only_video_and_truncated_file(tmp_path, sample_images):
    pipe = tmp_path / "pipe.json"
    pipe.write_text(json.dumps({"version": 1, "steps": [{"op": "gaussian_blur", "params": {"ksize": 21}}]}))
    avi = tmp_path / "clip.avi"
    make_video(avi, [sample_images["bus.jpg"], sample_images["zidane.jpg"]], n=40, codec="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(avi.read_bytes()[: avi.stat().st_size // 2])
    out = tmp_path / "out"
    r = vs("analyze", cut, "-o", out, "--pipeline", pipe)
    assert r.returncode == 1
    lines = read_jsonl(out / "cut.frames.jsonl")  # what came before the cut is kept
    assert 10 < len(lines) < 30 and all(d["results"] == [] for d in lines)
    assert f"{cut}: stopped at frame {len(lines)} of 40 (the file is truncated or damaged)" in r.stderr
    n, first = frame_count(out / "cut.annotated.mp4")
    assert n == len(lines)
    assert cv2.Laplacian(cv2.cvtColor(first, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() < 30  # blurred
    assert "Traceback" not in r.stderr
    r = vs("analyze", cut, "-o", out, "--pipeline", pipe)  # a second run leaves them alone
    assert r.returncode == 0 and "skipped" in r.stderr


def test_a_video_ffmpeg_cannot_parse_is_one_line(tmp_path, sample_images):
    mp4 = tmp_path / "clip.mp4"
    make_video(mp4, [sample_images["bus.jpg"]], n=10)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(mp4.read_bytes()[:2000])  # no moov atom: FFmpeg itself complains on stderr
    pipe = tmp_path / "pipe.json"
    pipe.write_text(json.dumps({"version": 1, "steps": []}))
    r = vs("analyze", cut, "-o", tmp_path / "out", "--pipeline", pipe)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"{cut}: cannot open this video (not a video file OpenCV can read, or damaged)"]
    assert not (tmp_path / "out").exists()


def test_live_stream_stops_at_max_frames(tmp_path):
    pipe = tmp_path / "pipe.json"
    pipe.write_text(json.dumps({"version": 1, "steps": [{"op": "gaussian_blur", "params": {"ksize": 3}}]}))
    with MjpegServer(fps=25) as server:
        r = vs("analyze", server.url, "-o", tmp_path / "out", "--pipeline", pipe, "--max-frames", 10)
    assert r.returncode == 0, r.stderr
    stem = "127.0.0.1_" + server.url.split(":")[2].replace("/", "_").replace(".", "_").rstrip("_")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 2 and files[0].endswith(".annotated.mp4") and files[1].endswith(".frames.jsonl")
    assert files[0].startswith("127.0.0.1_"), (files, stem)
    lines = read_jsonl(tmp_path / "out" / files[1])
    assert len(lines) == 10 and lines[0]["source"] == server.url and lines[0]["width"] == 320
    ts = [d["timestamp"] for d in lines]
    assert ts == sorted(ts) and ts[-1] > 0.2  # live: seconds since opening, at the stream's pace
    n, first = frame_count(tmp_path / "out" / files[0])
    # Real time: (last - first timestamp) x 25 fps frames, give or take the rounding.
    assert abs(n - ((ts[-1] - ts[0]) * 25 + 1)) <= 2 and first.shape == (240, 320, 3)


def test_bad_live_sources_fail_cleanly(tmp_path):
    pipe = tmp_path / "pipe.json"
    pipe.write_text(json.dumps({"version": 1, "steps": []}))
    out = tmp_path / "out"
    with SilentServer() as server:
        t0 = time.monotonic()
        r = vs("analyze", f"rtsp://127.0.0.1:{server.port}/cam", "-o", out, "--pipeline", pipe)
        elapsed = time.monotonic() - t0
    assert r.returncode == 1 and elapsed < 12  # interpreter start-up + the 5 s limit
    assert f"rtsp://127.0.0.1:{server.port}/cam: no video within" in r.stderr
    r = vs("analyze", "camera:42", "-o", out, "--pipeline", pipe)
    assert r.returncode == 1
    assert "camera:42: cannot open this camera" in r.stderr
    assert not out.exists(), "a run that opened nothing leaves no empty folder"
    r = vs("analyze", "camera:0", tmp_path / "pipe.json", "-o", out, "--pipeline", pipe)
    assert r.returncode == 2 and "not mixed with images" in r.stderr
    assert "Traceback" not in r.stderr
