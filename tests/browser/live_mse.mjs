// Usage: node live_mse.mjs URL-of-/live/NAME/?via=mse|hls SECONDS [restart|drop-first]
// Plays the live page in Chromium and measures what a viewer gets: time to first picture,
// frames presented per second, glass-to-glass latency (display time of each frame minus the
// capture time in its timecode block), the beeps heard through Web Audio, the page's own
// latency readout; then reloads the page and measures again; with `restart`, waits for the
// server to go away and come back (the Rust test restarts it when the file $HS_MARK appears)
// and for the page to recover. With `drop-first`, the page's first WebSocket is closed right
// after its init segment (play() still pending), and what is measured is after the reconnect.
import { writeFileSync } from 'node:fs';
import { run } from './lib.mjs';
import { decodeTimecodeSource } from './timecode.mjs';

const [url, secsArg, mode] = process.argv.slice(2);
const secs = Number(secsArg || 6);

const percentile = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

// Installs the measuring loop in the page (once per page load).
const probeSource = `
window.hsProbe = { frames: [], firstFrameAt: null, levels: [], waiting: [], behind: [] };
(function () {
  const start = performance.now();
  function hook() {
    const video = document.getElementById('video');
    if (!video || !video.requestVideoFrameCallback) return setTimeout(hook, 50);
    video.addEventListener('waiting', () => hsProbe.waiting.push(performance.now()));
    setInterval(() => {
      const b = video.buffered;
      if (b.length && window.hsStats) hsProbe.behind.push({ ms: hsStats.behindMs, rate: video.playbackRate, at: performance.now() });
    }, 100);
    const c = document.createElement('canvas');
    const ctx = c.getContext('2d', { willReadFrequently: true });
    function onFrame(now, meta) {
      if (hsProbe.firstFrameAt == null) hsProbe.firstFrameAt = performance.now() - start;
      const w = video.videoWidth, h = video.videoHeight;
      if (w && h) {
        if (c.width !== w) { c.width = w; c.height = h; }
        ctx.drawImage(video, 0, 0, w, h);
        const tc = hsDecodeTimecode(ctx.getImageData(0, 0, w, h).data, w, h);
        const shown = performance.timeOrigin + (meta.expectedDisplayTime || now);
        if (tc) hsProbe.frames.push({ frame: tc.frame, latency: shown - tc.unixMs, at: performance.now() });
      }
      video.requestVideoFrameCallback(onFrame);
    }
    video.requestVideoFrameCallback(onFrame);
  }
  hook();
})();
window.hsListen = function () {
  const video = document.getElementById('video');
  const ac = new AudioContext();
  const src = ac.createMediaElementSource(video);
  const an = ac.createAnalyser();
  an.fftSize = 2048;
  src.connect(an); an.connect(ac.destination);
  const buf = new Float32Array(an.fftSize);
  setInterval(() => {
    an.getFloatTimeDomainData(buf);
    let e = 0; for (const x of buf) e += x * x;
    hsProbe.levels.push({ rms: Math.sqrt(e / buf.length), at: performance.now() });
  }, 10);
  return ac.state;
};`;

async function measure(page, seconds) {
  await page.waitForFunction(() => window.hsProbe && hsProbe.frames.length > 5, null, { timeout: 20_000 });
  const from = await page.evaluate(() => performance.now());
  await page.waitForTimeout(seconds * 1000);
  return page.evaluate((from) => {
    const frames = hsProbe.frames.filter((f) => f.at >= from);
    const levels = hsProbe.levels.filter((l) => l.at >= from);
    // Beeps: rising edges of the level through 0.05 (the tone is 0.5, silence ~0).
    let beeps = 0, loud = false;
    for (const l of levels) { if (!loud && l.rms > 0.05) { beeps++; loud = true; } else if (l.rms < 0.01) loud = false; }
    const span = frames.length > 1 ? (frames[frames.length - 1].at - frames[0].at) / 1000 : 0;
    const numbers = frames.map((f) => f.frame);
    let backwards = 0; for (let i = 1; i < numbers.length; i++) if (numbers[i] < numbers[i - 1]) backwards++;
    return {
      frames: frames.length, fps: span ? (frames.length - 1) / span : 0,
      sourceFrames: numbers.length ? numbers[numbers.length - 1] - numbers[0] : 0,
      backwards, latencies: frames.map((f) => f.latency),
      // The worst latency of each second, to see where a high percentile comes from.
      worstBySecond: frames.reduce((a, f) => { const i = Math.floor((f.at - from) / 1000); a[i] = Math.max(a[i] || 0, Math.round(f.latency)); return a; }, []).join(' '), beeps, levelSamples: levels.length,
      maxRms: levels.reduce((m, l) => Math.max(m, l.rms), 0),
      page: { transport: hsStats.transport, engine: hsStats.hlsEngine || null, latencyMs: hsStats.latencyMs, width: hsStats.width, height: hsStats.height,
        reconnects: hsStats.reconnects, readout: document.getElementById('stats').textContent },
      firstFrameAt: hsProbe.firstFrameAt,
      waiting: hsProbe.waiting.filter((t) => t >= from).length,
      jumps: hsStats.jumps, gaps: hsStats.gaps,
      quality: (() => { const q = document.getElementById('video').getVideoPlaybackQuality(); return { total: q.totalVideoFrames, dropped: q.droppedVideoFrames }; })(),
      behind: hsProbe.behind.filter((b) => b.at >= from).map((b) => b.ms + (b.rate > 1 ? '+' : '')).join(' '),
    };
  }, from);
}

function summarize(m) {
  const { latencies, ...rest } = m;
  return { ...rest, latencyP50: percentile(latencies, 0.5), latencyP95: percentile(latencies, 0.95), latencyMax: percentile(latencies, 1) };
}

// Closes the page's first WebSocket once its first binary message (the init segment) is in.
const dropFirstSource = `(() => {
  const WS = window.WebSocket;
  let n = 0;
  window.WebSocket = function (...args) {
    const ws = new WS(...args);
    if (++n === 1) {
      ws.addEventListener('message', (ev) => {
        if (typeof ev.data !== 'string') setTimeout(() => ws.close(), 0);
      });
    }
    return ws;
  };
  window.WebSocket.prototype = WS.prototype;
})();`;

await run(async (page) => {
  await page.addInitScript(decodeTimecodeSource);
  await page.addInitScript(probeSource);
  if (mode === 'drop-first') {
    await page.addInitScript(dropFirstSource);
    await page.goto(url);
    await page.waitForFunction(() => window.hsStats && hsStats.reconnects >= 1, null, { timeout: 10_000 });
    await page.evaluate(() => hsListen());
    const first = summarize(await measure(page, secs));
    return { first, muted: await page.evaluate(() => document.getElementById('video').muted) };
  }
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('video') && !document.getElementById('video').hidden, null, { timeout: 10_000 });
  const audioState = await page.evaluate(() => hsListen());
  const first = summarize(await measure(page, secs));
  first.audioState = audioState;
  await page.reload();
  await page.evaluate(() => hsListen());
  const reloaded = summarize(await measure(page, 2));
  let restarted = null;
  if (mode === 'restart') {
    // The Rust test stops the server now and starts it again on the same port.
    writeFileSync(process.env.HS_MARK, 'ready');
    await page.waitForFunction(() => hsStats.reconnects >= 1, null, { timeout: 30_000 });
    await page.waitForFunction(() => hsStats.error == null && hsProbe.frames.length > 0 &&
      performance.now() - hsProbe.frames[hsProbe.frames.length - 1].at < 500, null, { timeout: 30_000, polling: 200 });
    restarted = summarize(await measure(page, 2));
  }
  return { first, reloaded, restarted };
});
