// Usage: node live_publish.mjs BASE-URL NAME SECONDS
// One headless Chromium with a fake camera and microphone (--use-fake-device-for-media-stream
// --use-fake-ui-for-media-stream) publishes from BASE/live/NAME/publish with the page's one
// button; a second Chromium plays BASE/live/NAME/?via=webrtc and counts the frames it presents.
// Run inside a network namespace holding only loopback (Chromium's WebRTC prefers other
// interfaces): the Rust test does.
import { launch } from './lib.mjs';

const [base, name, secsArg] = process.argv.slice(2);
const secs = Number(secsArg || 5);

// As in live_webrtc.mjs: Playwright's own --disable-features list plus mDNS hiding.
const disabled = [
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding',
  'ThirdPartyStoragePartitioning', 'AvoidCorsURLLoaderRestartOnRedirect', 'OptimizationHints',
  'NetworkTimeServiceQuerying', 'AimEnabled', 'PreconnectToSearch', 'WebRtcHideLocalIpsWithMdns',
];
const flags = ['--allow-loopback-in-peer-connection', `--disable-features=${disabled.join(',')}`];
const fake = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

const timer = setTimeout(() => { console.error('browser script timed out'); process.exit(3); }, 90_000);
const consoleErrors = [];
const watchErrors = (page) => {
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
};
const publisherBrowser = await launch([...flags, ...fake]);
const viewerBrowser = await launch(flags);
try {
  const pub = await (await publisherBrowser.newContext()).newPage();
  watchErrors(pub);
  for (let i = 0; ; i++) {
    try { await pub.goto(`${base}/live/${name}/publish`); break; } catch (e) { if (i > 50) throw e; await pub.waitForTimeout(200); }
  }
  const cameras = await pub.evaluate(async () => {
    for (let i = 0; i < 50 && !document.getElementById('camera').options.length; i++) await new Promise((r) => setTimeout(r, 100));
    return [...document.getElementById('camera').options].map((o) => o.textContent);
  });
  await pub.click('#go');
  await pub.waitForFunction(() => document.getElementById('state').textContent === 'live', null, { timeout: 20_000 });
  const publishedAt = Date.now();

  const view = await (await viewerBrowser.newContext()).newPage();
  watchErrors(view);
  await view.addInitScript(`window.hsPresented = 0; (function hook() {
    const v = document.getElementById('video');
    if (!v || !v.requestVideoFrameCallback) return setTimeout(hook, 50);
    const f = () => { hsPresented++; v.requestVideoFrameCallback(f); };
    v.requestVideoFrameCallback(f);
  })();`);
  await view.goto(`${base}/live/${name}/?via=webrtc`);
  await view.waitForFunction(() => window.hsPresented > 5, null, { timeout: 20_000 });
  const before = await view.evaluate(() => hsPresented);
  await view.waitForTimeout(secs * 1000);
  const viewer = await view.evaluate((before) => ({
    frames: hsPresented - before,
    width: document.getElementById('video').videoWidth,
    height: document.getElementById('video').videoHeight,
    transport: window.hsStats && hsStats.transport,
  }), before);
  const publisher = await pub.evaluate(() => ({ ...publishState(), stats: window.publishStats || null, readout: document.getElementById('stats').textContent }));
  process.stdout.write(JSON.stringify({ cameras, publisher, viewer, fps: viewer.frames / secs, firstViewMs: Date.now() - publishedAt - secs * 1000, consoleErrors }) + '\n');
} catch (e) {
  console.error(String(e && e.stack || e));
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  await publisherBrowser.close();
  await viewerBrowser.close();
}
