//! Shared helpers: the test origin and a funnel started on 127.0.0.1:0.

#![allow(dead_code)]

pub mod origin;

use homestream_funnel::engine::EngineConfig;
use homestream_funnel::planner::PlanConfig;
use homestream_funnel::server::{FunnelState, prepare, router};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Small sizes so tests exercise many pieces quickly.
pub fn cfg(connections: usize, piece: u64, block: u64, max_blocks: u64) -> EngineConfig {
    EngineConfig {
        plan: PlanConfig {
            connections,
            piece_size: piece,
            block_size: block,
            max_blocks,
            backoff_base: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            split_after: Duration::from_millis(200),
            ..PlanConfig::default()
        },
        stall_timeout: Duration::from_millis(500),
    }
}

pub struct Funnel {
    pub addr: SocketAddr,
    pub state: Arc<FunnelState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Funnel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Funnel {
    pub async fn start(url: &str, cfg: EngineConfig) -> Funnel {
        let client = homestream_funnel::client::build_client(&Default::default()).unwrap();
        Self::start_with(client, url, cfg)
            .await
            .expect("funnel starts")
    }

    pub async fn start_with(
        client: reqwest::Client,
        url: &str,
        cfg: EngineConfig,
    ) -> homestream_funnel::Result<Funnel> {
        let state = prepare(client, url, cfg).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Funnel { addr, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

/// A player-side client (no pooling surprises: each request may open its own connection).
pub fn player() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}
