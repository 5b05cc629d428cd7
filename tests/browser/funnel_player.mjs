// Usage: node funnel_player.mjs PLAYER_URL
// Opens homestream funnel's /player page for an HLS funnel, plays, seeks to 60 %, plays on.
// Prints which engine played (window.hsEngine), what the video reported at each step, and the
// status of every /hls/ response.
import { run } from './lib.mjs';

const url = process.argv[2];

await run(async (page) => {
  const statuses = [];
  page.on('response', (r) => { if (r.url().includes('/hls/')) statuses.push(r.status()); });
  await page.goto(url);
  await page.evaluate(() => { const v = document.getElementById('v'); v.muted = true; return v.play().catch(() => {}); });
  await page.waitForFunction(() => { const v = document.getElementById('v'); return v.currentTime > 1 && v.videoWidth > 0; }, null, { timeout: 30000 });
  const first = await page.evaluate(() => { const v = document.getElementById('v'); return { time: v.currentTime, width: v.videoWidth, height: v.videoHeight, duration: v.duration }; });
  const target = first.duration * 0.6;
  const seekAt = Date.now();
  await page.evaluate((t) => { document.getElementById('v').currentTime = t; }, target);
  await page.waitForFunction((t) => { const v = document.getElementById('v'); return v.currentTime > t + 0.5 && !v.paused; }, target, { timeout: 30000 });
  const playingAfterSeekMs = Date.now() - seekAt;
  const after = await page.evaluate(() => { const v = document.getElementById('v'); return { time: v.currentTime, paused: v.paused }; });
  const engine = await page.evaluate(() => window.hsEngine);
  return { engine, first, target, after, playingAfterSeekMs, statuses };
});
