"""The reference WebRTC server for bench/webrtc/run.sh: aiortc serving a test pattern with the
same timecode block as homestream's `test` source (README: "The test pattern's timecode") and a
beeping tone over WHEP, so that the same viewer (tests/webrtc/whep_viewer.py) measures both.

Usage: python aiortc_whep.py PORT WIDTH HEIGHT

  POST /live/test/whep      SDP offer -> 201 + Location /live/test/whep/N + the answer
                            (candidates complete)
  DELETE /live/test/whep/N  ends that session

Each session gets its own pattern and tone tracks (aiortc encodes per peer connection, with
libx264 zerolatency as it ships). HTTP is a few lines on asyncio streams: aiortc brings no web
server and the venv holds only what the tests need. ICE is held to loopback.
"""

import asyncio
import itertools
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/webrtc"))

import aioice.ice  # noqa: E402

aioice.ice.get_host_addresses = lambda *a, **k: ["127.0.0.1"]

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription  # noqa: E402
from whip_publisher import Pattern, Tone  # noqa: E402

MAX_BODY = 64 * 1024
# The path homestream would give a stream named "test", so the viewer builds its DELETE URL alike.
PATH = "/live/test/whep"
sessions = {}
ids = itertools.count(1)


async def answer(offer_sdp, width, height):
    pc = RTCPeerConnection()
    # Transceivers made before the offer is applied take its sections, with H.264 preferred
    # (homestream sends H.264 only; aiortc would otherwise answer VP8 first).
    video = pc.addTransceiver(Pattern(width, height), direction="sendonly")
    video.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == "video/h264"])
    pc.addTransceiver(Tone(), direction="sendonly")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    n = next(ids)
    sessions[n] = pc

    @pc.on("connectionstatechange")
    async def gone():
        if pc.connectionState in ("failed", "closed"):
            sessions.pop(n, None)
            await pc.close()

    return n, pc.localDescription.sdp


def reply(writer, status, reason, body=b"", headers=()):
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)


async def handle(reader, writer, width, height):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = head.decode(errors="replace").split("\r\n")
        method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        length = int(headers.get("content-length", "0"))
        if length > MAX_BODY:
            reply(writer, 413, "Payload Too Large")
            return
        body = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
        sid = path[len(PATH) + 1:] if path.startswith(PATH + "/") else ""
        if method == "POST" and path == PATH:
            n, sdp = await answer(body.decode(), width, height)
            reply(writer, 201, "Created", sdp.encode(), [("Content-Type", "application/sdp"), ("Location", f"{PATH}/{n}")])
        elif method == "DELETE" and sid.isdigit() and int(sid) in sessions:
            await sessions.pop(int(sid)).close()
            reply(writer, 200, "OK")
        else:
            reply(writer, 404, "Not Found")
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, asyncio.LimitOverrunError) as e:
        reply(writer, 400, "Bad Request", str(e).encode())
    finally:
        await writer.drain()
        writer.close()


async def main():
    port, width, height = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    server = await asyncio.start_server(lambda r, w: handle(r, w, width, height), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
