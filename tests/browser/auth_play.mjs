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

  // MSE over the WebSocket (which needs the session too), forced: the default would try WebRTC
  // first, whose ICE reaches beyond loopback outside a private namespace.
  await page.goto(`${base}${live}?via=mse`);
  const livePlaying = () => {
    const v = document.getElementById('video');
    const img = [...document.images].some((i) => i.complete && i.naturalWidth > 0);
    return (v && v.videoWidth > 0 && v.currentTime > 0) || img;
  };
  await page.waitForFunction(livePlaying, null, { timeout: 30_000 });
  const liveWidth = await page.evaluate(() => {
    const v = document.getElementById('video');
    return Math.max(v ? v.videoWidth : 0, ...[...document.images].map((i) => i.naturalWidth));
  });
  const liveTransport = await page.evaluate(() => window.hsStats && window.hsStats.transport);

  // Log out the way a person does: the button in the page header.
  await page.goto(`${base}/`);
  await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/login'), { timeout: 15_000 }), page.click('form.logout button')]);
  await page.waitForLoadState('load');
  const logout = new URL(page.url()).pathname;
  const paths = [video.replace('/watch/', '/media/'), live, `${live}snapshot.jpg`, `${live}stream.mjpg`, '/api/status'];
  // The login page's CSP forbids fetch(); the context's request API sends the same cookies.
  const after = {};
  for (const p of paths) {
    const r = await page.context().request.get(`${base}${p}`, { maxRedirects: 0, timeout: 10_000 });
    after[p] = r.status();
    await r.dispose();
  }
  await page.goto(`${base}${video}`);
  const afterNavigation = new URL(page.url()).pathname;
  return { landed, video: videoState, live: { width: liveWidth, transport: liveTransport }, logout, after, afterNavigation };
});
