// The WebRTC (WHEP) player of the live page: POSTs a recvonly offer to ./whep (the answer holds
// every candidate, so there is no trickle), plays the H.264 + Opus tracks in the page's
// <video>, reads latency per frame (requestVideoFrameCallback's captureTime, which Chromium
// derives from the server's RTCP sender reports, against the frame's display time), reconnects
// by itself and DELETEs its session when the page goes away.
// live.js starts it (`window.hsWebRTC.start`) first in its chain, or for ?via=webrtc.
(() => {
  'use strict';
  const GATHER_MS = 2000; // longest wait for our own ICE candidates before sending the offer

  function gathered(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, GATHER_MS);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
  }

  // STUN/TURN servers from the endpoint's OPTIONS (`--ice-server`; WHEP §4.6 `Link:
  // <URL>; rel="ice-server"; username="..."; credential="..."`). None on a LAN.
  async function iceServers() {
    try {
      const r = await fetch('whep', { method: 'OPTIONS', credentials: 'same-origin' });
      return r.ok ? parseLinks(r.headers.get('Link') || '') : [];
    } catch (e) { return []; }
  }
  function parseLinks(v) {
    const out = [];
    for (const m of v.matchAll(/<([^>]*)>([^,]*)/g)) {
      const p = {};
      for (const q of m[2].matchAll(/;\s*([\w-]+)="([^"]*)"/g)) p[q[1].toLowerCase()] = q[2];
      if (p.rel !== 'ice-server') continue;
      const s = { urls: m[1] };
      if (p.username != null) { s.username = p.username; s.credential = p.credential || ''; }
      out.push(s);
    }
    return out;
  }

  // ctx: { video, stats, readout(), play(), onFail(why) } from live.js.
  function start(ctx) {
    const { video, stats } = ctx;
    let pc = null, resource = null, backoff = 500, connectedOnce = false, closed = false;
    let epochMs = null, offsetMs = 0;
    stats.transport = 'webrtc';
    const servers = iceServers();

    function release() {
      if (resource) { fetch(resource, { method: 'DELETE', keepalive: true }).catch(() => {}); resource = null; }
      if (pc) { pc.onconnectionstatechange = pc.ontrack = null; try { pc.close(); } catch (e) {} pc = null; }
    }

    function retry(why) {
      release();
      if (closed) return;
      stats.reconnects++; stats.error = why; ctx.readout();
      // Never connected at all: let the page fall back to another transport.
      if (!connectedOnce && ctx.onFail && ctx.onFail(why)) { closed = true; return; }
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 5000);
    }

    async function connect() {
      const ice = await servers;
      if (closed) return;
      stats.iceServers = ice.map((s) => s.urls);
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: ice });
      const mine = pc;
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      for (const r of pc.getReceivers()) if ('jitterBufferTarget' in r) r.jitterBufferTarget = 0;
      const ms = new MediaStream();
      pc.ontrack = (ev) => {
        ms.addTrack(ev.track);
        if (video.srcObject !== ms) { video.srcObject = ms; ctx.play(); }
      };
      let downSince = 0;
      pc.onconnectionstatechange = () => {
        const s = mine.connectionState;
        if (s === 'connected') { connectedOnce = true; backoff = 500; stats.error = null; downSince = 0; ctx.readout(); }
        else if (s === 'failed') retry('connection failed, reconnecting…');
        else if (s === 'disconnected') {
          downSince = performance.now();
          setTimeout(() => { if (pc === mine && downSince && mine.connectionState === 'disconnected') retry('connection lost, reconnecting…'); }, 3000);
        }
      };
      try {
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc);
        const sent = Date.now();
        const res = await fetch('whep', {
          method: 'POST', headers: { 'Content-Type': 'application/sdp' },
          body: pc.localDescription.sdp, credentials: 'same-origin',
        });
        const body = await res.text();
        if (res.status !== 201) throw new Error(`server answered ${res.status}: ${body.trim()}`);
        if (pc !== mine) return;
        const got = Date.now();
        // The server's clock against ours, as NTP reckons it (RFC 5905 §8): the handler's own
        // time (making the session) does not count as network delay.
        const h = (n) => Number(res.headers.get(n));
        const epoch = h('X-Media-Epoch-Ms'), t1 = h('X-Server-Received-Ms'), t2 = h('X-Server-Time-Ms');
        if (epoch && t1 && t2) {
          epochMs = epoch; offsetMs = ((t1 - sent) + (t2 - got)) / 2; stats.clockOffsetMs = offsetMs;
          refineClock(mine, (got - sent) - (t2 - t1));
        }
        const loc = res.headers.get('Location');
        resource = loc ? new URL(loc, location.href).href : null;
        await pc.setRemoteDescription({ type: 'answer', sdp: body });
        // No connection within 10 s: try again (or fall back).
        setTimeout(() => { if (pc === mine && mine.connectionState !== 'connected') retry('no connection, reconnecting…'); }, 10000);
      } catch (e) {
        if (pc === mine) retry(`WebRTC: ${e.message}`);
      }
    }

    // The POST's round trip may be skewed (a page busy starting up sends or reads it late):
    // a few OPTIONS probes after connecting, spread out, and the one with the shortest round
    // trip gives the offset, as NTP picks its best sample (RFC 5905 §10).
    function refineClock(mine, bestRtt) {
      let left = 3;
      const probe = async () => {
        if (closed || pc !== mine || left-- <= 0) return;
        try {
          const s = Date.now();
          const r = await fetch('whep', { method: 'OPTIONS', cache: 'no-store', credentials: 'same-origin' });
          const g = Date.now();
          const t = Number(r.headers.get('X-Server-Time-Ms'));
          if (t && pc === mine && g - s < bestRtt) {
            bestRtt = g - s; offsetMs = t - (s + g) / 2; stats.clockOffsetMs = offsetMs;
          }
        } catch (e) { /* a lost probe leaves the offset as it was */ }
        setTimeout(probe, 700);
      };
      setTimeout(probe, 700);
    }

    // Latency per presented frame, on the server's clock: the capture time is the media
    // epoch (X-Media-Epoch-Ms) plus the frame's RTP timestamp at 90 kHz, unwrapped to the
    // 2^32 period nearest to now; the clock offset comes from X-Server-Time-Ms.
    const WRAP_MS = 4294967296 / 90;
    function onFrame(now, meta) {
      if (closed) return;
      if (stats.transport === 'webrtc' && meta && meta.rtpTimestamp != null && epochMs != null) {
        const shown = performance.timeOrigin + (meta.expectedDisplayTime || now) + offsetMs;
        let captured = epochMs + meta.rtpTimestamp / 90;
        captured += Math.round((shown - captured) / WRAP_MS) * WRAP_MS;
        stats.latencyMs = shown - captured;
        stats.latencies.push(stats.latencyMs);
        if (stats.latencies.length > 3600) stats.latencies.shift();
      }
      stats.width = video.videoWidth; stats.height = video.videoHeight;
      video.requestVideoFrameCallback(onFrame);
    }
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);

    window.addEventListener('pagehide', () => { closed = true; release(); });
    connect();
    // The page moves on to another transport: the element is its again.
    return { stop() { closed = true; release(); if (video.srcObject) video.srcObject = null; } };
  }

  window.hsWebRTC = { supported: () => typeof RTCPeerConnection === 'function', start, parseLinks };
})();
