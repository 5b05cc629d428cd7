// Usage: node library_phone.mjs BASE_URL
// The library on a phone (390x844 CSS px, touch, 3x pixels): for the home page, a folder and a
// player page it reports how far the page is wider than the screen, the smallest tap target and
// text size; it moves by tapping (a folder, a video, the breadcrumb home) and plays the video.
import { run } from './lib.mjs';

const base = process.argv[2];

// What a phone user would notice first: sideways scrolling, tiny targets, tiny text.
const layout = () => {
  const vw = window.innerWidth;
  const rects = [...document.querySelectorAll('a, button, video')]
    .filter((e) => e.offsetParent !== null)
    .map((e) => e.getBoundingClientRect());
  const sizes = [...document.querySelectorAll('.name, .title, .meta, .crumbs, .button')]
    .map((e) => parseFloat(getComputedStyle(e).fontSize));
  const items = [...document.querySelectorAll('.item')].map((e) => e.getBoundingClientRect().height);
  return {
    viewport: vw,
    overflowX: document.documentElement.scrollWidth - vw,
    rightmost: Math.max(0, ...rects.map((r) => r.right)),
    smallestItem: items.length ? Math.min(...items) : null,
    smallestFont: sizes.length ? Math.min(...sizes) : null,
    viewportMeta: !!document.querySelector('meta[name="viewport"][content*="width=device-width"]'),
  };
};

await run(async (page) => {
  await page.goto(base);
  const home = await page.evaluate(layout);
  await page.locator('a.item', { hasText: 'Holidays' }).tap();
  await page.waitForURL(/\/Holidays/);
  const folder = await page.evaluate(layout);
  const folderUrl = page.url();
  await page.locator('a.item[href$=".mp4"]').first().tap();
  await page.waitForSelector('#player');
  const watchUrl = page.url();
  await page.evaluate(() => { const v = document.getElementById('player'); v.muted = true; return v.play(); });
  await page.waitForFunction(() => { const v = document.getElementById('player'); return v.currentTime > 0.5 && v.videoWidth > 0; }, null, { timeout: 30000 });
  const watch = await page.evaluate(layout);
  const video = await page.$eval('#player', (v) => { const r = v.getBoundingClientRect(); return { left: r.left, right: r.right, width: r.width, height: r.height }; });
  await page.goBack();
  await page.locator('.crumbs a', { hasText: 'Home' }).tap();
  await page.waitForURL(base);
  return { home, folder, folderUrl, watch, watchUrl, video, backHome: page.url() };
}, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true });
