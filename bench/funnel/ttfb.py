#!/usr/bin/env python3
"""Time to the first BODY byte of a range request (not the headers: a server may send headers
before it has any bytes). Usage: ttfb.py HOST PORT PATH OFFSET [EXPECT_HEX_FILE]

Prints milliseconds. With EXPECT_HEX_FILE (a local copy of the content) it also checks that the
first body bytes equal the file's bytes at OFFSET and prints 'ok' or 'MISMATCH'."""
import socket
import sys
import time

host, port, path, offset = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ref = sys.argv[5] if len(sys.argv) > 5 else None

s = socket.create_connection((host, port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nRange: bytes={offset}-\r\nConnection: close\r\n\r\n"
t0 = time.perf_counter()
s.sendall(req.encode())
buf = b""
body = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
    i = buf.find(b"\r\n\r\n")
    if i >= 0 and len(buf) > i + 4:
        t1 = time.perf_counter()
        head = buf[:i].decode("latin1")
        body = buf[i + 4:]
        break
else:
    t1 = None
s.close()
if not body:
    print("no-body")
    sys.exit(1)
status = head.split("\r\n")[0]
verdict = ""
if ref:
    with open(ref, "rb") as f:
        f.seek(offset)
        want = f.read(len(body))
    # A chunked response would prefix a size line; the funnel and nginx send Content-Length.
    verdict = " ok" if want == body[: len(want)] else " MISMATCH"
print(f"{(t1 - t0) * 1000:.1f}{verdict} ({status})")
