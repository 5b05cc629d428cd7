//! `homestream download URL.m3u8`: every segment of an HLS playlist fetched in parallel
//! (`connections` at a time, written in playlist order), AES-128 segments decrypted (RFC 8216
//! 5.2), init sections (EXT-X-MAP) written before the fragments that use them, byte-range
//! segments fetched with `Range`. The file is MPEG-TS segments concatenated, or fMP4
//! (init + fragments); `-o x.mp4` for TS segments remuxes with ffmpeg.
//!
//! Fetching is [`crate::hls_fetch`]'s: a window of segments ahead of the one written next,
//! bounded by the engine's budget, segments split into ranges over every connection.
//! Resume: the sidecar `FILE.homestream-hls` records the playlist URL, the number of segments
//! written and the bytes they took; a second run truncates to that and goes on.

use crate::download::{DownloadOptions, DownloadReport};
use crate::error::{Error, Result};
use crate::hls_fetch::{SegFetcher, Source};
use crate::hls_plan::SegConfig;
use crate::m3u8::{self, ByteRange, Key, Playlist};
use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Master -> media nesting allowed (a master names media playlists; nothing nests deeper).
const MAX_DEPTH: usize = 3;
/// Largest playlist text read.
pub(crate) const MAX_PLAYLIST: usize = 64 << 20;

/// Is this a playlist URL (by its path), so that `download` takes the HLS way?
pub fn looks_like_playlist(url: &str) -> bool {
    reqwest::Url::parse(url)
        .map(|u| u.path().to_ascii_lowercase().ends_with(".m3u8"))
        .unwrap_or(false)
}

/// One thing to fetch and append, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub url: reqwest::Url,
    pub range: Option<ByteRange>,
    /// AES-128 key URL and IV.
    pub key: Option<(reqwest::Url, [u8; 16])>,
}

/// Turns a media playlist (fetched from `base`) into the ordered jobs: each init section once,
/// before the first segment that uses it, then the segments. Sans-IO.
pub fn plan(media: &m3u8::Media, base: &reqwest::Url) -> Result<Vec<Job>> {
    let join = |u: &str| {
        base.join(u)
            .map_err(|e| Error::Protocol(format!("bad URI {u:?} in the playlist: {e}")))
    };
    let mut jobs = Vec::with_capacity(media.segments.len() + 1);
    let mut last_map = None;
    for s in &media.segments {
        let key = match &s.key {
            Key::None => None,
            Key::Aes128 { uri, iv } => Some((join(uri)?, *iv)),
        };
        if let Some(m) = &s.map
            && s.map != last_map
        {
            // An init section is encrypted with the segment's key when one applies (4.3.2.5).
            jobs.push(Job {
                url: join(&m.uri)?,
                range: m.range,
                key: key.clone(),
            });
            last_map = s.map.clone();
        }
        jobs.push(Job {
            url: join(&s.uri)?,
            range: s.range,
            key,
        });
    }
    Ok(jobs)
}

async fn get_text(client: &reqwest::Client, url: &reqwest::Url) -> Result<(String, reqwest::Url)> {
    let r = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| Error::Http(crate::origin::error_chain(&e)))?;
    if !r.status().is_success() {
        return Err(Error::Status {
            status: r.status().as_u16(),
            what: format!("GET {url}"),
        });
    }
    if r.content_length().unwrap_or(0) > MAX_PLAYLIST as u64 {
        return Err(Error::Protocol(format!("the playlist {url} is too large")));
    }
    let base = r.url().clone();
    let b = r
        .bytes()
        .await
        .map_err(|e| Error::Http(crate::origin::error_chain(&e)))?;
    if b.len() > MAX_PLAYLIST {
        return Err(Error::Protocol(format!("the playlist {url} is too large")));
    }
    Ok((String::from_utf8_lossy(&b).into_owned(), base))
}

/// Fetches the playlist at `url` and follows a master playlist to the chosen variant.
pub async fn resolve(
    client: &reqwest::Client,
    url: &str,
    choice: m3u8::Choice,
) -> Result<(m3u8::Media, reqwest::Url)> {
    let mut url =
        reqwest::Url::parse(url).map_err(|e| Error::Usage(format!("bad URL {url:?}: {e}")))?;
    let mut seen = vec![url.clone()];
    for _ in 0..MAX_DEPTH {
        let (text, base) = get_text(client, &url).await?;
        match m3u8::parse(&text)? {
            Playlist::Media(m) => {
                if m.segments.is_empty() {
                    return Err(Error::Protocol(format!(
                        "the playlist {url} names no segments"
                    )));
                }
                return Ok((m, base));
            }
            Playlist::Master(v) => {
                let pick = m3u8::choose(&v, choice).expect("a master has variants");
                tracing::info!(bandwidth = pick.bandwidth, "variant {}", pick.uri);
                let next = base
                    .join(&pick.uri)
                    .map_err(|e| Error::Protocol(format!("bad variant URI: {e}")))?;
                if seen.contains(&next) {
                    return Err(Error::Protocol(format!(
                        "the playlist {next} names itself (a loop)"
                    )));
                }
                seen.push(next.clone());
                url = next;
            }
        }
    }
    Err(Error::Protocol(format!(
        "playlists nest deeper than {MAX_DEPTH} levels"
    )))
}

type KeyCell = Arc<OnceCell<std::result::Result<[u8; 16], String>>>;

/// AES-128 keys by URL, each fetched once. Key bytes are never logged.
#[derive(Default)]
struct Keys(Mutex<HashMap<reqwest::Url, KeyCell>>);

impl Keys {
    async fn get(&self, client: &reqwest::Client, url: &reqwest::Url) -> Result<[u8; 16]> {
        let cell = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(url.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let r = client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| crate::origin::error_chain(&e))?;
            if !r.status().is_success() {
                return Err(format!("origin answered {}", r.status()));
            }
            let b = r.bytes().await.map_err(|e| e.to_string())?;
            <[u8; 16]>::try_from(&b[..]).map_err(|_| format!("{} bytes, not 16", b.len()))
        })
        .await
        .clone()
        .map_err(|e| Error::Protocol(format!("the AES-128 key {url} could not be fetched: {e}")))
    }
}

/// Decrypts one AES-128 segment (CBC, PKCS#7).
pub fn decrypt(key: &[u8; 16], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>> {
    let mut buf = data.to_vec();
    let n = cbc::Decryptor::<aes::Aes128>::new(key.into(), iv.into())
        .decrypt_padded::<Pkcs7>(&mut buf)
        .map_err(|_| {
            Error::Protocol("an AES-128 segment does not decrypt (wrong key or truncated)".into())
        })?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// The resume sidecar of an HLS download.
fn sidecar(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".homestream-hls");
    PathBuf::from(s)
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct Progress {
    url: String,
    jobs: usize,
    done: usize,
    bytes: u64,
}

fn wants_remux(out: &Path, fmp4: bool) -> bool {
    !fmp4
        && out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("mp4") || e.eq_ignore_ascii_case("m4v"))
}

/// Downloads the HLS playlist `opts.url` to `opts.output`.
pub async fn download(
    client: reqwest::Client,
    opts: &DownloadOptions,
    cancel: impl Future<Output = ()>,
) -> Result<DownloadReport> {
    tokio::pin!(cancel);
    let (media, base) = resolve(&client, &opts.url, opts.variant).await?;
    if !media.ended {
        tracing::warn!(
            "a live playlist: downloading the {} segments it lists now",
            media.segments.len()
        );
    }
    let jobs = plan(&media, &base)?;
    let remux = wants_remux(&opts.output, media.is_fmp4());
    if remux
        && std::process::Command::new("ffmpeg")
            .arg("-version")
            .output()
            .is_err()
    {
        return Err(Error::Usage(
            "writing MPEG-TS segments to .mp4 needs ffmpeg on PATH (or use -o FILE.ts)".into(),
        ));
    }
    // With a remux the segments go to FILE.ts-part first.
    let target = if remux {
        let mut s = opts.output.as_os_str().to_owned();
        s.push(".ts-part");
        PathBuf::from(s)
    } else {
        opts.output.clone()
    };
    let side = sidecar(&opts.output);
    let mut state = Progress {
        url: opts.url.clone(),
        jobs: jobs.len(),
        done: 0,
        bytes: 0,
    };
    if let Some(p) = std::fs::read(&side)
        .ok()
        .and_then(|b| serde_json::from_slice::<Progress>(&b).ok())
        && p.url == state.url
        && p.jobs == state.jobs
        && std::fs::metadata(&target).is_ok_and(|m| m.len() >= p.bytes)
    {
        tracing::info!(
            "resuming: {} of {} segments already on disk",
            p.done,
            p.jobs
        );
        state = p;
    }
    let resumed = state.bytes;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&target)
        .map_err(|e| Error::io(format!("opening {}", target.display()), e))?;
    file.set_len(state.bytes)
        .map_err(|e| Error::io(format!("sizing {}", target.display()), e))?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))
        .map_err(|e| Error::io(format!("seeking {}", target.display()), e))?;
    // Written beside and renamed over: a process killed mid-write leaves the old record or the
    // new one, never a torn one. A record behind the file (killed between writing a segment
    // and recording it) is safe too: the file is cut back to what the record says.
    let side_tmp = {
        let mut s = side.as_os_str().to_owned();
        s.push(".tmp");
        PathBuf::from(s)
    };
    let save = |st: &Progress| {
        let b = serde_json::to_vec(st).unwrap_or_default();
        std::fs::write(&side_tmp, b)
            .and_then(|()| std::fs::rename(&side_tmp, &side))
            .map_err(|e| Error::io(format!("writing {}", side.display()), e))
    };
    save(&state)?;

    let pb = if opts.progress {
        let pb = ProgressBar::new(jobs.len() as u64);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} segments {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    } else {
        ProgressBar::hidden()
    };
    pb.set_position(state.done as u64);
    let keys = Keys::default();
    let stall = opts.engine.stall_timeout;
    let conns = opts.engine.plan.connections.max(1);
    // The window ahead of the segment written next: what the engine's budget allows, many
    // segments deep, so every connection stays busy; segments split into ranges (the last ones
    // of the playlist too, so the tail runs on every connection).
    let cfg = SegConfig {
        connections: conns,
        max_ahead: 8 * conns,
        max_bytes: opts.engine.plan.budget(),
        keep_behind: 0,
        ..SegConfig::default()
    };
    let todo = &jobs[state.done..];
    let srcs = todo
        .iter()
        .map(|j| Source {
            url: j.url.clone(),
            range: j.range,
        })
        .collect();
    let fetcher = SegFetcher::new(client.clone(), cfg, srcs, stall);
    let result: Result<()> = async {
        for (n, job) in todo.iter().enumerate() {
            let got = tokio::select! {
                _ = cancel.as_mut() => return Err(Error::Cancelled),
                r = fetcher.get(n) => r,
            };
            let b = got
                .map_err(|e| Error::Http(format!("segment {}: {e}", job.url)))?
                .bytes;
            fetcher.advance(n);
            let b: Bytes = match &job.key {
                None => b,
                Some((k, iv)) => {
                    let key = keys.get(&client, k).await?;
                    decrypt(&key, iv, &b)?.into()
                }
            };
            file.write_all(&b)
                .map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
            state.done += 1;
            state.bytes += b.len() as u64;
            pb.set_position(state.done as u64);
            pb.set_message(format!("{:.1} MB", state.bytes as f64 / 1e6));
            save(&state)?;
        }
        Ok(())
    }
    .await;
    drop(fetcher);
    let _ = file.sync_all();
    if let Err(e) = result {
        pb.abandon();
        return Err(e);
    }
    pb.finish_and_clear();
    drop(file);
    let size = if remux {
        let st = tokio::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "mpegts", "-i"])
            .arg(&target)
            .args(["-c", "copy", "-f", "mp4"])
            .arg(&opts.output)
            .status()
            .await
            .map_err(|e| Error::io("running ffmpeg", e))?;
        if !st.success() {
            return Err(Error::Protocol(format!(
                "ffmpeg could not remux the segments to MP4 ({st}); they are kept in {}",
                target.display()
            )));
        }
        let _ = std::fs::remove_file(&target);
        std::fs::metadata(&opts.output)
            .map(|m| m.len())
            .map_err(|e| Error::io(format!("reading {}", opts.output.display()), e))?
    } else {
        state.bytes
    };
    let _ = std::fs::remove_file(&side);
    Ok(DownloadReport {
        size,
        resumed,
        sha256: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockModeEncrypt;

    #[test]
    fn plan_writes_each_init_once_and_resolves_keys() {
        let base = reqwest::Url::parse("http://o.example/v/i.m3u8").unwrap();
        let m3u8::Playlist::Media(m) = m3u8::parse(
            "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"/k\"\n#EXT-X-MAP:URI=\"init.mp4\"\n\
             #EXTINF:2,\na.m4s\n#EXTINF:2,\nb.m4s\n#EXT-X-MAP:URI=\"init2.mp4\"\n#EXTINF:2,\nc.m4s\n",
        )
        .unwrap() else {
            panic!()
        };
        let jobs = plan(&m, &base).unwrap();
        let urls: Vec<&str> = jobs.iter().map(|j| j.url.path()).collect();
        assert_eq!(
            urls,
            [
                "/v/init.mp4",
                "/v/a.m4s",
                "/v/b.m4s",
                "/v/init2.mp4",
                "/v/c.m4s"
            ]
        );
        assert_eq!(
            jobs[2].key.as_ref().unwrap().0.as_str(),
            "http://o.example/k"
        );
        assert_eq!(jobs[2].key.as_ref().unwrap().1, 1u128.to_be_bytes());
    }

    #[test]
    fn aes_128_round_trip_and_a_wrong_key() {
        let key = [7u8; 16];
        let iv = 3u128.to_be_bytes();
        let plain: Vec<u8> = (0..1000u32).map(|i| (i * 31) as u8).collect();
        let mut buf = plain.clone();
        buf.resize(1008, 0);
        let n = cbc::Encryptor::<aes::Aes128>::new(&key.into(), &iv.into())
            .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
            .unwrap()
            .len();
        buf.truncate(n);
        assert_eq!(decrypt(&key, &iv, &buf).unwrap(), plain);
        assert!(decrypt(&[8u8; 16], &iv, &buf).is_err());
        assert!(decrypt(&key, &iv, &buf[..100]).is_err(), "truncated");
    }
}
