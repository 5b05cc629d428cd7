//! Files the browser cannot play: a cheap probe decides whether a file goes out as it is, is
//! remuxed into fMP4, or has the streams the browser cannot decode transcoded; the last two
//! are an HLS VOD playlist whose segments ffmpeg makes on demand from wherever the viewer
//! seeks. Posters and embedded text subtitles come from the same tools.
//!
//! Sans-IO cores: [`probe`] (ffprobe's output), [`plan`] (the decision), [`playlist`] (the
//! segment grid and its playlist), [`cutter`] (ffmpeg's fMP4 into segments), [`args`] (command
//! lines). The shells: [`jobs`] (the bounded ffmpeg pool), [`cache`] (the cache folder),
//! [`Transcoder`] (what the server calls).

pub mod args;
pub mod cache;
pub mod cutter;
mod error;
pub mod jobs;
pub mod plan;
pub mod playlist;
pub mod probe;
pub mod tools;

pub use cache::FileKey;
pub use error::Error;
pub use plan::{AudioOut, Caps, HlsPlan, NoPlan, Plan, VideoOut};
pub use probe::Probe;

use cache::Cache;
use jobs::{JobSpec, Jobs};
use playlist::Grid;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tools::{Tools, run};

/// How the transcoder is set up.
#[derive(Debug, Clone)]
pub struct TranscodeConfig {
    /// ffmpeg's path (`--ffmpeg`); `None`: from PATH.
    pub ffmpeg: Option<PathBuf>,
    /// The cache folder (segments, posters, subtitles).
    pub cache_dir: PathBuf,
    /// The cache's cap in bytes.
    pub cache_cap_bytes: u64,
    /// At most this many segment jobs at once; `None`: one per core.
    pub max_jobs: Option<usize>,
}

/// Default cache cap: 4 GiB.
pub const DEFAULT_CACHE_CAP: u64 = 4 << 30;
/// Probes remembered in memory; cleared whole when full.
const PROBES_MAX: usize = 20_000;
const PROBE_LIMIT: Duration = Duration::from_secs(30);
/// A keyframe scan reads the whole file.
const KEYFRAME_LIMIT: Duration = Duration::from_secs(300);
const SUBTITLE_LIMIT: Duration = Duration::from_secs(300);
const POSTER_LIMIT: Duration = Duration::from_secs(30);
/// Posters made at once (a folder page asks for many).
const POSTER_JOBS: usize = 2;

/// The grid and first keyframe of a stream, once worked out.
type Grids = HashMap<(FileKey, HlsPlan), (Arc<Grid>, f64)>;

/// The transcoder the server holds when ffmpeg is present.
#[derive(Debug)]
pub struct Transcoder {
    tools: Tools,
    cache: Arc<Cache>,
    jobs: Arc<Jobs>,
    probes: Mutex<HashMap<FileKey, Arc<Probe>>>,
    grids: Mutex<Grids>,
    posters: tokio::sync::Semaphore,
}

/// What `/api/play` answers for a file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlayInfo {
    pub plan: Plan,
    /// `direct`, `remux` or `transcode`.
    pub mode: &'static str,
    /// The plan's URL segment, for HLS.
    pub key: Option<String>,
    pub duration_secs: Option<f64>,
    pub audio_tracks: Vec<Track>,
    /// Embedded text subtitle streams.
    pub subtitles: Vec<Track>,
}

/// An audio or subtitle stream, as the page offers it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Track {
    pub index: u32,
    pub label: String,
    pub language: Option<String>,
    pub codec: String,
    pub default: bool,
}

impl Transcoder {
    /// Finds ffmpeg and makes the cache folder. Fails (with what is missing) when ffmpeg or
    /// ffprobe do not run.
    pub fn new(cfg: &TranscodeConfig) -> Result<Transcoder, Error> {
        let tools = Tools::find(cfg.ffmpeg.as_deref())?;
        let cache = Arc::new(Cache::new(cfg.cache_dir.clone(), cfg.cache_cap_bytes)?);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let max = cfg.max_jobs.unwrap_or(cores);
        Ok(Transcoder {
            jobs: Arc::new(Jobs::new(tools.ffmpeg.clone(), Arc::clone(&cache), max)),
            tools,
            cache,
            probes: Mutex::new(HashMap::new()),
            grids: Mutex::new(HashMap::new()),
            posters: tokio::sync::Semaphore::new(POSTER_JOBS),
        })
    }

    /// The file's version and what it holds; probed once per version.
    pub async fn probe(&self, path: &Path) -> Result<(FileKey, Arc<Probe>), Error> {
        if !path.is_absolute() {
            // ffprobe takes its input as a bare argument: a relative name could be an option.
            return Err(Error::Missing("file"));
        }
        let key = FileKey::of(path)?;
        if let Some(p) = self.lock_probes().get(&key) {
            return Ok((key, Arc::clone(p)));
        }
        let out = run(
            "ffprobe",
            &self.tools.ffprobe,
            &args::probe(path),
            path,
            PROBE_LIMIT,
        )
        .await?;
        let probe = Arc::new(probe::parse_probe(&out)?);
        let mut probes = self.lock_probes();
        if probes.len() >= PROBES_MAX {
            probes.clear();
        }
        probes.insert(key.clone(), Arc::clone(&probe));
        Ok((key, probe))
    }

    fn lock_probes(&self) -> std::sync::MutexGuard<'_, HashMap<FileKey, Arc<Probe>>> {
        self.probes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How `path` (called `name`) plays in a browser with `caps`, on audio stream `audio`.
    pub async fn play(
        &self,
        path: &Path,
        name: &str,
        caps: &Caps,
        audio: Option<u32>,
    ) -> Result<PlayInfo, Error> {
        let (_, probe) = self.probe(path).await?;
        let plan = plan::decide(&probe, name, caps, audio).map_err(|e| match e {
            NoPlan::NoVideo => Error::Missing("video stream"),
            NoPlan::NoSuchAudio(_) => Error::Missing("audio track"),
        })?;
        let label = |s: &probe::Stream, n: usize, what: &str| {
            let mut l = s
                .title
                .clone()
                .or(s.language.clone())
                .unwrap_or_else(|| format!("{what} {n}"));
            if s.kind == probe::Kind::Audio {
                l = format!("{l} ({})", s.codec);
            }
            l
        };
        let track = |(n, s): (usize, &probe::Stream), what: &str| Track {
            index: s.index,
            label: label(s, n + 1, what),
            language: s.language.clone(),
            codec: s.codec.clone(),
            default: s.default,
        };
        Ok(PlayInfo {
            mode: match &plan {
                Plan::Direct => "direct",
                Plan::Hls(h) => h.mode(),
            },
            key: match &plan {
                Plan::Direct => None,
                Plan::Hls(h) => Some(h.key()),
            },
            plan,
            duration_secs: probe.duration_secs,
            audio_tracks: probe
                .audio()
                .enumerate()
                .map(|t| track(t, "Track"))
                .collect(),
            subtitles: probe
                .text_subtitles()
                .enumerate()
                .map(|t| track(t, "Subtitles"))
                .collect(),
        })
    }

    /// The job description of `plan` on `path`: probe, grid, command line.
    async fn spec(&self, path: &Path, plan: HlsPlan) -> Result<JobSpec, Error> {
        let (key, probe) = self.probe(path).await?;
        let video = probe.video().ok_or(Error::Missing("video stream"))?.index;
        if let Some((i, _)) = plan.audio
            && probe.stream(i).is_none_or(|s| s.kind != probe::Kind::Audio)
        {
            return Err(Error::Missing("audio track"));
        }
        let duration = probe.duration_secs.ok_or(Error::Missing("duration"))?;
        let known = self
            .grids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(key.clone(), plan))
            .cloned();
        let (grid, origin) = match known {
            Some(g) => g,
            None => {
                let g = match plan.video {
                    // Re-encoded: the grid counts from the container's start.
                    VideoOut::H264 => (Arc::new(Grid::fixed(duration)), probe.start_secs),
                    // Copied: from the first keyframe, cut at keyframes.
                    VideoOut::Copy => {
                        // Finding them reads every packet of the file (0.3-0.5 GB/s from the
                        // page cache here): kept with the file version's segments, so that
                        // only its first play ever waits for it, not one after a restart.
                        let name = format!("keyframes-{video}.csv");
                        let csv = match self.cache.get(&key, &name) {
                            Some(b) => b,
                            None => {
                                let csv = run(
                                    "ffprobe",
                                    &self.tools.ffprobe,
                                    &args::keyframes(path, video),
                                    path,
                                    KEYFRAME_LIMIT,
                                )
                                .await?;
                                if let Err(e) = self.cache.put(&key, &name, &csv) {
                                    tracing::warn!(target: "homestream::transcode", "{e}");
                                }
                                csv
                            }
                        };
                        let k = probe::parse_keyframes(&csv);
                        if k.times.is_empty() {
                            return Err(Error::Tool {
                                tool: "ffprobe",
                                path: path.to_path_buf(),
                                message: "no keyframe in the video stream".into(),
                            });
                        }
                        let rest = duration - (k.first - probe.start_secs);
                        (Arc::new(Grid::from_keyframes(&k.times, rest)), k.first)
                    }
                };
                let mut grids = self.grids.lock().unwrap_or_else(|p| p.into_inner());
                if grids.len() >= PROBES_MAX {
                    grids.clear();
                }
                grids.insert((key.clone(), plan), g.clone());
                g
            }
        };
        let input = path.to_path_buf();
        let adts = plan
            .audio
            .and_then(|(i, _)| probe.stream(i))
            .is_some_and(|s| s.codec == "aac");
        let start = probe.start_secs;
        let starts = Arc::clone(&grid);
        Ok(JobSpec {
            file: key,
            plan,
            grid,
            args: Arc::new(move |i| {
                let at = starts.start(i).unwrap_or(0.0);
                // -ss counts from the container's start; the grid from `origin`.
                let seek = (i > 0).then_some(at + origin - start);
                args::segment(&input, video, plan, seek, adts)
            }),
        })
    }

    /// The HLS playlist of `plan` on `path`.
    pub async fn playlist(&self, path: &Path, plan: HlsPlan) -> Result<String, Error> {
        Ok(self.spec(path, plan).await?.grid.playlist())
    }

    /// The init segment of `plan` on `path`.
    pub async fn init(&self, path: &Path, plan: HlsPlan) -> Result<Vec<u8>, Error> {
        let spec = self.spec(path, plan).await?;
        self.jobs.init(&spec).await
    }

    /// Segment `index` of `plan` on `path`.
    pub async fn segment(
        &self,
        path: &Path,
        plan: HlsPlan,
        index: usize,
    ) -> Result<Vec<u8>, Error> {
        let spec = self.spec(path, plan).await?;
        self.jobs.segment(&spec, index).await
    }

    /// A JPEG from about 10 % into the video, made once per file version.
    pub async fn poster(&self, path: &Path) -> Result<Vec<u8>, Error> {
        let (key, probe) = self.probe(path).await?;
        if let Some(b) = self.cache.get(&key, "poster.jpg") {
            return Ok(b);
        }
        let video = probe.video().ok_or(Error::Missing("video stream"))?.index;
        let _slot = self
            .posters
            .acquire()
            .await
            .map_err(|_| Error::Busy(POSTER_JOBS))?;
        if let Some(b) = self.cache.get(&key, "poster.jpg") {
            return Ok(b); // made while this one waited
        }
        let at = probe.duration_secs.map_or(0.0, |d| d * 0.1);
        let jpeg = run(
            "ffmpeg",
            &self.tools.ffmpeg,
            &args::poster(path, video, at),
            path,
            POSTER_LIMIT,
        )
        .await?;
        if jpeg.len() < 4 || jpeg[..2] != [0xFF, 0xD8] {
            return Err(Error::Tool {
                tool: "ffmpeg",
                path: path.to_path_buf(),
                message: "no frame for a poster".into(),
            });
        }
        self.cache.put(&key, "poster.jpg", &jpeg)?;
        Ok(jpeg)
    }

    /// An embedded text subtitle stream as WebVTT, made once per file version.
    pub async fn subtitle(&self, path: &Path, stream: u32) -> Result<Vec<u8>, Error> {
        let (key, probe) = self.probe(path).await?;
        if !probe.text_subtitles().any(|s| s.index == stream) {
            return Err(Error::Missing("subtitle track"));
        }
        let name = format!("sub{stream}.vtt");
        if let Some(b) = self.cache.get(&key, &name) {
            return Ok(b);
        }
        let vtt = run(
            "ffmpeg",
            &self.tools.ffmpeg,
            &args::subtitle(path, stream),
            path,
            SUBTITLE_LIMIT,
        )
        .await?;
        self.cache.put(&key, &name, &vtt)?;
        Ok(vtt)
    }

    /// For `/api/status`.
    pub fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "ffmpeg": self.tools.ffmpeg,
            "max_jobs": self.jobs.max(),
            "running": self.jobs.running(),
            "jobs": self.jobs.status(),
        })
    }

    /// Stops every job (the server is stopping).
    pub fn stop_all(&self) {
        self.jobs.stop_all();
    }
}
