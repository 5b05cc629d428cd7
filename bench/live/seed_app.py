"""The seed's design (shared/seeds/001): Flask, one generator per viewer, run under gunicorn
with gevent workers (the fix the seed proposes), with the camera emulator of the seed (cycling
JPEG files) paced at FPS and a gevent Event so each viewer waits for the next frame instead of
spinning (as in the seed author's follow-up, base_camera.py). Each part carries Content-Length
and X-Timestamp (capture time) so the same load client measures both servers.

Environment: FRAMES_DIR (JPEG files, cycled in name order), FPS (default 30).
"""
import os
import time

import gevent
from gevent.event import Event
from flask import Flask, Response

FRAMES_DIR = os.environ["FRAMES_DIR"]
FPS = float(os.environ.get("FPS", "30"))


class Camera:
    def __init__(self):
        names = sorted(n for n in os.listdir(FRAMES_DIR) if n.endswith(".jpg"))
        self.frames = [open(os.path.join(FRAMES_DIR, n), "rb").read() for n in names]
        self.frame = self.frames[0]
        self.stamp = time.time()
        self.event = Event()
        gevent.spawn(self._run)

    def _run(self):
        i = 0
        next_t = time.time()
        while True:
            next_t += 1.0 / FPS
            gevent.sleep(max(0.0, next_t - time.time()))
            i = (i + 1) % len(self.frames)
            self.frame, self.stamp = self.frames[i], time.time()
            self.event.set()
            self.event.clear()

    def get_frame(self):
        self.event.wait()
        return self.frame, self.stamp


app = Flask(__name__)
camera = None


def gen(cam):
    while True:
        frame, stamp = cam.get_frame()
        yield (b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %.6f\r\n\r\n"
               % (len(frame), stamp) + frame + b"\r\n")


@app.route("/video_feed")
def video_feed():
    global camera
    if camera is None:
        camera = Camera()
    return Response(gen(camera), mimetype="multipart/x-mixed-replace; boundary=frame")
