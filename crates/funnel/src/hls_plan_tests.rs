use super::*;
use proptest::prelude::*;

fn segs(n: usize) -> Vec<SegInfo> {
    (0..n)
        .map(|i| SegInfo {
            key: format!("s{i}"),
            len: None,
        })
        .collect()
}

fn cfg(connections: usize, max_ahead: usize, split: bool) -> SegConfig {
    SegConfig {
        connections,
        max_ahead,
        max_bytes: 1 << 30,
        keep_behind: 1,
        split,
        first_piece: 100,
        min_piece: 100,
        max_attempts: 3,
        backoff: Duration::from_millis(100),
    }
}

fn starts(a: &[Action]) -> Vec<Fetch> {
    a.iter()
        .filter_map(|a| match a {
            Action::Start(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn cancels(a: &[Action]) -> Vec<TaskId> {
    a.iter()
        .filter_map(|a| match a {
            Action::Cancel(t) => Some(*t),
            _ => None,
        })
        .collect()
}

fn whole(len: u64) -> Outcome {
    Outcome::Got {
        len,
        total: Some(len),
        whole: true,
    }
}

#[test]
fn fetches_ahead_in_order_within_the_window() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(4, 6, false), segs(20));
    let a = starts(&p.poll(t0));
    assert_eq!(a.iter().map(|f| f.seg).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert!(a.iter().all(|f| f.range.is_none()), "no splitting: {a:?}");
    for f in &a {
        p.finished(f.task, whole(1000), t0);
    }
    let b = starts(&p.poll(t0));
    assert_eq!(b.iter().map(|f| f.seg).collect::<Vec<_>>(), [4, 5]);
    for f in &b {
        p.finished(f.task, whole(1000), t0);
    }
    assert!(starts(&p.poll(t0)).is_empty(), "the window ends at 6");
    // The player goes on to 1, then 2: the window slides, the segment behind the last is dropped.
    p.request(1);
    let c = p.poll(t0);
    assert_eq!(starts(&c).iter().map(|f| f.seg).collect::<Vec<_>>(), [6]);
    assert!(!c.iter().any(|a| matches!(a, Action::Drop(_))), "{c:?}");
    p.request(2);
    let d = p.poll(t0);
    assert!(d.contains(&Action::Drop("s0".into())), "{d:?}");
    assert_eq!(p.result(1), Some(Ok(1000)), "one kept behind");
    assert_eq!(p.result(0), None);
}

#[test]
fn a_seek_refocuses_at_once() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(4, 6, false), segs(40));
    let a = starts(&p.poll(t0));
    p.finished(a[0].task, whole(1000), t0);
    let b = starts(&p.poll(t0));
    assert_eq!(b.iter().map(|f| f.seg).collect::<Vec<_>>(), [4]);
    // Segments 1..=4 are in flight; the player jumps to 30.
    p.request(30);
    let c = p.poll(t0);
    let mut cancelled = cancels(&c);
    cancelled.sort();
    let mut want: Vec<TaskId> = a[1..].iter().chain(&b).map(|f| f.task).collect();
    want.sort();
    assert_eq!(
        cancelled, want,
        "every fetch behind the new focus is abandoned"
    );
    assert!(c.contains(&Action::Drop("s0".into())), "{c:?}");
    assert_eq!(
        starts(&c).iter().map(|f| f.seg).collect::<Vec<_>>(),
        [30, 31, 32, 33]
    );
    assert_eq!(p.running(), 4);
    // A stale fetch reporting late changes nothing.
    assert_eq!(p.finished(a[1].task, whole(1000), t0), None);
    assert_eq!(p.running(), 4);
}

#[test]
fn the_byte_bound_limits_the_window() {
    let t0 = Instant::now();
    let mut c = cfg(8, 20, false);
    c.max_bytes = 3500;
    let mut p = SegPlanner::new(c, segs(20));
    let a = starts(&p.poll(t0));
    // Sizes unknown: estimated as first_piece (100) each, so eight start.
    assert_eq!(a.len(), 8);
    for f in &a {
        p.finished(f.task, whole(1000), t0);
    }
    // 1000 bytes each: 3 fit in 3500 bytes besides nothing else... the focus and two more.
    assert!(starts(&p.poll(t0)).is_empty(), "8000 bytes held > 3500");
    p.request(5);
    let b = p.poll(t0);
    // Window from 5: 5, 6, 7 held (3000); the 8th would need an estimated 1000 more.
    assert!(starts(&b).is_empty(), "{b:?}");
    p.request(7);
    let c = starts(&p.poll(t0));
    assert_eq!(c.iter().map(|f| f.seg).collect::<Vec<_>>(), [8, 9]);
    let (held, _) = p.held();
    assert_eq!(held, 2000, "6 (behind) and 7 held, 8 and 9 not yet in");
}

#[test]
fn a_segment_is_split_over_the_connections() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(4, 1, true), segs(3));
    let a = starts(&p.poll(t0));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].range, Some((0, 100)));
    let got = |len, total| Outcome::Got {
        len,
        total: Some(total),
        whole: false,
    };
    assert_eq!(p.finished(a[0].task, got(100, 900), t0), None);
    let b = starts(&p.poll(t0));
    assert_eq!(
        b.iter().map(|f| f.range.unwrap()).collect::<Vec<_>>(),
        [(100, 300), (300, 500), (500, 700), (700, 900)]
    );
    for (k, f) in b.iter().enumerate() {
        let r = p.finished(f.task, got(200, 900), t0);
        assert_eq!(r, (k == 3).then_some(0));
    }
    assert_eq!(p.result(0), Some(Ok(900)));
    assert_eq!(p.held().0, 900);
    // A segment shorter than the first piece is done with its first answer.
    p.request(1);
    let c = starts(&p.poll(t0));
    assert_eq!(p.finished(c[0].task, got(40, 40), t0), Some(1));
    assert_eq!(p.result(1), Some(Ok(40)));
}

#[test]
fn an_origin_without_ranges_stops_the_splitting() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(4, 4, true), segs(6));
    let a = starts(&p.poll(t0));
    assert!(a.iter().all(|f| f.range == Some((0, 100))));
    assert_eq!(p.finished(a[0].task, whole(5000), t0), Some(0));
    p.request(1);
    let b = starts(&p.poll(t0));
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].seg, 4);
    assert_eq!(b[0].range, None, "whole requests from now on");
}

#[test]
fn byterange_segments_are_cut_at_once() {
    let t0 = Instant::now();
    let info = vec![SegInfo {
        key: "r0".into(),
        len: Some(350),
    }];
    let mut p = SegPlanner::new(cfg(2, 4, true), info);
    let a = starts(&p.poll(t0));
    assert_eq!(
        a.iter().map(|f| f.range.unwrap()).collect::<Vec<_>>(),
        [(0, 175), (175, 350)]
    );
}

#[test]
fn retries_back_off_then_fail_and_a_new_request_tries_again() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(1, 2, false), segs(2));
    let a = starts(&p.poll(t0));
    p.finished(a[0].task, Outcome::Retry("reset".into()), t0);
    assert_eq!(p.next_wakeup(t0), Some(t0 + Duration::from_millis(100)));
    // Until the backoff ends the one connection goes to the next segment.
    let b = starts(&p.poll(t0));
    assert_eq!(b.iter().map(|f| f.seg).collect::<Vec<_>>(), [1]);
    // Then the focus segment preempts it.
    let t1 = t0 + Duration::from_millis(100);
    let c = p.poll(t1);
    assert_eq!(cancels(&c), [b[0].task]);
    let c = starts(&c);
    assert_eq!(c[0].seg, 0);
    p.finished(c[0].task, Outcome::Retry("reset".into()), t1);
    let t2 = t1 + Duration::from_millis(200);
    let d = starts(&p.poll(t2));
    assert_eq!(d[0].seg, 0);
    p.finished(d[0].task, Outcome::Retry("reset".into()), t2);
    assert!(matches!(p.result(0), Some(Err(e)) if e.contains("3 times")));
    // Asked for again: a fresh try.
    p.request(0);
    let e = starts(&p.poll(t2));
    assert!(e.iter().any(|f| f.seg == 0), "{e:?}");
}

#[test]
fn a_segment_that_changes_is_fetched_again_once_then_fails() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(2, 1, true), segs(1));
    let got = |len, total| Outcome::Got {
        len,
        total: Some(total),
        whole: false,
    };
    let a = starts(&p.poll(t0));
    p.finished(a[0].task, got(100, 300), t0);
    let b = starts(&p.poll(t0));
    assert_eq!(b.len(), 2);
    p.finished(b[0].task, Outcome::Changed("size 300, now 400".into()), t0);
    let c = p.poll(t0);
    assert!(c.contains(&Action::Drop("s0".into())), "{c:?}");
    assert_eq!(cancels(&c), [b[1].task]);
    let c = starts(&c);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].range, Some((0, 100)), "from scratch, size unknown");
    assert_eq!(p.held().0, 0, "no bytes of the old version kept");
    p.finished(c[0].task, got(100, 400), t0);
    let d = starts(&p.poll(t0));
    p.finished(d[0].task, Outcome::Changed("size 400, now 300".into()), t0);
    assert!(matches!(p.result(0), Some(Err(e)) if e.contains("changed")));
}

#[test]
fn a_new_playlist_keeps_the_segments_still_listed() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(2, 3, false), segs(3));
    let a = starts(&p.poll(t0));
    p.finished(a[0].task, whole(10), t0);
    p.request(1);
    // A live reload: s0 is gone, s3 and s4 are new.
    let info: Vec<SegInfo> = (1..5)
        .map(|i| SegInfo {
            key: format!("s{i}"),
            len: None,
        })
        .collect();
    p.set_segments(info);
    assert_eq!(p.focus(), 0, "the focus follows s1");
    assert_eq!(p.running(), 1, "s1 still in flight");
    p.finished(a[1].task, whole(10), t0);
    assert_eq!(p.result(0), Some(Ok(10)));
    let b = p.poll(t0);
    assert!(b.contains(&Action::Drop("s0".into())), "{b:?}");
    assert_eq!(starts(&b).iter().map(|f| f.seg).collect::<Vec<_>>(), [1, 2]);
}

proptest! {
    /// Whatever the player does and however fetches end: never more than `connections` in
    /// flight, nothing started, fetched or held outside the window (and the one kept behind).
    #[test]
    fn bounds_hold(ops in proptest::collection::vec((0u8..4, 0usize..50, 1u64..2000), 1..200)) {
        let mut c = cfg(3, 5, true);
        c.max_bytes = 3000;
        let mut p = SegPlanner::new(c.clone(), segs(50));
        let mut now = Instant::now();
        let mut running: Vec<Fetch> = Vec::new();
        for (op, x, len) in ops {
            match op {
                0 => p.request(x),
                1 if !running.is_empty() => {
                    let f = running.remove(x % running.len());
                    let want = f.range.map_or(len, |(a, b)| b - a);
                    let total = f.range.map(|(a, b)| if a == 0 && b == c.first_piece { len.max(b) } else { 0 });
                    let out = match total {
                        Some(0) | None => Outcome::Got { len: want, total: None, whole: f.range.is_none() },
                        Some(t) => Outcome::Got { len: want.min(t), total: Some(t), whole: false },
                    };
                    p.finished(f.task, out, now);
                }
                2 if !running.is_empty() => {
                    let f = running.remove(x % running.len());
                    p.finished(f.task, Outcome::Retry("x".into()), now);
                }
                _ => now += Duration::from_millis(len),
            }
            let focus = p.focus();
            for a in p.poll(now) {
                match a {
                    Action::Start(f) => {
                        // The one behind the focus may go on (its fetch had started).
                        prop_assert!(f.seg + c.keep_behind >= focus && f.seg < focus + c.max_ahead, "{f:?} focus {focus}");
                        running.push(f);
                    }
                    Action::Cancel(t) => running.retain(|f| f.task != t),
                    Action::Drop(_) => {}
                }
            }
            prop_assert!(p.running() <= c.connections);
            prop_assert_eq!(p.running(), running.len());
            // Nothing is held or fetched outside the window (and the one kept behind), and the
            // held count is the sum of what is held.
            let lo = focus.saturating_sub(c.keep_behind);
            let mut sum = 0;
            for (i, s) in p.segs.iter().enumerate() {
                match s {
                    Seg::Idle | Seg::Failed(_) => {}
                    Seg::Done { len } => {
                        prop_assert!(i >= lo && i < focus + c.max_ahead, "{i} held, focus {focus}");
                        sum += len;
                    }
                    Seg::Fetching { pieces, total, .. } => {
                        prop_assert!(i >= lo && i < focus + c.max_ahead, "{i} fetching, focus {focus}");
                        sum += pieces.iter().filter(|p| p.st == PieceSt::Done).map(|p| piece_len(p, *total)).sum::<u64>();
                    }
                }
            }
            prop_assert_eq!(p.held().0, sum);
        }
    }
}

#[test]
fn a_waited_for_segment_takes_connections_from_fetches_ahead() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(4, 6, true), segs(10));
    p.request(0);
    let a = starts(&p.poll(t0));
    assert_eq!(a.iter().map(|f| f.seg).collect::<Vec<_>>(), [0, 1, 2, 3]);
    // Segment 0's first answer tells its size: its other pieces go out at once, on the
    // connections of the first pieces of 3, 2 and 1 (furthest first).
    p.sized(a[0].task, 900);
    let b = p.poll(t0);
    assert_eq!(cancels(&b), [a[3].task, a[2].task, a[1].task]);
    let b = starts(&b);
    assert!(b.iter().all(|f| f.seg == 0), "{b:?}");
    assert_eq!(b.len(), 3);
    assert_eq!(p.running(), 4);
    // Without a waiter (prefetch only) nothing is taken.
    let mut q = SegPlanner::new(cfg(4, 6, true), segs(10));
    let a = starts(&q.poll(t0));
    q.sized(a[0].task, 900);
    assert!(cancels(&q.poll(t0)).is_empty());
}

#[test]
fn a_smaller_share_takes_back_the_fetches_furthest_ahead() {
    let t0 = Instant::now();
    let mut p = SegPlanner::new(cfg(4, 12, false), segs(40));
    let a = starts(&p.poll(t0));
    assert_eq!(a.iter().map(|f| f.seg).collect::<Vec<_>>(), [0, 1, 2, 3]);
    // Another playlist now takes half: the two furthest ahead are cancelled, none started.
    p.set_share(2, 1 << 30);
    let b = p.poll(t0);
    let mut cancelled = cancels(&b);
    cancelled.sort();
    assert_eq!(cancelled, [a[2].task, a[3].task], "{b:?}");
    assert!(starts(&b).is_empty(), "{b:?}");
    assert_eq!(p.running(), 2);
    for f in &a[..2] {
        p.finished(f.task, whole(1000), t0);
    }
    let c = starts(&p.poll(t0));
    assert_eq!(
        c.iter().map(|f| f.seg).collect::<Vec<_>>(),
        [2, 3],
        "the taken-back ones come again first"
    );
    assert_eq!(c.len(), 2, "two connections now: {c:?}");
    assert_eq!(p.running(), 2);
    // And the window is three segments per connection: 0..6 in all.
    for f in &c {
        p.finished(f.task, whole(1000), t0);
    }
    let d = starts(&p.poll(t0));
    for f in &d {
        p.finished(f.task, whole(1000), t0);
    }
    assert!(starts(&p.poll(t0)).is_empty(), "the window ends at 6");
    assert_eq!(p.result(5), Some(Ok(1000)));
    assert_eq!(p.result(6), None);
    // The other playlist went away: the whole share again.
    p.set_share(4, 1 << 30);
    assert_eq!(starts(&p.poll(t0)).len(), 4);
}
