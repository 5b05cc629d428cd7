//! Planner tests: the whole scheduling logic driven by hand, no sockets, no clocks.

// One wanted range per reader is the planner API, not a mistaken `vec![a..b]`.
#![allow(clippy::single_range_in_vec_init)]

use super::*;

fn cfg() -> PlanConfig {
    PlanConfig {
        connections: 4,
        piece_size: 100,
        block_size: 200,
        max_blocks: 2,
        min_split: 10,
        split_after: Duration::from_millis(100),
        max_attempts: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(80),
        max_busy: 3,
    }
}

/// The origin's byte at `i`.
fn b(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 8)) as u8
}

fn data(r: Range<u64>) -> Bytes {
    r.map(b).collect::<Vec<u8>>().into()
}

fn read_all(p: &mut Planner, r: ReaderId) -> Vec<u8> {
    let mut out = Vec::new();
    while let Read::Data { bytes, .. } = p.read(r) {
        out.extend_from_slice(&bytes);
    }
    out
}

#[test]
fn cuts_range_into_pieces_within_connections() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (r, cancel) = p.open(vec![50..1000], true, None);
    assert!(cancel.is_empty());
    let a = p.poll(t0);
    // 4 connections; budget 400 bytes reserved -> exactly 4 pieces of 100.
    assert_eq!(
        a.iter().map(|a| (a.start, a.end)).collect::<Vec<_>>(),
        vec![(50, 150), (150, 250), (250, 350), (350, 450)]
    );
    assert_eq!(p.read(r), Read::Pending);
}

#[test]
fn streams_bytes_as_they_arrive_in_order() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (r, _) = p.open(vec![0..300], true, None);
    let a = p.poll(t0);
    // Second piece arrives first: nothing for the reader yet.
    assert_eq!(p.on_data(a[1].task, data(100..200)), Flow::Stop);
    assert_eq!(p.read(r), Read::Pending);
    // Ten bytes of the head piece: handed out at once, before the piece completes.
    assert_eq!(p.on_data(a[0].task, data(0..10)), Flow::Continue);
    assert_eq!(
        p.read(r),
        Read::Data {
            offset: 0,
            bytes: data(0..10)
        }
    );
    assert_eq!(p.read(r), Read::Pending);
    assert_eq!(p.on_data(a[0].task, data(10..100)), Flow::Stop);
    assert_eq!(p.on_data(a[2].task, data(200..300)), Flow::Stop);
    let got = read_all(&mut p, r);
    assert_eq!(got, data(10..300).to_vec());
    assert_eq!(p.read(r), Read::Eof);
    assert_eq!(p.held(), 0);
}

#[test]
fn memory_budget_is_backpressure() {
    let mut c = cfg();
    c.connections = 16;
    let mut p = Planner::new(c);
    let t0 = Instant::now();
    let (r, _) = p.open(vec![0..10_000], true, None);
    let a = p.poll(t0);
    assert_eq!(a.len(), 4, "budget 400 bytes = 4 pieces");
    for x in &a {
        p.on_data(x.task, data(x.start..x.end));
    }
    assert!(p.poll(t0).is_empty(), "nothing read: no new piece");
    assert_eq!(
        p.read(r),
        Read::Data {
            offset: 0,
            bytes: data(0..100)
        }
    );
    let a2 = p.poll(t0);
    assert_eq!(a2.len(), 1);
    assert_eq!((a2[0].start, a2[0].end), (400, 500));
    assert!(p.peak_held() <= 400);
}

#[test]
fn retry_resumes_from_received_bytes_with_backoff() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (r, _) = p.open(vec![0..100], true, None);
    let a = p.poll(t0);
    p.on_data(a[0].task, data(0..30));
    p.on_fail(a[0].task, Failure::Retry("reset".into()), t0);
    assert!(p.poll(t0).is_empty(), "backoff not over");
    let wake = p.next_wakeup(t0).expect("a wakeup for the retry");
    assert!(wake > t0 && wake <= t0 + Duration::from_millis(10));
    let a2 = p.poll(wake);
    assert_eq!((a2[0].start, a2[0].end), (30, 100));
    // A truncated body (eof early) is a retry too.
    p.on_data(a2[0].task, data(30..60));
    p.on_eof(a2[0].task, wake);
    let a3 = p.poll(wake + Duration::from_secs(1));
    assert_eq!((a3[0].start, a3[0].end), (60, 100));
    p.on_data(a3[0].task, data(60..100));
    assert_eq!(read_all(&mut p, r), data(0..100).to_vec());
    assert_eq!(p.read(r), Read::Eof);
}

#[test]
fn gives_up_after_attempts_without_progress() {
    let mut p = Planner::new(cfg());
    let mut now = Instant::now();
    let (r, _) = p.open(vec![0..100], true, None);
    for _ in 0..3 {
        let a = p.poll(now);
        assert_eq!(a.len(), 1);
        p.on_fail(a[0].task, Failure::Retry("HTTP 500".into()), now);
        now += Duration::from_secs(1);
    }
    match p.read(r) {
        Read::Failed(Error::GaveUp {
            start, end, last, ..
        }) => {
            assert_eq!((start, end), (0, 100));
            assert_eq!(last, "HTTP 500");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
    assert!(p.poll(now).is_empty());
}

#[test]
fn busy_pauses_every_new_request() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (_r, _) = p.open(vec![0..1000], true, None);
    let a = p.poll(t0);
    p.on_fail(
        a[0].task,
        Failure::Busy {
            retry_after: Some(Duration::from_secs(2)),
            msg: "503".into(),
        },
        t0,
    );
    // One connection is free, but the origin asked us to wait.
    assert!(p.poll(t0 + Duration::from_secs(1)).is_empty());
    assert_eq!(p.next_wakeup(t0), Some(t0 + Duration::from_secs(2)));
    let a2 = p.poll(t0 + Duration::from_secs(2));
    assert_eq!((a2[0].start, a2[0].end), (0, 100));
}

#[test]
fn fatal_error_reaches_every_reader() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (r1, _) = p.open(vec![0..1000], true, None);
    let (r2, _) = p.open(vec![500..1000], true, None);
    let a = p.poll(t0);
    let changed = Error::OriginChanged("ETag \"a\" became \"b\"".into());
    p.on_fail(a[0].task, Failure::Fatal(changed.clone()), t0);
    assert_eq!(p.read(r1), Read::Failed(changed.clone()));
    assert_eq!(p.read(r2), Read::Failed(changed));
    assert_eq!(p.drain_tasks_on_fatal().len(), a.len() - 1);
}

#[test]
fn seek_preempts_and_starts_at_new_offset() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (r1, _) = p.open(vec![0..10_000], true, None);
    let a = p.poll(t0);
    assert_eq!(a.len(), 4);
    p.on_data(a[2].task, data(200..210));
    let (r2, mut cancel) = p.open(vec![5_555..10_000], true, None);
    // The old reader's look-ahead is cancelled (its head piece stays) and its bytes freed.
    cancel.sort();
    assert_eq!(cancel, vec![a[1].task, a[2].task, a[3].task]);
    assert_eq!(p.held(), 0);
    assert_eq!(
        p.on_data(a[3].task, data(300..310)),
        Flow::Stop,
        "cancelled task is stale"
    );
    let a2 = p.poll(t0);
    assert_eq!(a2.len(), 3);
    assert_eq!((a2[0].start, a2[0].end), (5_555, 5_655));
    // Bytes of the new offset flow at once.
    p.on_data(a2[0].task, data(5_555..5_560));
    assert_eq!(
        p.read(r2),
        Read::Data {
            offset: 5_555,
            bytes: data(5_555..5_560)
        }
    );
    // The old reader still gets its bytes, re-planned after the new one.
    p.on_data(a[0].task, data(0..100));
    assert_eq!(read_all(&mut p, r1), data(0..100).to_vec());
    // Closing it cancels its fetches and frees its bytes.
    let cancelled = p.close(r1);
    assert!(cancelled.len() <= 1);
    assert_eq!(p.held(), 0);
    assert_eq!(p.on_data(a[0].task, data(50..60)), Flow::Stop);
}

#[test]
fn slow_piece_is_resplit_when_connections_idle() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (r, _) = p.open(vec![0..200], false, None);
    let a = p.poll(t0);
    assert_eq!(a.len(), 2);
    // Piece 2 is fast, piece 1 is slow.
    p.on_data(a[1].task, data(100..200));
    p.on_data(a[0].task, data(0..10));
    assert!(p.poll(t0).is_empty(), "too early to judge the rate");
    let t1 = t0 + Duration::from_millis(200);
    let a2 = p.poll(t1);
    // Remaining 10..100 is split in half: the new fetch takes 55..100.
    assert_eq!(a2.len(), 1);
    assert_eq!((a2[0].start, a2[0].end), (55, 100));
    // The slow fetch stops at the split point.
    assert_eq!(p.on_data(a[0].task, data(10..60)), Flow::Stop);
    p.on_data(a2[0].task, data(55..100));
    let mut got = vec![0u8; 200];
    while let Read::Data { offset, bytes } = p.read(r) {
        got[offset as usize..offset as usize + bytes.len()].copy_from_slice(&bytes);
    }
    assert_eq!(got, data(0..200).to_vec());
    assert_eq!(p.read(r), Read::Eof);
}

#[test]
fn unordered_reader_gets_any_piece_and_multiple_ranges() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (r, _) = p.open(vec![0..50, 300..350], false, None);
    let a = p.poll(t0);
    assert_eq!(
        a.iter().map(|a| (a.start, a.end)).collect::<Vec<_>>(),
        vec![(0, 50), (300, 350)]
    );
    p.on_data(a[1].task, data(300..350));
    assert_eq!(
        p.read(r),
        Read::Data {
            offset: 300,
            bytes: data(300..350)
        }
    );
    assert_eq!(p.read(r), Read::Pending, "a piece is still in flight");
    p.on_data(a[0].task, data(0..50));
    assert!(matches!(p.read(r), Read::Data { offset: 0, .. }));
    assert_eq!(p.read(r), Read::Eof);
}

#[test]
fn prefill_serves_without_fetching() {
    let mut p = Planner::new(cfg());
    let t0 = Instant::now();
    let (r, _) = p.open(vec![900..1000], true, Some(data(900..1000)));
    assert!(p.poll(t0).is_empty());
    assert_eq!(read_all(&mut p, r), data(900..1000).to_vec());
    assert_eq!(p.read(r), Read::Eof);
    // Partial prefill: the rest is fetched.
    let (r2, _) = p.open(vec![900..1100], true, Some(data(900..1000)));
    let a = p.poll(t0);
    assert_eq!((a[0].start, a[0].end), (1000, 1100));
    p.on_data(a[0].task, data(1000..1100));
    assert_eq!(read_all(&mut p, r2), data(900..1100).to_vec());
}

#[test]
fn empty_range_is_eof() {
    let mut p = Planner::new(cfg());
    let (r, _) = p.open(vec![10..10], true, None);
    assert_eq!(p.read(r), Read::Eof);
}

/// A random-ish schedule of arrivals, failures and splits always yields the exact bytes.
#[test]
fn randomized_schedule_delivers_exact_bytes() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _round in 0..50 {
        let mut c = cfg();
        c.max_attempts = 1000;
        let mut p = Planner::new(c);
        let mut now = Instant::now();
        let start = rnd() % 500;
        let end = start + 1 + rnd() % 3000;
        let (r, _) = p.open(vec![start..end], true, None);
        let mut running: Vec<(TaskId, u64, u64)> = Vec::new();
        let mut out = Vec::new();
        for _step in 0..100_000 {
            for a in p.poll(now) {
                running.push((a.task, a.start, a.end));
            }
            if !running.is_empty() {
                let i = (rnd() as usize) % running.len();
                let (t, s, e) = running[i];
                match rnd() % 10 {
                    0 => {
                        p.on_fail(t, Failure::Retry("x".into()), now);
                        running.swap_remove(i);
                    }
                    _ => {
                        let n = 1 + rnd() % 40;
                        let stop = (s + n).min(e);
                        let flow = p.on_data(t, data(s..stop));
                        if flow == Flow::Stop || stop == e {
                            running.swap_remove(i);
                            if stop == e && flow == Flow::Continue {
                                p.on_eof(t, now);
                            }
                        } else {
                            running[i].1 = stop;
                        }
                    }
                }
            }
            while let Read::Data { offset, bytes } = p.read(r) {
                assert_eq!(offset, start + out.len() as u64);
                out.extend_from_slice(&bytes);
            }
            if p.read(r) == Read::Eof {
                break;
            }
            now += Duration::from_millis(7);
        }
        assert_eq!(out, data(start..end).to_vec());
        assert!(p.peak_held() <= p.config().budget() + p.config().piece_size);
    }
}
