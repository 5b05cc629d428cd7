#!/usr/bin/env python3
"""A static directory served with byte ranges, each response paced to RATE bytes/s from its
first byte (nginx's limit_rate cannot slow a response that fits in the loopback socket buffer,
which HLS segments do). A chunk is sent only once the rate allows it, so no request gets a free
burst: many small range requests are no faster per connection than one large one.
Usage: paced_static.py DIR PORT RATE"""
import http.server, os, sys, time

ROOT, PORT, RATE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".mp4": "video/mp4"}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        p = os.path.join(ROOT, self.path.split("?")[0].lstrip("/"))
        if ".." in self.path or not os.path.isfile(p):
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        data = open(p, "rb").read()
        a, b, st = 0, len(data), 200
        r = self.headers.get("Range", "")
        if r.startswith("bytes="):
            s, _, e = r[6:].partition("-")
            a, b, st = int(s), (int(e) + 1 if e else len(data)), 206
        self.send_response(st)
        self.send_header("Content-Type", TYPES.get(os.path.splitext(p)[1], "application/octet-stream"))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(b - a))
        if st == 206:
            self.send_header("Content-Range", f"bytes {a}-{b - 1}/{len(data)}")
        self.end_headers()
        t0, sent, chunk = time.monotonic(), 0, 16384
        try:
            for off in range(a, b, chunk):
                part = data[off:min(off + chunk, b)]
                ahead = (sent + len(part)) / RATE - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
                self.wfile.write(part)
                sent += len(part)
        except (BrokenPipeError, ConnectionResetError):
            pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
