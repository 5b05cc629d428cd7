// Logs in through the login page like a person, checks paths with the session, logs out,
// checks them again.
// Usage: node auth_login.mjs BASE_URL USER PASSWORD PATH...
//   PASSWORD `-` reads it from the environment variable HS_PASSWORD instead (keeps it out of
//   the process list).
// Prints {"wrongMessage", "landed", "cookie": {httpOnly, sameSite, secure}, "before": {path: status},
//         "logout": {status, location}, "after": {path: status}, "afterNavigation": url}
// Statuses of the paths come from fetch() inside the page (same cookies, redirect: 'manual'; an
// opaque redirect reads as 0). The logout's status and Location are the ones the network saw.
import { run } from './lib.mjs';

const [base, user, passwordArg, ...paths] = process.argv.slice(2);
const password = passwordArg === '-' ? process.env.HS_PASSWORD : passwordArg;
if (!base || !user || !password) {
  console.error('usage: node auth_login.mjs BASE_URL USER PASSWORD PATH...');
  process.exit(2);
}

const statuses = (page, list) => page.evaluate(async (ps) => {
  const out = {};
  for (const p of ps) {
    try {
      const r = await fetch(p, { redirect: 'manual', cache: 'no-store' });
      out[p] = r.status;
      // Do not download whole videos or endless streams.
      if (r.body) await r.body.cancel();
    } catch (e) {
      out[p] = String(e);
    }
  }
  return out;
}, list);

await run(async (page) => {
  // A wrong password first: the page must say so.
  await page.goto(`${base}/login?next=${encodeURIComponent('/')}`);
  await page.fill('#user', user);
  await page.fill('#password', password + '-wrong');
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
    page.click('#login'),
  ]);
  await page.waitForLoadState('load');
  const wrongMessage = (await page.textContent('#msg'))?.trim() ?? null;

  await page.fill('#user', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15_000 }), page.click('#login')]);
  const landed = new URL(page.url()).pathname;
  const c = (await page.context().cookies()).find((k) => k.name === 'hs_session');
  const cookie = c ? { httpOnly: c.httpOnly, sameSite: c.sameSite, secure: c.secure } : null;

  const before = await statuses(page, paths);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/logout'),
    page.evaluate(() => fetch('/logout', { method: 'POST', redirect: 'manual' })),
  ]);
  const logout = { status: resp.status(), location: (await resp.allHeaders())['location'] ?? null };
  const after = await statuses(page, paths);
  const first = paths[0] ?? '/';
  await page.goto(base + first);
  const afterNavigation = new URL(page.url()).pathname + new URL(page.url()).search;
  return { wrongMessage, landed, cookie, before, logout, after, afterNavigation };
});
