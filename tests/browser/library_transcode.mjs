// Usage: node library_transcode.mjs BASE_URL FILE...
// For each FILE: opens /watch/FILE, plays it muted, waits until video frames and audio are
// decoded, seeks to 70 % and measures how long until it plays on from there. For a file with
// an embedded subtitle track it turns that track on and waits for its cues. Prints what it saw.
import { run } from './lib.mjs';

const [base, ...files] = process.argv.slice(2);

await run(async (page) => {
  const hls = [];
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/hls/') || u.pathname.startsWith('/api/play/')) hls.push([u.pathname, r.status()]);
  });
  const seen = {};
  for (const file of files) {
    await page.goto(base + 'watch/' + file);
    await page.waitForSelector('#player');
    await page.waitForFunction(() => !document.getElementById('playmode').hidden, null, { timeout: 20000 });
    await page.evaluate(() => { const v = document.getElementById('player'); v.muted = true; return v.play().catch(() => {}); });
    await page.waitForFunction(() => {
      const v = document.getElementById('player');
      return v.currentTime > 1 && v.videoWidth > 0 && v.webkitAudioDecodedByteCount > 0;
    }, null, { timeout: 30000 });
    const first = await page.evaluate(() => {
      const v = document.getElementById('player');
      return { time: v.currentTime, width: v.videoWidth, height: v.videoHeight, duration: v.duration,
        audioBytes: v.webkitAudioDecodedByteCount, mode: document.getElementById('playmode').dataset.mode,
        modeText: document.getElementById('playmode').textContent, src: v.currentSrc };
    });
    const target = first.duration * 0.7;
    const t0 = Date.now();
    await page.evaluate((t) => { document.getElementById('player').currentTime = t; }, target);
    await page.waitForFunction((t) => {
      const v = document.getElementById('player');
      return v.currentTime > t + 0.5 && !v.paused && !v.seeking;
    }, target, { timeout: 30000 });
    const seekMs = Date.now() - t0;
    const after = await page.evaluate(() => {
      const v = document.getElementById('player');
      return { time: v.currentTime, paused: v.paused, audioBytes: v.webkitAudioDecodedByteCount,
        frames: v.getVideoPlaybackQuality().totalVideoFrames };
    });
    // Embedded subtitles: each is a <track> the page added; turn the first on, wait for cues.
    const subs = await page.evaluate(async () => {
      const v = document.getElementById('player');
      const els = [...v.querySelectorAll('track[data-embedded]')];
      if (!els.length) return { count: 0 };
      const t = els[0].track;
      for (const o of v.textTracks) o.mode = 'disabled';
      t.mode = 'showing';
      for (let i = 0; i < 100 && !(t.cues && t.cues.length); i++) await new Promise((r) => setTimeout(r, 100));
      return { count: els.length, label: els[0].label, cues: t.cues ? [...t.cues].map((c) => c.text) : [] };
    });
    const audioChoices = await page.$$eval('#audio-track option', (os) => os.map((o) => o.textContent));
    seen[file] = { first, target, seekMs, after, subs, audioChoices,
      warningShown: await page.$eval('#unsupported', (e) => !e.hidden) };
  }
  return { seen, hls };
});
