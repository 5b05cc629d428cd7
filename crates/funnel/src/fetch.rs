//! One fetch: a range request for an [`Assignment`], its bytes fed to the planner as they arrive.
//! Every outcome goes back to the planner (done, retry with the bytes kept, busy, fatal), with
//! one log line for anything that went wrong.

use crate::origin::error_chain;
use crate::planner::{Assignment, Failure, Flow};
use crate::shared::Shared;
use http::header;
use std::sync::Arc;
use std::time::Instant;

/// Runs one assignment to its end and reports the outcome to the planner.
pub(crate) async fn run(shared: Arc<Shared>, a: Assignment) {
    let outcome = fetch(&shared, &a).await;
    let now = Instant::now();
    {
        let mut st = shared.lock();
        match outcome {
            Ok(()) => st.planner.on_eof(a.task, now),
            Err(f) => {
                match &f {
                    Failure::Retry(m) => {
                        tracing::warn!(
                            start = a.start,
                            end = a.end,
                            "piece failed, will retry: {m}"
                        )
                    }
                    Failure::Busy { retry_after, msg } => {
                        tracing::warn!(?retry_after, "origin busy ({msg}): backing off")
                    }
                    Failure::Fatal(e) => tracing::error!(start = a.start, end = a.end, "{e}"),
                }
                st.planner.on_fail(a.task, f, now);
            }
        }
    }
    shared.task_done(a.task);
    shared.data.notify_waiters();
    shared.sched.notify_one();
}

async fn fetch(shared: &Shared, a: &Assignment) -> Result<(), Failure> {
    let o = &shared.origin;
    let mut req = shared
        .client
        .get(o.url.clone())
        .header(header::RANGE, format!("bytes={}-{}", a.start, a.end - 1));
    if let Some(v) = o.if_range() {
        req = req.header(header::IF_RANGE, v.clone());
    }
    let stall = shared.stall_timeout;
    let mut resp = tokio::time::timeout(stall, req.send())
        .await
        .map_err(|_| Failure::Retry(format!("no answer within {stall:?}")))?
        .map_err(|e| Failure::Retry(error_chain(&e)))?;
    o.check_piece(resp.status(), resp.headers(), a.start)?;
    loop {
        let chunk = tokio::time::timeout(stall, resp.chunk())
            .await
            .map_err(|_| Failure::Retry(format!("stalled: no bytes for {stall:?}")))?
            .map_err(|e| Failure::Retry(error_chain(&e)))?;
        let Some(bytes) = chunk else {
            return Ok(());
        };
        // Copy into an exact-size buffer: a slice of the client's read buffer would keep the
        // whole buffer alive while we hold it, so held bytes would understate memory.
        let bytes = bytes::Bytes::copy_from_slice(&bytes);
        let flow = shared.lock().planner.on_data(a.task, bytes);
        shared.data.notify_waiters();
        if flow == Flow::Stop {
            return Ok(());
        }
    }
}
