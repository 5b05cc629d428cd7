//! Limits on password guessing, per client address and per account.
//!
//! # Policy ([`LoginLimiter`])
//!
//! Every password check (login form or HTTP Basic) first asks [`LoginLimiter::begin`].
//! The attempt is counted *before* the (slow) argon2 check, so a burst of concurrent
//! requests cannot slip through while earlier checks are still running; a success
//! takes its count back ([`LoginLimiter::finish`]). Refused attempts are not checked
//! and not counted: they cost the server nothing and cannot extend anyone's wait.
//!
//! 1. **Per (account, address)**: `pair_free` failures are free; after that each failure
//!    sets a wait of `base_delay * 2^k` (k = failures beyond the free ones), capped at
//!    `max_delay`. This is what stops guessing one account from one place. It does not
//!    touch the same account from other addresses: a burst from one address never locks
//!    the owner out elsewhere.
//! 2. **Per address** (all accounts): the same backoff after `ip_free` failures, against
//!    one address spraying many accounts (or unknown names). IPv6 addresses are grouped
//!    by /64, since one host usually owns a whole /64.
//! 3. **Per account, global soft cap**: when an account collects more than `account_cap`
//!    failures within `account_window` from all addresses together (a distributed attack),
//!    addresses that have not logged in to it before share one check per `soft_interval`;
//!    addresses that have (remembered in memory, up to 32 per account) are not limited by it.
//!    So a botnet gets about one guess per second, and the owner at home is unaffected.
//!
//! A counter is forgotten after `forget_after` without failures (measured from the end of its
//! current wait). Waits are reported as "try again in N s" (N rounded up).
//!
//! Memory is bounded: each table holds at most `max_entries`; when full, forgettable entries
//! are dropped, then the entry idle longest is evicted (which can only shorten a wait).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Limits (see the module documentation for what each means).
#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    /// Free failures per (account, address).
    pub pair_free: u32,
    /// Free failures per address over all accounts.
    pub ip_free: u32,
    /// First wait after the free failures; doubles each further failure.
    pub base_delay: Duration,
    /// Longest wait.
    pub max_delay: Duration,
    /// Quiet time after which a counter is forgotten.
    pub forget_after: Duration,
    /// Failures per account in `account_window` (all addresses) before the soft cap applies.
    pub account_cap: u32,
    /// Window of the soft cap.
    pub account_window: Duration,
    /// Under the soft cap, unknown addresses share one check per this interval.
    pub soft_interval: Duration,
    /// Entries per table.
    pub max_entries: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            pair_free: 5,
            ip_free: 20,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
            account_cap: 100,
            account_window: Duration::from_secs(10 * 60),
            soft_interval: Duration::from_secs(1),
            max_entries: 65_536,
        }
    }
}

/// Address key: IPv4 as is, IPv6 by /64 (IPv4-mapped IPv6 counts as IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl From<IpAddr> for AddrKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => AddrKey(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrKey(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    AddrKey(IpAddr::V6(std::net::Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    failures: u32,
    last: Instant,
}

impl Counter {
    fn wait_until(&self, free: u32, cfg: &RateLimitConfig) -> Option<Instant> {
        if self.failures < free {
            return None;
        }
        let k = (self.failures - free).min(30);
        let d = cfg.base_delay.saturating_mul(1 << k).min(cfg.max_delay);
        Some(self.last + d)
    }

    fn forgettable(&self, free: u32, cfg: &RateLimitConfig, now: Instant) -> bool {
        let end = self.wait_until(free, cfg).unwrap_or(self.last);
        now >= end + cfg.forget_after
    }
}

#[derive(Debug)]
struct AccountState {
    window_start: Instant,
    failures: u32,
    next_soft_slot: Instant,
    known_good: Vec<AddrKey>,
    last: Instant,
}

/// A counted attempt; give it back to [`LoginLimiter::finish`].
#[derive(Debug)]
#[must_use = "finish() the attempt with its outcome"]
pub struct Attempt {
    account: String,
    addr: AddrKey,
}

/// The limiter (sans-IO: callers pass `now`). See the module docs for the policy.
#[derive(Debug)]
pub struct LoginLimiter {
    cfg: RateLimitConfig,
    pairs: HashMap<(String, AddrKey), Counter>,
    addrs: HashMap<AddrKey, Counter>,
    accounts: HashMap<String, AccountState>,
}

fn remaining(until: Instant, now: Instant) -> Option<Duration> {
    (until > now).then(|| until - now)
}

/// Rounds a wait up to whole seconds for "try again in N s" and `Retry-After` (at least 1).
pub fn retry_secs(wait: Duration) -> u64 {
    let s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    s.max(1)
}

impl LoginLimiter {
    /// A limiter with `cfg`.
    pub fn new(cfg: RateLimitConfig) -> Self {
        LoginLimiter {
            cfg,
            pairs: HashMap::new(),
            addrs: HashMap::new(),
            accounts: HashMap::new(),
        }
    }

    /// Asks to check a password for `account` from `ip`. `Err(wait)` means refuse and
    /// say "try again in [`retry_secs`]`(wait)` s"; `Ok` counts the attempt as a failure
    /// until [`LoginLimiter::finish`] says otherwise.
    pub fn begin(&mut self, account: &str, ip: IpAddr, now: Instant) -> Result<Attempt, Duration> {
        let cfg = self.cfg;
        let addr = AddrKey::from(ip);
        let pair_key = (account.to_owned(), addr);
        if self
            .pairs
            .get(&pair_key)
            .is_some_and(|c| c.forgettable(cfg.pair_free, &cfg, now))
        {
            self.pairs.remove(&pair_key);
        }
        if self
            .addrs
            .get(&addr)
            .is_some_and(|c| c.forgettable(cfg.ip_free, &cfg, now))
        {
            self.addrs.remove(&addr);
        }
        let mut wait = Duration::ZERO;
        if let Some(c) = self.pairs.get(&pair_key)
            && let Some(r) = c
                .wait_until(cfg.pair_free, &cfg)
                .and_then(|u| remaining(u, now))
        {
            wait = wait.max(r);
        }
        if let Some(c) = self.addrs.get(&addr)
            && let Some(r) = c
                .wait_until(cfg.ip_free, &cfg)
                .and_then(|u| remaining(u, now))
        {
            wait = wait.max(r);
        }
        if let Some(a) = self.accounts.get(account)
            && now < a.window_start + cfg.account_window
            && a.failures >= cfg.account_cap
            && !a.known_good.contains(&addr)
            && let Some(r) = remaining(a.next_soft_slot, now)
        {
            wait = wait.max(r);
        }
        if !wait.is_zero() {
            return Err(wait);
        }

        // Count the attempt now (taken back on success).
        self.make_room(now);
        let c = self.pairs.entry(pair_key).or_insert(Counter {
            failures: 0,
            last: now,
        });
        c.failures = c.failures.saturating_add(1);
        c.last = now;
        let c = self.addrs.entry(addr).or_insert(Counter {
            failures: 0,
            last: now,
        });
        c.failures = c.failures.saturating_add(1);
        c.last = now;
        let a = self
            .accounts
            .entry(account.to_owned())
            .or_insert_with(|| AccountState {
                window_start: now,
                failures: 0,
                next_soft_slot: now,
                known_good: Vec::new(),
                last: now,
            });
        if now >= a.window_start + cfg.account_window {
            a.window_start = now;
            a.failures = 0;
        }
        if a.failures >= cfg.account_cap && !a.known_good.contains(&addr) {
            a.next_soft_slot = now + cfg.soft_interval;
        }
        a.failures = a.failures.saturating_add(1);
        a.last = now;
        Ok(Attempt {
            account: account.to_owned(),
            addr,
        })
    }

    /// Records the outcome of a counted attempt. Success clears the (account, address)
    /// counter, takes back the provisional count elsewhere and remembers the address as
    /// known-good for the account.
    pub fn finish(&mut self, attempt: Attempt, success: bool) {
        if !success {
            return;
        }
        self.pairs.remove(&(attempt.account.clone(), attempt.addr));
        if let Some(c) = self.addrs.get_mut(&attempt.addr) {
            c.failures = c.failures.saturating_sub(1);
        }
        if let Some(a) = self.accounts.get_mut(&attempt.account) {
            a.failures = a.failures.saturating_sub(1);
            if !a.known_good.contains(&attempt.addr) {
                if a.known_good.len() >= 32 {
                    a.known_good.remove(0);
                }
                a.known_good.push(attempt.addr);
            }
        }
    }

    /// Entries held (pairs, addresses, accounts), for tests and status.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.pairs.len(), self.addrs.len(), self.accounts.len())
    }

    fn make_room(&mut self, now: Instant) {
        let cfg = self.cfg;
        let max = cfg.max_entries.max(1);
        if self.pairs.len() >= max {
            self.pairs
                .retain(|_, c| !c.forgettable(cfg.pair_free, &cfg, now));
            evict_idlest(&mut self.pairs, max, |c| c.last);
        }
        if self.addrs.len() >= max {
            self.addrs
                .retain(|_, c| !c.forgettable(cfg.ip_free, &cfg, now));
            evict_idlest(&mut self.addrs, max, |c| c.last);
        }
        if self.accounts.len() >= max {
            let keep = cfg.account_window.max(cfg.forget_after);
            self.accounts
                .retain(|_, a| now < a.last + keep || !a.known_good.is_empty());
            evict_idlest(&mut self.accounts, max, |a| a.last);
        }
    }
}

fn evict_idlest<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    last: impl Fn(&V) -> Instant,
) {
    while map.len() >= max {
        let Some(k) = map
            .iter()
            .min_by_key(|(_, v)| last(v))
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn fail(l: &mut LoginLimiter, acct: &str, a: &str, now: Instant) -> Result<(), Duration> {
        let t = l.begin(acct, ip(a), now)?;
        l.finish(t, false);
        Ok(())
    }

    #[test]
    fn free_then_exponential_backoff() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(RateLimitConfig::default());
        for _ in 0..5 {
            fail(&mut l, "alice", "10.0.0.1", t0).unwrap();
        }
        // 5 free failures used up: wait 1 s.
        assert_eq!(
            fail(&mut l, "alice", "10.0.0.1", t0),
            Err(Duration::from_secs(1))
        );
        let t1 = t0 + Duration::from_secs(1);
        fail(&mut l, "alice", "10.0.0.1", t1).unwrap();
        assert_eq!(
            fail(&mut l, "alice", "10.0.0.1", t1),
            Err(Duration::from_secs(2))
        );
        let t2 = t1 + Duration::from_secs(2);
        fail(&mut l, "alice", "10.0.0.1", t2).unwrap();
        let w = fail(&mut l, "alice", "10.0.0.1", t2 + Duration::from_millis(500)).unwrap_err();
        assert_eq!(w, Duration::from_millis(3500));
        assert_eq!(retry_secs(w), 4);
    }

    #[test]
    fn burst_from_one_address_does_not_lock_others() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(RateLimitConfig::default());
        let mut refused = 0;
        for _ in 0..1000 {
            if fail(&mut l, "alice", "127.0.0.1", t0).is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 995);
        let t = l
            .begin("alice", ip("127.0.0.2"), t0)
            .expect("other address not locked");
        l.finish(t, true);
    }

    #[test]
    fn concurrent_attempts_are_counted_before_checking() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(RateLimitConfig::default());
        // Five checks in flight at once (not finished yet): the sixth must wait.
        let held: Vec<_> = (0..5)
            .map(|_| l.begin("a", ip("1.2.3.4"), t0).unwrap())
            .collect();
        assert!(l.begin("a", ip("1.2.3.4"), t0).is_err());
        for t in held {
            l.finish(t, false);
        }
    }

    #[test]
    fn success_clears_pair_counter() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(RateLimitConfig::default());
        for _ in 0..4 {
            fail(&mut l, "a", "1.2.3.4", t0).unwrap();
        }
        let t = l.begin("a", ip("1.2.3.4"), t0).unwrap();
        l.finish(t, true);
        for _ in 0..5 {
            fail(&mut l, "a", "1.2.3.4", t0).unwrap();
        }
        assert!(fail(&mut l, "a", "1.2.3.4", t0).is_err());
    }

    #[test]
    fn address_spraying_many_accounts_is_limited() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(RateLimitConfig::default());
        for i in 0..20 {
            fail(&mut l, &format!("user{i}"), "1.2.3.4", t0).unwrap();
        }
        assert_eq!(
            fail(&mut l, "user99", "1.2.3.4", t0),
            Err(Duration::from_secs(1))
        );
        fail(&mut l, "user99", "1.2.3.5", t0).unwrap();
    }

    #[test]
    fn ipv6_grouped_by_64() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(RateLimitConfig::default());
        for i in 0..5 {
            fail(&mut l, "a", &format!("2001:db8:1:2::{i}"), t0).unwrap();
        }
        assert!(fail(&mut l, "a", "2001:db8:1:2::ffff", t0).is_err());
        fail(&mut l, "a", "2001:db8:1:3::1", t0).unwrap();
        assert_eq!(
            AddrKey::from(ip("::ffff:10.0.0.1")),
            AddrKey::from(ip("10.0.0.1"))
        );
    }

    #[test]
    fn distributed_attack_hits_soft_cap_but_known_address_passes() {
        let t0 = Instant::now();
        let cfg = RateLimitConfig {
            account_cap: 10,
            ..Default::default()
        };
        let mut l = LoginLimiter::new(cfg);
        let t = l.begin("alice", ip("192.168.1.5"), t0).unwrap();
        l.finish(t, true); // the owner's phone
        for i in 0..10 {
            fail(&mut l, "alice", &format!("10.0.{i}.1"), t0).unwrap();
        }
        // 11th distinct address: allowed (sets the shared slot), 12th must wait 1 s.
        fail(&mut l, "alice", "10.1.0.1", t0).unwrap();
        assert_eq!(
            fail(&mut l, "alice", "10.1.0.2", t0),
            Err(Duration::from_secs(1))
        );
        // Owner's known address is not held back.
        let t = l.begin("alice", ip("192.168.1.5"), t0).unwrap();
        l.finish(t, true);
        // Other accounts are unaffected.
        fail(&mut l, "bob", "10.1.0.3", t0).unwrap();
        // After the window the cap resets.
        fail(&mut l, "alice", "10.1.0.4", t0 + cfg.account_window).unwrap();
    }

    #[test]
    fn counters_forgotten_after_quiet_time_and_capped() {
        let t0 = Instant::now();
        let cfg = RateLimitConfig::default();
        let mut l = LoginLimiter::new(cfg);
        let mut now = t0;
        let mut counted = 0;
        while counted < 30 {
            match fail(&mut l, "a", "1.2.3.4", now) {
                Ok(()) => counted += 1,
                Err(w) => {
                    assert!(w <= cfg.max_delay);
                    now += w;
                }
            }
        }
        // Right after a counted failure, the wait is at its cap.
        assert_eq!(fail(&mut l, "a", "1.2.3.4", now), Err(cfg.max_delay));
        // After the wait plus the quiet time, the counter starts over: 5 free again.
        now += cfg.max_delay + cfg.forget_after;
        for _ in 0..5 {
            fail(&mut l, "a", "1.2.3.4", now).unwrap();
        }
        assert_eq!(
            fail(&mut l, "a", "1.2.3.4", now),
            Err(Duration::from_secs(1))
        );
    }

    #[test]
    fn tables_are_bounded() {
        let t0 = Instant::now();
        let cfg = RateLimitConfig {
            max_entries: 100,
            ip_free: u32::MAX,
            ..Default::default()
        };
        let mut l = LoginLimiter::new(cfg);
        for i in 0..1000u32 {
            let a = format!("10.{}.{}.1", i / 256, i % 256);
            let _ = fail(
                &mut l,
                &format!("u{i}"),
                &a,
                t0 + Duration::from_millis(i.into()),
            );
        }
        let (p, a, c) = l.sizes();
        assert!(p <= 100 && a <= 100 && c <= 100, "{p} {a} {c}");
    }

    #[test]
    fn retry_rounds_up() {
        assert_eq!(retry_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_secs(Duration::from_millis(2001)), 3);
    }
}
