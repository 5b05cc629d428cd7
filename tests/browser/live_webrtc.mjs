// Usage: node live_webrtc.mjs URL-of-/live/NAME/[?via=webrtc] SECONDS
// Plays the live page over WebRTC in Chromium and measures what a viewer gets: time to first
// picture, frames presented per second, glass-to-glass latency (display time of each frame
// minus the capture time in its timecode block), the beeps through Web Audio, the page's own
// readout. Run inside a network namespace holding only loopback (Chromium's WebRTC prefers
// other interfaces): the Rust test does.
import { run } from './lib.mjs';
import { decodeTimecodeSource } from './timecode.mjs';

const [url, secsArg] = process.argv.slice(2);
const secs = Number(secsArg || 6);

// Playwright's own --disable-features list (playwright-core's chromiumSwitches), which a second
// --disable-features flag would replace, plus the mDNS hiding of local addresses that would
// keep host candidates out of Chromium's offer.
const disabled = [
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding',
  'ThirdPartyStoragePartitioning', 'AvoidCorsURLLoaderRestartOnRedirect', 'OptimizationHints',
  'NetworkTimeServiceQuerying', 'AimEnabled', 'PreconnectToSearch', 'WebRtcHideLocalIpsWithMdns',
];
const flags = ['--allow-loopback-in-peer-connection', `--disable-features=${disabled.join(',')}`];

const percentile = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

const probeSource = `
window.hsProbe = { frames: [], firstFrameAt: null, levels: [] };
(function () {
  const start = performance.now();
  function hook() {
    const video = document.getElementById('video');
    if (!video || !video.requestVideoFrameCallback) return setTimeout(hook, 50);
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
  // A MediaStream's sound reaches Web Audio through a stream source, not an element source.
  const src = ac.createMediaStreamSource(video.srcObject);
  const an = ac.createAnalyser();
  an.fftSize = 2048;
  src.connect(an);
  const buf = new Float32Array(an.fftSize);
  setInterval(() => {
    an.getFloatTimeDomainData(buf);
    let e = 0; for (const x of buf) e += x * x;
    hsProbe.levels.push({ rms: Math.sqrt(e / buf.length), at: performance.now() });
  }, 10);
  return ac.state;
};`;

await run(async (page) => {
  await page.addInitScript(decodeTimecodeSource);
  await page.addInitScript(probeSource);
  // The server starts beside us in the namespace: retry until it answers.
  for (let i = 0; ; i++) {
    try { await page.goto(url); break; } catch (e) { if (i > 50) throw e; await page.waitForTimeout(200); }
  }
  await page.waitForFunction(() => {
    const v = document.getElementById('video');
    return v && v.srcObject && v.srcObject.getAudioTracks().length > 0;
  }, null, { timeout: 15_000 });
  const audioState = await page.evaluate(() => hsListen());
  await page.waitForFunction(() => hsProbe.frames.length > 5, null, { timeout: 20_000 });
  const from = await page.evaluate(() => performance.now());
  await page.waitForTimeout(secs * 1000);
  const m = await page.evaluate((from) => {
    const frames = hsProbe.frames.filter((f) => f.at >= from);
    const levels = hsProbe.levels.filter((l) => l.at >= from);
    let beeps = 0, loud = false;
    for (const l of levels) { if (!loud && l.rms > 0.05) { beeps++; loud = true; } else if (l.rms < 0.01) loud = false; }
    const span = frames.length > 1 ? (frames[frames.length - 1].at - frames[0].at) / 1000 : 0;
    const numbers = frames.map((f) => f.frame);
    let backwards = 0; for (let i = 1; i < numbers.length; i++) if (numbers[i] < numbers[i - 1]) backwards++;
    const q = document.getElementById('video').getVideoPlaybackQuality();
    return {
      frames: frames.length, fps: span ? (frames.length - 1) / span : 0,
      sourceFrames: numbers.length ? numbers[numbers.length - 1] - numbers[0] : 0,
      backwards, latencies: frames.map((f) => f.latency), beeps, maxRms: levels.reduce((m, l) => Math.max(m, l.rms), 0),
      firstFrameAt: hsProbe.firstFrameAt,
      quality: { total: q.totalVideoFrames, dropped: q.droppedVideoFrames },
      page: { transport: hsStats.transport, latencyMs: hsStats.latencyMs, width: hsStats.width, height: hsStats.height,
        reconnects: hsStats.reconnects, error: hsStats.error, readout: document.getElementById('stats').textContent,
        tried: hsStats.tried, iceServers: hsStats.iceServers,
        pageLatencyP50: (() => { const s = [...hsStats.latencies].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : null; })() },
    };
  }, from);
  const { latencies, ...rest } = m;
  return { ...rest, audioState, latencyP50: percentile(latencies, 0.5), latencyP95: percentile(latencies, 0.95), latencyMax: percentile(latencies, 1) };
}, {}, flags);
