// Shared launcher: Debian's chromium, headless, quiet on a closed network.
// Scripts print one JSON object on stdout; the Rust test that ran them asserts on it.
import { chromium } from 'playwright-core';

// `extra`: more Chromium flags (the WebRTC test's).
export async function launch(extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      ...extra,
    ],
  });
}

// Runs `body(page)` with a fresh page, prints its result as JSON (with `consoleErrors`, the
// page's script errors and console errors), exits non-zero on error.
// `context` takes Playwright's context options (a phone's viewport and touch, say).
export async function run(body, context = {}, extra = []) {
  const browser = await launch(extra);
  const timer = setTimeout(() => { console.error('browser script timed out'); process.exit(3); }, 90_000);
  try {
    const page = await (await browser.newContext(context)).newPage();
    // What a user with the developer tools open would see: script errors, failed loads.
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
    const result = await body(page);
    process.stdout.write(JSON.stringify({ ...result, consoleErrors }) + '\n');
  } catch (e) {
    console.error(String(e && e.stack || e));
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
}
