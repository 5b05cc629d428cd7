// Usage: node smoke.mjs URL -> {"title": ...}
import { run } from './lib.mjs';
await run(async (page) => { await page.goto(process.argv[2]); return { title: await page.title() }; });
