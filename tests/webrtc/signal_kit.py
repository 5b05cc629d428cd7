"""What the aiortc test peers share: the HTTP side of WHEP and WHIP (RFC 9725: POST the offer,
201 + Location + answer, DELETE to end), the credentials from the command line, and ICE held
to loopback (tests never leave 127.0.0.1). Imported by whep_viewer.py and whip_publisher.py (named so as not to shadow the standard `signal`).
"""

import asyncio
import base64
import sys
import time
import urllib.error
import urllib.request

import aioice.ice

aioice.ice.get_host_addresses = lambda *a, **k: ["127.0.0.1"]

from aiortc import RTCSessionDescription  # noqa: E402


def arg(name, default=None):
    """The value after `name` on the command line."""
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def auth_headers():
    """`--basic USER:PASS` or `--bearer TOKEN` as an Authorization header."""
    if arg("--basic"):
        return {"Authorization": "Basic " + base64.b64encode(arg("--basic").encode()).decode()}
    if arg("--bearer"):
        return {"Authorization": "Bearer " + arg("--bearer")}
    return {}


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


async def negotiate(pc, url, auth):
    """Offers, POSTs, applies the answer and waits (at most 10 s) for ICE and DTLS. Returns the
    report so far (`postStatus`, `location`, `answerCodecs`, `connectedMs`, or `error` for a
    refusal), whether it was answered, and when the POST went out."""
    await pc.setLocalDescription(await pc.createOffer())
    t0 = time.time()
    status, headers, body = await asyncio.to_thread(
        request, "POST", url, pc.localDescription.sdp.encode(), {"Content-Type": "application/sdp", **auth}
    )
    headers = {k.lower(): v for k, v in headers.items()}
    out = {"postStatus": status, "contentType": headers.get("content-type"), "location": headers.get("location")}
    if status != 201:
        out["error"] = body.decode(errors="replace")
        return out, False, t0
    answer = body.decode()
    out["answerCodecs"] = sorted({l.split(" ", 1)[1].split("/")[0] for l in answer.splitlines() if l.startswith("a=rtpmap:")})
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    while pc.connectionState != "connected" and time.time() - t0 < 10:
        await asyncio.sleep(0.01)
    out["connectedMs"] = round((time.time() - t0) * 1000)
    return out, True, t0


def delete(url, out, auth):
    """DELETEs the session `out["location"]` names; the status."""
    base = url.split("/live/")[0]
    status, _, _ = request("DELETE", base + (out["location"] or ""), None, auth)
    return status
