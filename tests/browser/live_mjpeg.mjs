// Usage: node live_mjpeg.mjs URL-of-/live/NAME/ -> {"width","height","samples","distinct","stats"}
// Opens the live viewer page (?via=mjpeg), waits for the MJPEG <img> to show frames, draws it into a canvas
// several times and reports how many distinct pictures it saw (the image must be changing).
import { run } from './lib.mjs';

await run(async (page) => {
  await page.goto(process.argv[2]);
  await page.waitForFunction(() => {
    const img = document.getElementById('live');
    return img && img.naturalWidth > 0;
  }, null, { timeout: 20_000 });
  const result = await page.evaluate(async () => {
    const img = document.getElementById('live');
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    const hashes = [];
    for (let i = 0; i < 8; i++) {
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let h = 2166136261;
      for (let j = 0; j < d.length; j += 7) { h = Math.imul(h ^ d[j], 16777619); }
      hashes.push(h >>> 0);
      await new Promise((r) => setTimeout(r, 250));
    }
    return { width: c.width, height: c.height, samples: hashes.length, distinct: new Set(hashes).size };
  });
  // The readout fills from status.json: transport, size, fps, viewers.
  await page.waitForFunction(() => /MJPEG · \d+x\d+ · [\d.]+ fps/.test(document.getElementById('stats').textContent), null, { timeout: 10_000 });
  result.stats = await page.textContent('#stats');
  return result;
});
