#!/usr/bin/env python3
"""Seed 004's MJPEG parsing approach, re-implemented faithfully and timed on a stream file.

The seed reads `requests` body chunks (iter_content(chunk_size=1024)), appends each to a bytes
object, searches for one fixed delimiter (b'\\r\\n--frame\\r\\nContent-Type: image/jpeg\\r\\n\\r\\n')
from the current frame's start, and emits the bytes between two delimiters. It therefore needs
the next frame to emit the current one (the last frame is lost) and only understands its own
server's exact bytes. Here chunks come from the file instead of a socket and cv2.imdecode is
left out (we time parsing only).

Usage: seed_parser.py STREAM_FILE [CHUNK_SIZE]   prints JSON: frames, bytes, seconds, MB/s
"""
import json
import sys
import time


def seed_parse(chunks):
    """The seed's loop (HttpCamera.open.tmp / the first client script), yielding frames."""
    data = b'\r\n'
    cst = b'\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n'
    now = 0
    for chunk in chunks:
        data += chunk
        nxt = data.find(cst, now + 1)
        if -1 != nxt:
            yield data[now + len(cst):nxt]
            data = data[nxt:]
            now = 0


def main():
    path = sys.argv[1]
    chunk_size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    with open(path, 'rb') as f:
        stream = f.read()
    chunks = [stream[i:i + chunk_size] for i in range(0, len(stream), chunk_size)]
    best = None
    frames = 0
    for _ in range(3):
        t0 = time.perf_counter()
        frames = 0
        size = 0
        for frame in seed_parse(chunks):
            frames += 1
            size += len(frame)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    print(json.dumps({
        'parser': 'seed004-python',
        'chunk_size': chunk_size,
        'frames': frames,
        'stream_bytes': len(stream),
        'seconds': round(best, 4),
        'MB_per_s': round(len(stream) / best / 1e6, 1),
    }))


if __name__ == '__main__':
    main()
