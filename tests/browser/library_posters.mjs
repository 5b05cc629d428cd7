// Usage: node library_posters.mjs BASE_URL
// Opens a folder page of many films and reports how many posters the browser asked for (lazy
// loading: only those near the screen) and how many arrived as pictures.
import { run } from './lib.mjs';

const base = process.argv[2];

await run(async (page) => {
  let posterRequests = 0;
  page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/poster/')) posterRequests++; });
  await page.goto(base);
  await page.waitForFunction(() => [...document.querySelectorAll('img.poster')].filter((i) => i.complete && i.naturalWidth > 0).length >= 3, null, { timeout: 30000 });
  await page.waitForTimeout(1000);
  const postersLoaded = await page.$$eval('img.poster', (is) => is.filter((i) => i.complete && i.naturalWidth > 0).length);
  const width = await page.$eval('img.poster', (i) => i.naturalWidth);
  return { posterRequests, postersLoaded, width, images: await page.$$eval('img.poster', (is) => is.length) };
});
