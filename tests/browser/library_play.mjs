// Usage: node library_play.mjs BASE_URL
// Opens the home page, follows the first video link, plays, seeks to 60 %, plays on; then opens
// an AVI's page (a message and a download link) and a MOV's (it plays, no message). Prints what
// it saw, including the status of every /media/ response.
import { run } from './lib.mjs';

const base = process.argv[2];
const player = () => document.getElementById('player');

await run(async (page) => {
  const media = [];
  page.on('response', (r) => { if (r.url().includes('/media/')) media.push(r.status()); });
  await page.goto(base);
  const link = page.locator('a[href^="/watch/"][href$=".mp4"]').first();
  const href = await link.getAttribute('href');
  await link.click();
  await page.waitForSelector('#player');
  await page.evaluate(() => { const v = document.getElementById('player'); v.muted = true; return v.play(); });
  await page.waitForFunction(() => { const v = document.getElementById('player'); return v.currentTime > 1 && v.videoWidth > 0; }, null, { timeout: 30000 });
  const first = await page.evaluate(() => { const v = document.getElementById('player'); return { time: v.currentTime, width: v.videoWidth, duration: v.duration }; });
  const target = first.duration * 0.6;
  await page.evaluate((t) => { document.getElementById('player').currentTime = t; }, target);
  await page.waitForFunction((t) => { const v = document.getElementById('player'); return v.currentTime > t + 1 && !v.paused; }, target, { timeout: 30000 });
  const after = await page.evaluate(() => { const v = document.getElementById('player'); return { time: v.currentTime, paused: v.paused, tracks: v.textTracks.length }; });
  const warningShown = await page.$eval('#unsupported', (e) => !e.hidden);

  await page.goto(base + 'watch/broken.avi');
  // Wait for the message, but report what is there either way: the Rust test judges it.
  await page.waitForFunction(() => !document.getElementById('unsupported').hidden, null, { timeout: 15000 }).catch(() => {});
  const avi = await page.evaluate(() => {
    const w = document.getElementById('unsupported');
    const a = document.querySelector('a[download]');
    return { warningShown: !w.hidden, text: w.textContent.trim(), download: a && a.getAttribute('href') };
  });

  // A QuickTime file: canPlayType('video/quicktime') is '' in Chromium, yet it plays it.
  await page.goto(base + 'watch/clip.mov');
  await page.evaluate(() => { const v = document.getElementById('player'); v.muted = true; return v.play(); });
  await page.waitForFunction(() => document.getElementById('player').currentTime > 0.5, null, { timeout: 30000 });
  const mov = await page.evaluate(() => ({ width: document.getElementById('player').videoWidth, warningShown: !document.getElementById('unsupported').hidden }));
  return { href, first, target, after, warningShown, mediaStatuses: media, avi, mov };
});
