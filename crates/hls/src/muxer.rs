//! The LL-HLS muxer of one stream: fragments in, parts, segments and playlists out.
//! Sans-IO: the shell feeds it fragments and init segments, asks it for playlists and
//! resources, and does the waiting that [`Decision::Wait`] and [`Lookup::Pending`] ask for.

use crate::blocking::{self, Decision, Directive};
use crate::config::Config;
use crate::error::HlsError;
use crate::names::Name;
use crate::playlist::MediaPlaylist;
use crate::segmenter::{Chunk, Pushed, Segmenter};
use crate::store::{Lookup, Store};
use bytes::Bytes;
use std::time::Duration;

/// One muxer run.
#[derive(Debug)]
pub struct Muxer {
    cfg: Config,
    store: Store,
    segmenter: Segmenter,
}

impl Muxer {
    /// A muxer whose resource names carry `run` (random per run, see [`crate::names`]) and
    /// whose first segment is `first_msn`.
    pub fn new(cfg: Config, run: u32, first_msn: u64) -> Result<Muxer, HlsError> {
        cfg.check()?;
        Ok(Muxer {
            store: Store::new(run, first_msn, &cfg),
            cfg,
            segmenter: Segmenter::default(),
        })
    }

    /// Its settings.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Its run token.
    pub fn run(&self) -> u32 {
        self.store.run
    }

    /// The stored media (read-only).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Makes init segment `generation` known; fragments of a generation are taken only after.
    pub fn set_init(&mut self, generation: u32, bytes: Bytes) {
        self.store.set_init(generation, bytes);
    }

    /// Takes one fragment.
    pub fn push(&mut self, chunk: Chunk) -> Pushed {
        self.segmenter.push(&self.cfg, &mut self.store, chunk)
    }

    /// The playlist now (`None` before the first segment is complete).
    pub fn playlist(&self) -> Option<MediaPlaylist> {
        self.store.playlist(&self.cfg)
    }

    /// Whether a playlist request that has waited `waited` can be answered.
    pub fn decide(&self, d: Directive, waited: Duration) -> Decision {
        blocking::decide(&self.cfg, &self.store, d, waited)
    }

    /// A resource by name.
    pub fn lookup(&self, name: Name) -> Lookup {
        self.store.lookup(name)
    }
}
