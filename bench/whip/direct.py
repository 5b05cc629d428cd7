"""The reference for bench/whip/run.sh: the same aiortc publisher (test pattern with its
timecode block) sending straight to an aiortc receiver in the same process, no server between.
Prints one JSON object with latency p50/p95 (receiver's decode time minus the capture time in
the frame's timecode), in the form whep_viewer.py prints.

Usage: python direct.py SECONDS
"""

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/webrtc"))

from aiortc import RTCPeerConnection, RTCRtpSender  # noqa: E402
from whep_viewer import decode_timecode, percentile  # noqa: E402
from whip_publisher import Pattern  # noqa: E402


async def main():
    seconds = float(sys.argv[1])
    sender, receiver = RTCPeerConnection(), RTCPeerConnection()
    t = sender.addTransceiver(Pattern(640, 360), direction="sendonly")
    t.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == "video/h264"])
    frames = []
    done = asyncio.Event()

    async def read(track):
        while not done.is_set():
            try:
                frame = await track.recv()
            except Exception:
                return
            now_ms = time.time() * 1000
            rgb = frame.reformat(format="rgb24")
            plane = rgb.planes[0]
            tc = decode_timecode(bytes(plane), plane.line_size, frame.width, frame.height)
            if tc is not None:
                frames.append(now_ms - tc[1])

    tasks = []
    receiver.on("track", lambda track: tasks.append(asyncio.ensure_future(read(track))))
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    t0 = time.time()
    while not frames and time.time() - t0 < 15:
        await asyncio.sleep(0.05)
    skip = len(frames)
    await asyncio.sleep(seconds)
    lat = frames[skip:]
    done.set()
    await sender.close()
    await receiver.close()
    for x in tasks:
        x.cancel()
    print(json.dumps({"frames": len(lat), "latencyP50": percentile(lat, 0.5), "latencyP95": percentile(lat, 0.95)}))


if __name__ == "__main__":
    asyncio.run(main())
