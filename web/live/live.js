// The live viewer. By itself it tries WebRTC (webrtc.js, WHEP), then MSE over a WebSocket
// (/live/NAME/ws), then LL-HLS (hls-player.js), then MJPEG (stream.mjpg in an <img>): a
// transport that fails or shows no picture within its step's time hands over to the next one
// (transports the browser lacks are skipped); once one has shown a picture it reconnects by
// itself and stays. ?via=webrtc|mse|hls|mjpeg forces one. The readout names the transport.
// Stays at the live edge (speeds up a little when behind, jumps when far behind), reconnects by
// itself, and reads latency from each fragment's prft box (the capture wall-clock time) against
// the server's clock, learnt by ping, so that a device with a wrong clock still reads true.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const video = $('video'), img = $('live'), statsEl = $('stats'), unmute = $('unmute');
  const via = new URLSearchParams(location.search).get('via');
  const MS = window.ManagedMediaSource || window.MediaSource;
  // Live-edge policy, seconds behind the live edge (see liveEdge).
  // Below TARGET play at 1x, above SPEED_UP at 1.1x; past JUMP (START_JUMP in the first
  // START_MS after opening, when the lag is the start's preroll), or outside the buffer, seek
  // to LAND behind the edge.
  const TARGET = 0.15, SPEED_UP = 0.22, JUMP = 0.6, LAND = 0.12, START_JUMP = 0.3, START_MS = 4000;
  // The fallback chain, and how long each step may take to show its first picture (WebRTC:
  // gathering, WHEP, ICE and a keyframe, well under a second on a LAN; HLS: a playlist and a
  // part or two). MJPEG, the last, has no limit.
  const CHAIN = ['webrtc', 'mse', 'hls', 'mjpeg'];
  const STEP_MS = { webrtc: 6000, mse: 6000, hls: 10000 };
  const forced = CHAIN.includes(via) ? via : null;
  const stats = window.hsStats = {
    transport: null, width: 0, height: 0, fps: 0, latencyMs: null, latencies: [],
    clockOffsetMs: null, reconnects: 0, jumps: 0, error: null, frames: 0, gaps: 0,
    // Steps given up, in order: { transport, why }.
    tried: [],
  };
  let viewers = null;

  function readout() {
    const parts = [stats.transport ? stats.transport.toUpperCase() : 'connecting…'];
    if (stats.width) parts.push(`${stats.width}x${stats.height}`);
    if (stats.fps) parts.push(`${stats.fps.toFixed(1)} fps`);
    if (stats.latencyMs != null) parts.push(`latency ${Math.round(stats.latencyMs)} ms`);
    if (viewers != null) parts.push(`${viewers} viewer${viewers === 1 ? '' : 's'}`);
    if (stats.error) parts.push(stats.error);
    statsEl.textContent = parts.join(' · ');
  }

  async function pollStatus() {
    try {
      const r = await fetch('status.json', { cache: 'no-store' });
      if (r.ok) {
        const s = await r.json();
        viewers = s.viewers;
        if (stats.transport === 'mjpeg' && s.resolution) {
          [stats.width, stats.height] = s.resolution.split('x').map(Number);
          stats.fps = s.fps_out;
        }
        readout();
      }
    } catch (e) { /* the next poll retries */ }
  }
  setInterval(pollStatus, 2000);

  // ---- MJPEG ----
  let mjpegRetry = 0;
  function startMjpeg(why) {
    stats.transport = 'mjpeg';
    if (why) stats.error = why;
    video.hidden = true; unmute.hidden = true; img.hidden = false;
    img.src = 'stream.mjpg';
    img.onerror = () => {
      stats.error = 'interrupted, reconnecting…'; readout();
      setTimeout(() => { img.src = 'stream.mjpg?r=' + (++mjpegRetry); }, 1000);
    };
    img.onload = () => { stats.error = null; stats.frames++; };
    readout();
    pollStatus();
  }

  // ---- MSE ----
  // prft (ISO/IEC 14496-12 §8.16.5) of a fragment: [trackId, mediaTime, captureUnixMs].
  function readPrft(buf) {
    const d = new DataView(buf);
    if (d.byteLength < 32 || d.getUint32(4) !== 0x70726674) return null; // 'prft'
    const version = d.getUint8(8);
    const track = d.getUint32(12);
    const ntpSec = d.getUint32(16), ntpFrac = d.getUint32(20);
    const unixMs = (ntpSec - 2208988800) * 1000 + ntpFrac / 4294967296 * 1000;
    const media = version === 1 ? d.getUint32(24) * 4294967296 + d.getUint32(28) : d.getUint32(24);
    return [track, media, unixMs];
  }

  let ws = null, ms = null, sb = null, queue = [], initPending = null, timer = null;
  let mime = null, backoff = 500, lastProgress = 0, lastTime = -1;
  const captures = []; // [presentation seconds, capture unix ms] of video fragments
  // Per track: [start, end] in seconds of the newest fragment. The live edge is the earliest
  // of the tracks' ends: video samples declare a longer duration than they last (so that a
  // late capture is not a discontinuity to MSE), so buffered.end overshoots by design.
  let edges = {};
  function noteFragment([track, media]) {
    const start = media / (track === 1 ? 90000 : 48000);
    const prev = edges[track];
    const step = prev ? start - prev[0] : 0;
    const dur = track === 1 ? (prev && step > 0 && step < 1 ? step : 1 / 30) : 0.02;
    if (prev && (step < 0 || step > 2.5 * (prev[1] - prev[0]))) stats.gaps++;
    edges[track] = [start, start + dur];
  }
  function liveEdge(b) {
    const ends = Object.values(edges).map((e) => e[1]);
    const end = b.end(b.length - 1);
    return ends.length ? Math.min(end, ...ends) : end;
  }
  const serverNow = () => Date.now() + (stats.clockOffsetMs || 0);

  function teardown() {
    if (ws) { ws.onclose = ws.onmessage = ws.onerror = null; try { ws.close(); } catch (e) {} }
    ws = null; sb = null; queue = []; initPending = null;
    if (ms && video.src) { URL.revokeObjectURL(video.src); }
    ms = null;
    clearInterval(timer); timer = null;
  }

  function reconnect(why) {
    teardown();
    if (!msePlayed() && fallBack('mse', why)) return;
    stats.reconnects++; stats.error = why; readout();
    setTimeout(() => { if (stats.transport === 'mse') startMse(); }, backoff);
    backoff = Math.min(backoff * 2, 5000);
  }

  function openMediaSource(type, init) {
    if (ms && video.src) URL.revokeObjectURL(video.src);
    sb = null; queue = []; captures.length = 0; edges = {}; openedAt = performance.now();
    ms = new MS();
    if (window.ManagedMediaSource && MS === window.ManagedMediaSource) video.disableRemotePlayback = true;
    video.src = URL.createObjectURL(ms);
    initPending = init;
    ms.addEventListener('sourceopen', () => {
      try {
        sb = ms.addSourceBuffer(type);
        sb.mode = 'segments';
        sb.addEventListener('updateend', pump);
        sb.addEventListener('error', () => reconnect('decode error, reconnecting…'));
        pump();
      } catch (e) { startMjpegOrFail(`cannot play ${type}: ${e.message}`); }
    }, { once: true });
    play();
  }

  function startMjpegOrFail(why) {
    teardown();
    if (fallBack('mse', why)) return;
    if (via === 'mse') { stats.error = why; readout(); return; }
    startMjpeg(why);
  }

  function pump() {
    if (!sb || sb.updating) return;
    try {
      if (initPending) { const b = initPending; initPending = null; sb.appendBuffer(b); return; }
      const b = queue.shift();
      if (b) { sb.appendBuffer(b); return; }
      keepLive();
    } catch (e) {
      if (e.name === 'QuotaExceededError') { trim(true); return; }
      reconnect('append failed, reconnecting…');
    }
  }

  function trim(force) {
    if (!sb || sb.updating || !video.buffered.length) return;
    const start = video.buffered.start(0), keep = video.currentTime - (force ? 1 : 10);
    if (keep > start + 1) sb.remove(start, keep);
  }

  // Jumping costs a decode from the previous keyframe (at 720p in software, a stall of a few
  // hundred ms), and playing faster makes the browser's time-stretcher want more sound
  // buffered than a live edge has (1.25x stalled every few seconds in Chromium). So: 1.1x
  // for small lags, a jump for large ones, at most every 1.5 s, never while seeking. Right
  // after opening, the lag is the browser's preroll: one early jump removes it, where 1.1x
  // took seconds to.
  let lastJump = -1e9, openedAt = 0;
  function keepLive() {
    const b = video.buffered;
    if (!b.length || video.seeking) return;
    const end = liveEdge(b);
    const t = video.currentTime;
    const behind = end - t;
    stats.behindMs = Math.round(behind * 1000);
    const now = performance.now();
    const jumpAt = now - openedAt < START_MS && t > 0 ? START_JUMP : JUMP;
    if (t < b.start(0) || (behind > jumpAt && now - lastJump > 1500)) {
      video.currentTime = Math.max(b.start(b.length - 1), end - LAND);
      lastJump = now;
      stats.jumps++;
    } else if (behind > SPEED_UP) {
      video.playbackRate = 1.1;
    } else if (behind < TARGET) {
      video.playbackRate = 1.0;
    }
  }

  function play() {
    video.muted = false;
    video.play().catch((e) => {
      // Only a refusal of autoplay with sound mutes: a play() cut short by a new source (a
      // reconnect while it was pending: AbortError) would otherwise leave the stream silent
      // for good. The new source's own play() follows.
      if (!e || e.name !== 'NotAllowedError') return;
      // Autoplay with sound refused: play muted and offer the button.
      video.muted = true;
      unmute.hidden = false;
      video.play().catch(() => {});
    });
  }
  unmute.addEventListener('click', () => { video.muted = false; unmute.hidden = true; video.play().catch(() => {}); });

  function ping() {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'ping', t: Date.now() }));
  }

  let mseFramesAtStart = 0;
  const msePlayed = () => stats.frames > mseFramesAtStart;
  function startMse() {
    if (stats.transport !== 'mse') mseFramesAtStart = stats.frames;
    stats.transport = 'mse';
    img.hidden = true; video.hidden = false;
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + location.pathname + 'ws';
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let expectInit = false, type = null;
    ws.onopen = () => { ping(); };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        let m; try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.type === 'init') {
          if (!MS.isTypeSupported(m.mime)) { startMjpegOrFail(`this browser cannot play ${m.mime}`); return; }
          type = m.mime; expectInit = true;
          stats.width = m.width; stats.height = m.height; stats.codecs = m.codecs;
          if (stats.clockOffsetMs == null) stats.clockOffsetMs = m.server_ms - Date.now();
        } else if (m.type === 'pong') {
          const now = Date.now(), rtt = now - m.t;
          if (rtt >= 0 && rtt < 5000) stats.clockOffsetMs = m.server_ms - (m.t + rtt / 2);
        }
        return;
      }
      if (expectInit) {
        expectInit = false; backoff = 500; stats.error = null;
        mime = type; openMediaSource(type, ev.data);
        return;
      }
      const p = readPrft(ev.data);
      if (p) noteFragment(p);
      if (p && p[0] === 1) {
        captures.push([p[1] / 90000, p[2]]);
        if (captures.length > 600) captures.splice(0, captures.length - 600);
      }
      if (queue.length > 300) { reconnect('too far behind, reconnecting…'); return; }
      queue.push(ev.data);
      pump();
    };
    ws.onclose = () => reconnect('disconnected, reconnecting…');
    timer = setInterval(() => {
      ping(); trim(false); keepLive();
      // A stall that does not end by itself (no progress for 3 s while data arrives).
      const t = video.currentTime;
      if (t !== lastTime) { lastTime = t; lastProgress = Date.now(); }
      else if (Date.now() - lastProgress > 3000 && video.buffered.length) { reconnect('stalled, reconnecting…'); }
    }, 1000);
    readout();
  }

  // Per presented frame: fps and latency (capture time from prft, on the server's clock).
  let frameCount = 0, fpsSince = performance.now();
  function onFrame(now, meta) {
    frameCount++; stats.frames++;
    const el = performance.now() - fpsSince;
    if (el >= 1000) { stats.fps = frameCount * 1000 / el; frameCount = 0; fpsSince = performance.now(); readout(); }
    const t = meta ? meta.mediaTime : video.currentTime;
    let best = null;
    for (let i = captures.length - 1; i >= 0; i--) {
      if (Math.abs(captures[i][0] - t) < 0.0015) { best = captures[i]; break; }
      if (captures[i][0] < t - 1) break;
    }
    if (best) {
      stats.latencyMs = serverNow() - best[1];
      stats.latencies.push(stats.latencyMs);
      if (stats.latencies.length > 3600) stats.latencies.shift();
    }
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
  }
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);

  // ---- WebRTC (web/live/webrtc.js) ----
  // Never connected: webrtc.js asks onFail whether to give up (true) or retry (forced).
  function startWebRTC() {
    img.hidden = true; video.hidden = false;
    return window.hsWebRTC.start({ video, stats, readout, play, onFail: (why) => fallBack('webrtc', why) });
  }

  // ---- LL-HLS (web/live/hls-player.js) ----
  function startHls() {
    img.hidden = true;
    return window.hsHlsPlayer.start({
      video, stats, readout, play: () => play(),
      // Cannot play HLS at all: the next step (forced: MJPEG, as before).
      onFail: (why) => { if (!fallBack('hls', why)) startMjpeg(why); },
      // A fatal error before any picture: give up on HLS unless it is forced.
      onEarlyError: (why) => fallBack('hls', why),
    });
  }

  // ---- The chain ----
  const can = {
    webrtc: () => !!(window.hsWebRTC && window.hsWebRTC.supported()),
    mse: () => !!MS,
    hls: () => !!MS || video.canPlayType('application/vnd.apple.mpegurl') !== '',
    mjpeg: () => true,
  };
  let step = -1, stopCurrent = null, watchdog = null;

  // `from` failed before showing a picture. Unless a transport is forced (or `from` is no
  // longer the current one), stop it and start the next step; says whether it did.
  function fallBack(from, why) {
    if (forced || stats.transport !== from) return false;
    clearTimeout(watchdog);
    const stop = stopCurrent; stopCurrent = null;
    if (stop) { try { stop(); } catch (e) { /* already down */ } }
    stats.tried.push({ transport: from, why });
    nextStep(`${from.toUpperCase()}: ${why}`);
    return true;
  }

  function nextStep(why) {
    do step++; while (step < CHAIN.length - 1 && !can[CHAIN[step]]());
    begin(CHAIN[Math.min(step, CHAIN.length - 1)], why);
  }

  function begin(t, why) {
    stats.transport = t; stats.error = why || null;
    stats.width = stats.height = 0; stats.fps = 0; stats.latencyMs = null;
    readout();
    const before = stats.frames;
    if (!forced && STEP_MS[t]) {
      watchdog = setTimeout(() => {
        if (stats.frames === before) fallBack(t, `no picture in ${STEP_MS[t] / 1000} s`);
      }, STEP_MS[t]);
    }
    if (t === 'webrtc') {
      if (!can.webrtc()) { stats.error = 'this browser has no WebRTC; try ?via=mse'; readout(); return; }
      const h = startWebRTC();
      stopCurrent = () => h.stop();
    } else if (t === 'mse') {
      if (!MS) { stats.error = 'this browser has no Media Source Extensions; try ?via=mjpeg'; readout(); return; }
      stats.transport = null; // startMse marks the start of its own step
      startMse();
      stopCurrent = () => { stats.transport = null; teardown(); };
    } else if (t === 'hls') {
      const h = startHls();
      stopCurrent = () => h.stop();
    } else {
      startMjpeg(why);
    }
  }

  if (forced) begin(forced);
  else nextStep();
  pollStatus();
})();
