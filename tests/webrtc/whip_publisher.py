"""A non-browser WHIP publisher (aiortc): sends a test pattern with the timecode block (README:
"The test pattern's timecode") and a beeping tone to a homestream `publish` stream, and prints
one JSON object with what happened, for the Rust test that ran it to assert on.

Usage: python whip_publisher.py WHIP-URL SECONDS [--basic USER:PASS] [--bearer TOKEN]
                                [--takeover] [--width W --height H] [--no-delete] [--garbage]

POSTs a sendonly H.264 + Opus offer (H.264 forced with setCodecPreferences), checks 201 +
Location, sends for SECONDS (each frame carries its capture time in Unix ms, the same block the
server's own test pattern draws, so a viewer reads glass-to-glass latency from its pixels),
then DELETEs the session. A refused POST prints its status and body and exits 0: refusals are
what some tests expect. ICE is held to loopback: tests never leave 127.0.0.1.

`--garbage` makes it a hostile publisher inside its established session (SRTP-protected, so it
reaches the server's depacketizer): every fifth video frame after the first second carries
forged RTP payloads (a NAL unit with the forbidden bit, a reserved type, an SPS of random
bytes, a cut FU-A, an FU-A start never ended, a STAP-A whose length overruns), and every tenth
RTP packet is sent a second time with a payload type that was never negotiated, plus packets
of an SSRC nobody announced. `forged` in the JSON counts what was sent.
"""

import array
import asyncio
import fractions
import json
import math
import sys
import time

from signal_kit import arg, auth_headers, delete, negotiate

import av  # noqa: E402
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender  # noqa: E402

COLS, ROWS, CHECK = 16, 6, 0xA5A5
FPS = 30
FORGED = {"payloads": 0, "wrongPt": 0, "strangerSsrc": 0}
# Which forgeries (HS_FORGE=payloads,pt,ssrc narrows them, to find which one hurts).
MODES = set(__import__("os").environ.get("HS_FORGE", "payloads,pt,ssrc").split(","))


def forge():
    """Patches aiortc's sender (see --garbage above)."""
    import os
    import struct

    from aiortc import rtcdtlstransport, rtcrtpsender
    from aiortc.rtp import is_rtcp

    next_frame = rtcrtpsender.RTCRtpSender._next_encoded_frame
    frames = {"n": 0}

    async def forged_frame(self, codec):
        enc = await next_frame(self, codec)
        if enc is None or self.kind != "video" or "payloads" not in MODES:
            return enc
        frames["n"] += 1
        if frames["n"] > FPS and frames["n"] % 5 == 0:
            junk = [
                bytes([0xE5]) + os.urandom(40),
                bytes([0x1E]) + os.urandom(40),
                bytes([0x67]) + os.urandom(6),
                bytes([0x7C]),
                bytes([0x7C, 0x85]) + os.urandom(30),
                bytes([0x78, 0xFF, 0xFF, 0x65, 1, 2]),
            ]
            # HS_FORGE=p0,p3 picks some of them (to find which one hurts).
            picked = [j for i, j in enumerate(junk) if f"p{i}" in MODES]
            junk = picked or junk
            FORGED["payloads"] += len(junk)
            enc.payloads[-1:-1] = junk
        return enc

    rtcrtpsender.RTCRtpSender._next_encoded_frame = forged_frame
    send_rtp = rtcdtlstransport.RTCDtlsTransport._send_rtp
    packets = {"n": 0}

    async def forged_send(self, data):
        await send_rtp(self, data)
        if is_rtcp(data) or len(data) <= 12:
            return
        packets["n"] += 1
        if packets["n"] % 10 == 0 and "pt" in MODES:
            # 50: never negotiated, and with the marker bit still outside RTCP's 192-223.
            wrong = bytearray(data)
            wrong[1] = (wrong[1] & 0x80) | 50
            await send_rtp(self, bytes(wrong))
            FORGED["wrongPt"] += 1
        if packets["n"] % 10 == 0 and "ssrc" in MODES:
            # One stranger per real SSRC: a stranger shared by the audio and the video stream
            # makes this sender's own SRTP refuse the second (its sequence numbers look
            # replayed), and the exception ends aiortc's sending of that track.
            stranger = bytearray(data)
            (real,) = struct.unpack("!I", data[8:12])
            stranger[8:12] = struct.pack("!I", real ^ 0x0BADF00D)
            await send_rtp(self, bytes(stranger))
            FORGED["strangerSsrc"] += 1

    rtcdtlstransport.RTCDtlsTransport._send_rtp = forged_send


def fill(buf, stride, x, y, w, h, rgb):
    row = bytes(rgb) * w
    for yy in range(y, y + h):
        o = yy * stride + x * 3
        buf[o:o + w * 3] = row


def draw_timecode(buf, stride, w, h, frame_no, ms):
    """The block tests/webrtc/whep_viewer.py reads (README: the test pattern's timecode)."""
    c = min(16, max(4, w // 40))
    x0, y0 = w - 18 * c + c, h - 8 * c + c
    fill(buf, stride, x0 - c, y0 - c, 18 * c, 8 * c, (255, 255, 255))
    words = [frame_no & 0xFFFF, (frame_no >> 16) & 0xFFFF, ms & 0xFFFF, (ms >> 16) & 0xFFFF, (ms >> 32) & 0xFFFF]
    check = CHECK
    for x in words:
        check ^= x
    words.append(check)
    for row, word in enumerate(words):
        for col in range(COLS):
            if not word & (0x8000 >> col):
                fill(buf, stride, x0 + col * c, y0 + row * c, c, c, (0, 0, 0))


class Pattern(MediaStreamTrack):
    kind = "video"

    def __init__(self, width, height):
        super().__init__()
        self.width, self.height = width, height
        self.n = 0
        self.start = None
        self.sent = 0

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        due = self.start + self.n / FPS
        wait = due - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = av.VideoFrame(self.width, self.height, "rgb24")
        plane = frame.planes[0]
        stride = plane.line_size
        buf = bytearray([96]) * (stride * self.height)
        # A moving bar, so that the encoder has motion to code.
        x = (self.n * 8) % (self.width - 16)
        fill(buf, stride, x, 0, 16, self.height, (200, 60, 60))
        draw_timecode(buf, stride, self.width, self.height, self.n, int(time.time() * 1000))
        plane.update(bytes(buf))
        frame.pts = self.n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        self.n += 1
        self.sent += 1
        return frame


class Tone(MediaStreamTrack):
    """A 1 kHz beep of 100 ms at the start of every second, 20 ms frames, 48 kHz mono."""

    kind = "audio"

    def __init__(self):
        super().__init__()
        self.n = 0
        self.start = None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        due = self.start + self.n * 0.02
        wait = due - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        t0 = self.n * 960
        if (self.n % 50) < 5:
            samples = array.array("h", (int(math.sin(2 * math.pi * 1000 * (i + t0) / 48000) * 16000) for i in range(960)))
        else:
            samples = array.array("h", bytes(1920))
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = 48000
        frame.pts = t0
        frame.time_base = fractions.Fraction(1, 48000)
        self.n += 1
        return frame


async def main():
    url, seconds = sys.argv[1], float(sys.argv[2])
    auth = auth_headers()
    if "--takeover" in sys.argv:
        url += "?takeover=1"
    width, height = int(arg("--width", 640)), int(arg("--height", 360))
    if "--garbage" in sys.argv:
        forge()
    pc = RTCPeerConnection()
    video = Pattern(width, height)
    vt = pc.addTransceiver(video, direction="sendonly")
    h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == "video/h264"]
    vt.setCodecPreferences(h264)
    pc.addTransceiver(Tone(), direction="sendonly")
    out, answered, _ = await negotiate(pc, url, auth)
    if not answered:
        await pc.close()
        print(json.dumps(out))
        return
    out["connected"] = pc.connectionState == "connected"
    end = time.time() + seconds
    while time.time() < end and pc.connectionState == "connected":
        await asyncio.sleep(0.05)
    out["framesSent"] = video.sent
    out["stateAtEnd"] = pc.connectionState
    if "--garbage" in sys.argv:
        out["forged"] = FORGED
    if "--no-delete" not in sys.argv:
        out["deleteStatus"] = await asyncio.to_thread(delete, url, out, auth)
    await pc.close()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
