// Logs in through the login page, plays a library video and a live stream, logs out, and
// checks that the same URLs are refused.
// Usage: HS_PASSWORD=... node auth_play.mjs BASE_URL USER VIDEO_PATH LIVE_PAGE_PATH
// Prints {"landed", "video": {time, width}, "live": {width}, "after": {path: status}, "afterNavigation"}
import { run } from './lib.mjs';

const [base, user, video, live] = process.argv.slice(2);
const password = process.env.HS_PASSWORD;

await run(async (page) => {
  await page.goto(`${base}${video}`);
  // Anonymous: sent to the login page, which brings us back after logging in.
  await page.waitForSelector('#password');
  await page.fill('#user', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15_000 }), page.click('#login')]);
  const landed = new URL(page.url()).pathname;

  await page.evaluate(() => { const v = document.getElementById('player'); v.muted = true; return v.play(); });
  await page.waitForFunction(() => { const v = document.getElementById('player'); return v.currentTime > 1 && v.videoWidth > 0; }, null, { timeout: 30_000 });
  const videoState = await page.evaluate(() => { const v = document.getElementById('player'); return { time: v.currentTime, width: v.videoWidth }; });

  await page.goto(`${base}${live}`);
  await page.waitForFunction(() => [...document.images].some((i) => i.complete && i.naturalWidth > 0), null, { timeout: 30_000 });
  const liveWidth = await page.evaluate(() => Math.max(...[...document.images].map((i) => i.naturalWidth)));

  const logout = await page.evaluate(async () => (await fetch('/logout', { method: 'POST', redirect: 'manual' })).type);
  const paths = [video.replace('/watch/', '/media/'), live, `${live}snapshot.jpg`, `${live}stream.mjpg`, '/api/status'];
  const after = await page.evaluate(async (ps) => {
    const out = {};
    for (const p of ps) {
      const r = await fetch(p, { redirect: 'manual', cache: 'no-store' });
      out[p] = r.status;
      if (r.body) await r.body.cancel();
    }
    return out;
  }, paths);
  await page.goto(`${base}${video}`);
  const afterNavigation = new URL(page.url()).pathname;
  return { landed, video: videoState, live: { width: liveWidth }, logout, after, afterNavigation };
});
