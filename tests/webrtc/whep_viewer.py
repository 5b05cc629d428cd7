"""A non-browser WHEP viewer (aiortc): pulls a homestream live stream over WebRTC and prints
one JSON object with what it got, for the Rust test that ran it to assert on.

Usage: python whep_viewer.py WHEP-URL SECONDS [--bearer TOKEN] [--timeline]

POSTs a recvonly H.264 + Opus offer, checks 201 + Location, plays for SECONDS, decodes the
test pattern's timecode block (README: "The test pattern's timecode") from every frame to read
glass-to-glass latency (arrival of the decoded frame minus the capture time it carries), counts
the beeps in the sound, then DELETEs the session and reports the status of that too.
`--timeline` adds, per second of the measurement, how many frames carried a timecode and how
many did not (a "no signal" picture has none), to follow a source that leaves and returns.
ICE is held to loopback: tests never leave 127.0.0.1.
"""

import array
import asyncio
import json
import math
import sys
import time

from signal_kit import auth_headers, delete, negotiate

from aiortc import RTCPeerConnection  # noqa: E402

COLS, ROWS, CHECK = 16, 6, 0xA5A5


def decode_timecode(rgb, stride, width, height):
    """The test pattern's timecode block, as tests/browser/timecode.mjs reads it."""
    cell = min(16, max(4, width // 40))
    x0 = max(0, width - (COLS + 2) * cell) + cell
    y0 = max(0, height - (ROWS + 2) * cell) + cell
    words = [0] * ROWS
    for row in range(ROWS):
        for col in range(COLS):
            cx, cy = x0 + col * cell + (cell >> 1), y0 + row * cell + (cell >> 1)
            if cx >= width or cy >= height:
                return None
            p = cy * stride + cx * 3
            luma = (rgb[p] * 77 + rgb[p + 1] * 150 + rgb[p + 2] * 29) >> 8
            if luma > 128:
                words[row] |= 0x8000 >> col
    check = CHECK
    for w in words[:5]:
        check ^= w
    if check != words[5]:
        return None
    return words[0] + words[1] * 65536, words[2] + words[3] * 65536 + words[4] * 4294967296


def percentile(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))]


async def main():
    url, seconds = sys.argv[1], float(sys.argv[2])
    auth = auth_headers()
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    video = {"frames": [], "undecoded": 0, "size": None}
    audio = {"levels": [], "frames": 0}
    done = asyncio.Event()

    async def read_video(track):
        while not done.is_set():
            try:
                frame = await track.recv()
            except Exception:
                return
            now_ms = time.time() * 1000
            video["size"] = [frame.width, frame.height]
            rgb = frame.reformat(format="rgb24")
            plane = rgb.planes[0]
            tc = decode_timecode(bytes(plane), plane.line_size, frame.width, frame.height)
            if tc is None:
                video["undecoded"] += 1
                video.setdefault("undecodedAt", []).append(now_ms)
            else:
                video["frames"].append({"frame": tc[0], "latency": now_ms - tc[1], "at": now_ms})

    async def read_audio(track):
        while not done.is_set():
            try:
                frame = await track.recv()
            except Exception:
                return
            audio["frames"] += 1
            samples = array.array("h", bytes(frame.planes[0]))
            e = sum(s * s for s in samples) / max(1, len(samples))
            audio["levels"].append(math.sqrt(e) / 32768)
            audio["rate"] = frame.sample_rate

    tasks = []

    @pc.on("track")
    def on_track(track):
        tasks.append(asyncio.ensure_future(read_video(track) if track.kind == "video" else read_audio(track)))

    out, answered, t0 = await negotiate(pc, url, auth)
    if not answered:
        print(json.dumps(out))
        return
    # The first picture, then SECONDS of measurement.
    while not video["frames"] and time.time() - t0 < 10:
        await asyncio.sleep(0.01)
    out["firstFrameMs"] = round((time.time() - t0) * 1000) if video["frames"] else None
    start_ms = time.time() * 1000
    skip = len(video["frames"])
    level_skip = len(audio["levels"])
    await asyncio.sleep(seconds)
    frames = video["frames"][skip:]
    levels = audio["levels"][level_skip:]
    out["deleteStatus"] = await asyncio.to_thread(delete, url, out, auth)
    out["deleteAgainStatus"] = await asyncio.to_thread(delete, url, out, auth)
    # After DELETE the server sends nothing more: count what still arrives.
    before = len(video["frames"])
    await asyncio.sleep(1.0)
    out["framesAfterDelete"] = len(video["frames"]) - before
    done.set()
    await pc.close()
    for t in tasks:
        t.cancel()
    span = (frames[-1]["at"] - frames[0]["at"]) / 1000 if len(frames) > 1 else 0
    numbers = [f["frame"] for f in frames]
    beeps, loud = 0, False
    for l in levels:
        if not loud and l > 0.05:
            beeps, loud = beeps + 1, True
        elif l < 0.01:
            loud = False
    lat = [f["latency"] for f in frames]
    out.update({
        "size": video["size"],
        "frames": len(frames),
        "fps": (len(frames) - 1) / span if span else 0,
        "sourceFrames": numbers[-1] - numbers[0] if numbers else 0,
        "backwards": sum(1 for a, b in zip(numbers, numbers[1:]) if b < a),
        "undecodedTimecodes": video["undecoded"],
        "latencyP50": percentile(lat, 0.5),
        "latencyP95": percentile(lat, 0.95),
        "latencyMax": percentile(lat, 1.0),
        "audioFrames": len(levels),
        "audioRate": audio.get("rate"),
        "beeps": beeps,
        "maxLevel": max(levels) if levels else 0,
        "measuredSecs": (time.time() * 1000 - start_ms) / 1000,
    })
    if "--timeline" in sys.argv:
        secs = int(seconds + 0.999)
        line = [[i, 0, 0] for i in range(secs)]
        for at, col in [(f["at"], 1) for f in frames] + [(t, 2) for t in video.get("undecodedAt", [])]:
            i = int((at - start_ms) / 1000)
            if 0 <= i < secs:
                line[i][col] += 1
        out["timeline"] = line
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
