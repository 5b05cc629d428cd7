//! The command-line arguments every load client in examples/ shares.

// How many viewers, how long, and which server processes are measured (a plain comment: a doc
// comment here would become every client's --help text).
#[derive(clap::Args)]
pub struct LoadArgs {
    /// Concurrent viewers.
    pub viewers: usize,
    /// Seconds to wait after everyone has joined before measuring.
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    pub secs: f64,
    /// Server process ids whose CPU time and RSS are measured over the window (comma list).
    #[arg(long, value_delimiter = ',')]
    pub pids: Vec<u32>,
}
