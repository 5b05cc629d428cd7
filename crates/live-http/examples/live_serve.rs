//! Serves only the live routes: a stand-in for `homestream serve --live`
//! used by the benchmark while the full binary is being written.
//!
//! `cargo run --release -p homestream-live-http --example live_serve -- --bind 127.0.0.1:8090 --live demo=test:1280x720@30`

use clap::Parser;
use homestream_live::{LiveOptions, LiveRegistry, LiveSpec};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: String,
    /// NAME=SOURCE (repeatable).
    #[arg(long = "live", required = true)]
    live: Vec<LiveSpec>,
    /// Seconds a source stays open without viewers.
    #[arg(long, default_value_t = 10)]
    grace: u64,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n);
    }
    rt.enable_all().build()?.block_on(async move {
        let reg = LiveRegistry::start_with(
            &args.live,
            LiveOptions {
                grace: Duration::from_secs(args.grace),
            },
        )?;
        let listener = tokio::net::TcpListener::bind(&args.bind).await?;
        println!("listening on http://{}", listener.local_addr()?);
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| homestream_live::net::tune_stream_socket(tcp));
        axum::serve(listener, homestream_live_http::router(&reg))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}
