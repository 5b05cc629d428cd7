// Usage: node library_keys.mjs BASE_URL WATCH_PATH
// On a player page: keyboard shortcuts (k, ArrowRight, 5, c, n, p), resume after a reload, and
// "next" when the video ends. Prints what it saw; the Rust test asserts on it.
import { run } from './lib.mjs';

const [base, watch] = process.argv.slice(2);
const state = () => {
  const v = document.getElementById('player');
  return {
    time: v.currentTime,
    paused: v.paused,
    duration: v.duration,
    subtitles: v.textTracks.length ? v.textTracks[0].mode : null,
    path: decodeURIComponent(location.pathname),
  };
};
const playing = async (page) => {
  await page.waitForSelector('#player');
  await page.evaluate(() => { const v = document.getElementById('player'); v.muted = true; return v.play(); });
  await page.waitForFunction(() => { const v = document.getElementById('player'); return v.currentTime > 0.3 && !v.paused; }, null, { timeout: 30000 });
};

await run(async (page) => {
  const seen = {};
  await page.goto(base.replace(/\/$/, '') + watch);
  await playing(page);
  seen.start = await page.evaluate(state);

  await page.keyboard.press('k');
  seen.afterK = await page.evaluate(state);
  await page.keyboard.press('k');
  await page.waitForFunction(() => !document.getElementById('player').paused, null, { timeout: 10000 });
  seen.afterKK = await page.evaluate(state);

  const before = await page.evaluate(() => document.getElementById('player').currentTime);
  await page.keyboard.press('ArrowRight');
  seen.arrowRight = (await page.evaluate(() => document.getElementById('player').currentTime)) - before;

  await page.keyboard.press('5');
  seen.afterFive = await page.evaluate(state);

  await page.keyboard.press('c');
  seen.subtitlesAfterC = await page.evaluate(() => document.getElementById('player').textTracks[0].mode);
  await page.keyboard.press('c');
  seen.subtitlesAfterCC = await page.evaluate(() => document.getElementById('player').textTracks[0].mode);

  // Resume: the position is saved while playing; a reload starts there.
  const key = 'homestream:pos:' + await page.$eval('#player', (v) => v.dataset.key);
  await page.waitForFunction((k) => Number(localStorage.getItem(k)) > 8, key, { timeout: 10000 });
  seen.saved = Number(await page.evaluate((k) => localStorage.getItem(k), key));
  await page.reload();
  await page.waitForFunction(() => document.getElementById('player').currentTime > 5, null, { timeout: 30000 });
  seen.resumed = await page.evaluate(state);

  await page.keyboard.press('n');
  await page.waitForURL((u) => decodeURIComponent(u.pathname) !== watch, { timeout: 10000 });
  seen.afterN = await page.evaluate(() => decodeURIComponent(location.pathname));
  await page.waitForSelector('#player');
  await page.keyboard.press('p');
  await page.waitForURL((u) => decodeURIComponent(u.pathname) === watch, { timeout: 10000 });
  seen.afterP = await page.evaluate(() => decodeURIComponent(location.pathname));

  // The end of a video moves on to the next one (and forgets its saved position).
  await playing(page);
  await page.evaluate(() => { const v = document.getElementById('player'); v.currentTime = v.duration - 0.5; });
  await page.waitForURL((u) => decodeURIComponent(u.pathname) !== watch, { timeout: 15000 });
  seen.afterEnd = await page.evaluate(() => decodeURIComponent(location.pathname));
  seen.savedAfterEnd = await page.evaluate((k) => localStorage.getItem(k), key);
  return seen;
});
