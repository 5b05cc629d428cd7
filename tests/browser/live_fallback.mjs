// Usage: node live_fallback.mjs URL-of-/live/NAME/ [no-mse] [webrtc]
// Opens the live page without ?via and lets it pick a transport by itself; waits until it has
// settled on one and shows the live pattern, then reports where it ended, what it gave up on
// on the way (hsStats.tried), the readout, and the frames it presented in 3 s with their
// timecodes (the pattern's frame numbers must advance). `no-mse` hides Media Source Extensions
// from the page (a browser without them); `webrtc` adds the flags that let Chromium's WebRTC
// use loopback (run inside a loopback-only namespace).
import { run } from './lib.mjs';
import { decodeTimecodeSource } from './timecode.mjs';

const [url, ...modes] = process.argv.slice(2);

// As live_webrtc.mjs: Playwright's --disable-features list plus the mDNS hiding of addresses.
const disabled = [
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding',
  'ThirdPartyStoragePartitioning', 'AvoidCorsURLLoaderRestartOnRedirect', 'OptimizationHints',
  'NetworkTimeServiceQuerying', 'AimEnabled', 'PreconnectToSearch', 'WebRtcHideLocalIpsWithMdns',
];
const flags = modes.includes('webrtc')
  ? ['--allow-loopback-in-peer-connection', `--disable-features=${disabled.join(',')}`]
  : [];

const probeSource = `
window.hsProbe = { frames: [] };
(function () {
  function hook() {
    const video = document.getElementById('video');
    if (!video || !video.requestVideoFrameCallback) return setTimeout(hook, 50);
    const c = document.createElement('canvas');
    const ctx = c.getContext('2d', { willReadFrequently: true });
    function onFrame() {
      const w = video.videoWidth, h = video.videoHeight;
      if (w && h) {
        if (c.width !== w) { c.width = w; c.height = h; }
        ctx.drawImage(video, 0, 0, w, h);
        const tc = hsDecodeTimecode(ctx.getImageData(0, 0, w, h).data, w, h);
        if (tc) hsProbe.frames.push({ frame: tc.frame, transport: hsStats.transport, at: performance.now() });
      }
      video.requestVideoFrameCallback(onFrame);
    }
    video.requestVideoFrameCallback(onFrame);
  }
  hook();
})();`;

await run(async (page) => {
  if (modes.includes('no-mse')) {
    await page.addInitScript(() => { delete window.MediaSource; delete window.ManagedMediaSource; });
  }
  await page.addInitScript(decodeTimecodeSource);
  await page.addInitScript(probeSource);
  const start = Date.now();
  // In the namespace the server starts beside us: retry until it answers.
  for (let i = 0; ; i++) {
    try { await page.goto(url); break; } catch (e) { if (i > 50) throw e; await page.waitForTimeout(200); }
  }
  const readouts = new Set();
  const seenReadout = async () => readouts.add(await page.textContent('#stats'));
  // Settled: the newest decoded frame is recent and came through the current transport.
  for (;;) {
    await seenReadout();
    const settled = await page.evaluate(() => {
      const f = hsProbe.frames[hsProbe.frames.length - 1];
      return !!f && f.transport === hsStats.transport && performance.now() - f.at < 300 &&
        hsProbe.frames.filter((g) => g.transport === hsStats.transport).length > 10;
    });
    if (settled) break;
    if (Date.now() - start > 60_000) throw new Error(`never settled: ${[...readouts].join(' | ')}`);
    await page.waitForTimeout(200);
  }
  const settledMs = Date.now() - start;
  const from = await page.evaluate(() => performance.now());
  await page.waitForTimeout(3000);
  await seenReadout();
  return page.evaluate(({ from, settledMs, readouts }) => {
    const frames = hsProbe.frames.filter((f) => f.at >= from);
    const numbers = frames.map((f) => f.frame);
    let backwards = 0; for (let i = 1; i < numbers.length; i++) if (numbers[i] < numbers[i - 1]) backwards++;
    const span = frames.length > 1 ? (frames[frames.length - 1].at - frames[0].at) / 1000 : 0;
    return {
      transport: hsStats.transport, tried: hsStats.tried, engine: hsStats.hlsEngine || null,
      width: hsStats.width, height: hsStats.height, error: hsStats.error,
      readout: document.getElementById('stats').textContent, readouts,
      settledMs, frames: frames.length, fps: span ? (frames.length - 1) / span : 0,
      advanced: numbers.length ? numbers[numbers.length - 1] - numbers[0] : 0, backwards,
      transports: [...new Set(frames.map((f) => f.transport))],
    };
  }, { from, settledMs, readouts: [...readouts] });
}, {}, flags);
