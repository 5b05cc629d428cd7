//! HLS through the funnel (RFC 8216): the playlist is rewritten so every URI (segments, variant
//! playlists, `URI="..."` attributes of EXT-X-KEY/EXT-X-MAP/EXT-X-MEDIA) points at this server,
//! and the media segments of the media playlists served last are prefetched ahead of the one the
//! player asks for ([`crate::hls_plan`]: a window bounded in count and bytes, refocused at once
//! by a seek, segments split into ranges over `connections` connections). A player reads up to
//! [`PREFETCHED_PLAYLISTS`] at once (a video variant and an audio rendition of `EXT-X-MEDIA`):
//! each gets its own window, and they share the connections and the bytes. Init sections, keys
//! and anything else a playlist names are fetched when asked for, kept in a small cache of at
//! most `budget` bytes (the oldest entry is dropped).
//!
//! **Playlists are never cached**: each request for one goes to the origin, so a live playlist
//! (no EXT-X-ENDLIST) is exactly as fresh as the player's own reloads, which RFC 8216 6.3.4 times
//! (after the target duration; half of it when the playlist did not change), and never older
//! than its target duration. Each reload hands the segment list to the prefetcher, which keeps
//! what it has of the segments still listed and forgets the rest.
//!
//! **What the funnel fetches.** Only the playlist URL it was started with and the URLs named by
//! the playlists it has itself served: each such URL gets a number when its playlist is rewritten
//! ([`Allowed`], at most [`ALLOWED_CAP`] of them or twice the longest playlist served, the oldest
//! forgotten first), and the player asks
//! for `/hls/<number>/<last path segment>`, e.g. `/hls/7/seg000.ts` (ffmpeg and mpv refuse a
//! segment whose URL does not end in a media extension). Any other path under `/hls/` is refused
//! with 403 and a log line: whoever can reach the funnel cannot make it fetch another address, and
//! the user's `-H`/`--cookie` headers go only to these URLs (redirects to another host are refused
//! by the client, see [`crate::client`]). A playlist URI that is not http(s), or carries a user
//! name or password, is never numbered and is left as it stands.
//!
//! Playlists are not parsed into a typed model (`m3u8-rs` was considered): rewriting needs only
//! RFC 8216 section 4.1's line split (URI lines, tags, comments) and the one `URI="..."` attribute
//! a tag may carry, and this way every tag we do not know (LL-HLS parts, vendor tags) passes
//! through byte for byte, which a parse-and-write round trip does not promise.

use crate::hls_download::MAX_PLAYLIST;
use crate::hls_fetch::{SegFetcher, Source};
use crate::hls_plan::SegConfig;
use crate::m3u8::MAX_SEGMENTS;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use percent_encoding::percent_decode_str;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// A fetched segment: bytes, content type, and the origin's Content-Range for a ranged one.
type Loaded = (Bytes, Option<HeaderValue>, Option<HeaderValue>);
type Cell = Arc<OnceCell<Result<Loaded, String>>>;

/// The cache key of a segment: its URL, plus `\n` and the `Range` value for an
/// EXT-X-BYTERANGE segment (RFC 8216 4.3.2.2: many segments share one URL).
fn key(url: &str, range: Option<&str>) -> String {
    match range {
        Some(r) => format!("{url}\n{r}"),
        None => url.to_owned(),
    }
}

/// How many playlist-named URLs are remembered (a live playlist names new segments on every
/// reload; the oldest are forgotten first, and a player is long past them by then).
pub const ALLOWED_CAP: usize = 4096;

/// HLS state: the playlist URL, the URLs its playlists named, the prefetcher and the cache.
pub struct Hls {
    client: reqwest::Client,
    url: reqwest::Url,
    seg: SegConfig,
    stall: Duration,
    budget: u64,
    inner: Mutex<Inner>,
}

/// Media playlists prefetched at once; the least recently served beyond it is let go (a
/// player that switched variants has left it).
pub const PREFETCHED_PLAYLISTS: usize = 2;

#[derive(Default)]
struct Inner {
    /// The media segments of the media playlists served last, by playlist URL, the most
    /// recently served first; each prefetched with its share of connections and bytes.
    fetchers: VecDeque<(String, Arc<SegFetcher>)>,
    cache: VecDeque<(String, Cell)>,
    allowed: Allowed,
}

/// The segment a cache key names (see [`key`]).
fn source(key: &str) -> Option<Source> {
    let (url, range) = match key.split_once('\n') {
        Some((u, r)) => (u, Some(r)),
        None => (key, None),
    };
    let range = match range {
        None => None,
        Some(r) => {
            let (a, b) = r.strip_prefix("bytes=")?.split_once('-')?;
            let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
            (b >= a)
                .then_some(crate::m3u8::ByteRange {
                    offset: a,
                    len: b - a + 1,
                })?
                .into()
        }
    };
    Some(Source {
        url: reqwest::Url::parse(url).ok()?,
        range,
    })
}

/// One URL a served playlist named.
#[derive(Debug, Clone)]
struct Entry {
    url: reqwest::Url,
    /// The last path segment, as it appears (percent-encoded) in the local URI.
    name: String,
    /// A playlist (rewritten when served) rather than media bytes.
    playlist: bool,
}

/// The bounded set of URLs the funnel may fetch besides its own playlist URL, by number.
#[derive(Debug)]
pub struct Allowed {
    by_id: HashMap<u64, Entry>,
    by_url: HashMap<String, u64>,
    order: VecDeque<u64>,
    next: u64,
    cap: usize,
}

impl Default for Allowed {
    fn default() -> Self {
        Allowed::with_cap(ALLOWED_CAP)
    }
}

impl Allowed {
    /// An empty set that remembers at most `cap` URLs.
    pub fn with_cap(cap: usize) -> Self {
        Allowed {
            by_id: HashMap::new(),
            by_url: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
            cap: cap.max(1),
        }
    }

    /// Numbers `url` (again the same number if it is already known) and returns its local path,
    /// or `None` for a URL the funnel never fetches (not http(s), user name or password, no host).
    pub fn admit(&mut self, url: &reqwest::Url, playlist: bool) -> Option<String> {
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
            || url.host_str().is_none_or(str::is_empty)
        {
            return None;
        }
        let key = url.as_str();
        let id = match self.by_url.get(key) {
            Some(id) => *id,
            None => {
                let id = self.next;
                self.next += 1;
                let name = url
                    .path_segments()
                    .and_then(|mut s| s.next_back())
                    .filter(|s| !s.is_empty())
                    .unwrap_or(if playlist { "index.m3u8" } else { "media" })
                    .to_owned();
                self.by_id.insert(
                    id,
                    Entry {
                        url: url.clone(),
                        name,
                        playlist,
                    },
                );
                self.by_url.insert(key.to_owned(), id);
                self.order.push_back(id);
                while self.order.len() > self.cap {
                    if let Some(old) = self.order.pop_front()
                        && let Some(e) = self.by_id.remove(&old)
                    {
                        self.by_url.remove(e.url.as_str());
                    }
                }
                id
            }
        };
        Some(format!("/hls/{id}/{}", self.by_id[&id].name))
    }

    /// Remembers at least `n` URLs from now on (never fewer than it did).
    pub fn hold_at_least(&mut self, n: usize) {
        self.cap = self.cap.max(n);
    }

    /// The entry for a request path below `/hls/` (`<number>/<name>`, percent-decoded).
    fn lookup(&self, rest: &str) -> Option<&Entry> {
        let (id, name) = rest.split_once('/')?;
        let e = self.by_id.get(&id.parse::<u64>().ok()?)?;
        (percent_decode_str(&e.name).decode_utf8().ok()? == name).then_some(e)
    }

    /// How many URLs are remembered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Nothing remembered yet.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// Is this URL (or content type) an HLS playlist?
pub fn is_playlist(url: &reqwest::Url, content_type: Option<&HeaderValue>) -> bool {
    let ct = content_type
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    url.path().to_ascii_lowercase().ends_with(".m3u8") || ct.contains("mpegurl")
}

/// Tags whose `URI="..."` names a playlist (RFC 8216 4.3.4.1, 4.3.4.3).
const PLAYLIST_URI_TAGS: [&str; 2] = ["EXT-X-MEDIA:", "EXT-X-I-FRAME-STREAM-INF:"];

/// Rewrites a playlist fetched from `base`, numbering every URI it names in `allowed`. Returns
/// the text and the media (not playlist) segments in order (cache keys: URL, and the range of
/// an EXT-X-BYTERANGE segment).
pub fn rewrite(text: &str, base: &reqwest::Url, allowed: &mut Allowed) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len() * 2);
    let mut media = Vec::new();
    // The URI line after EXT-X-STREAM-INF is a variant playlist (RFC 8216 4.3.4.2).
    let mut variant_next = false;
    // EXT-X-BYTERANGE before the next URI line, and where the last range of a URI ended.
    let mut pending_range: Option<String> = None;
    let mut last_end: Option<(String, u64)> = None;
    let mut admit = |u: &str, playlist_tag: bool| {
        let abs = base.join(u.trim()).ok()?;
        let playlist = playlist_tag || is_playlist(&abs, None);
        let local = allowed.admit(&abs, playlist);
        if local.is_none() {
            tracing::warn!(uri = %abs, "playlist URI left as it is: the funnel fetches only http(s) URLs without a user name or password");
        }
        Some((local?, abs, playlist))
    };
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            out.push('\n');
            continue;
        }
        if let Some(tag) = t.strip_prefix('#') {
            if tag.starts_with("EXT-X-STREAM-INF:") {
                variant_next = true;
            }
            if let Some(r) = tag.strip_prefix("EXT-X-BYTERANGE:") {
                pending_range = Some(r.trim().to_owned());
            }
            // Rewrite the URI="..." attribute inside a tag.
            let playlist_tag = PLAYLIST_URI_TAGS.iter().any(|p| tag.starts_with(p));
            if let Some(i) = tag.find("URI=\"")
                && let Some(j) = tag[i + 5..].find('"')
                && let Some((local, _, _)) = admit(&tag[i + 5..i + 5 + j], playlist_tag)
            {
                out.push('#');
                out.push_str(&tag[..i + 5]);
                out.push_str(&local);
                out.push_str(&tag[i + 5 + j..]);
            } else {
                out.push_str(t);
            }
        } else {
            match admit(t, std::mem::take(&mut variant_next)) {
                Some((local, abs, playlist)) => {
                    out.push_str(&local);
                    if !playlist {
                        let a = abs.to_string();
                        let range = pending_range.take().and_then(|r| {
                            let prev = last_end.as_ref().filter(|(u, _)| *u == a).map(|e| e.1);
                            let br = crate::m3u8::parse_range(&r, prev).ok()?;
                            last_end = Some((a.clone(), br.offset + br.len));
                            Some(br.header())
                        });
                        media.push(key(&a, range.as_deref()));
                    }
                }
                None => out.push_str(t),
            }
        }
        out.push('\n');
    }
    (out, media)
}

impl Hls {
    /// `connections` fetches at once; the prefetch window holds at most `budget` bytes and
    /// three segments per connection; a fetch whose origin sends nothing for `stall` is retried.
    pub fn new(
        client: reqwest::Client,
        url: reqwest::Url,
        connections: usize,
        budget: u64,
        stall: Duration,
    ) -> Self {
        let connections = connections.max(1);
        Hls {
            client,
            url,
            seg: SegConfig {
                connections,
                max_ahead: 3 * connections,
                max_bytes: budget,
                ..SegConfig::default()
            },
            stall,
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Requests the prefetcher started so far (0 before a media playlist was served).
    pub fn segment_requests(&self) -> u64 {
        self.lock().fetchers.iter().map(|(_, f)| f.started()).sum()
    }

    /// Segment fetches running now, over every prefetched playlist.
    pub fn fetches_running(&self) -> usize {
        self.lock().fetchers.iter().map(|(_, f)| f.running()).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many playlist-named URLs the funnel would fetch now.
    pub fn allowed_len(&self) -> usize {
        self.lock().allowed.len()
    }

    async fn fetch_playlist(&self, url: &reqwest::Url) -> Response {
        let r = match self.client.get(url.clone()).send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => return bad_gateway(format!("playlist: origin answered {}", r.status())),
            Err(e) => {
                return bad_gateway(format!("playlist: {}", crate::origin::error_chain(&e)));
            }
        };
        let base = r.url().clone();
        let too_large = || bad_gateway(format!("playlist: larger than {MAX_PLAYLIST} bytes"));
        if r.content_length().unwrap_or(0) > MAX_PLAYLIST as u64 {
            return too_large();
        }
        let text = match r.bytes().await {
            Ok(b) if b.len() > MAX_PLAYLIST => return too_large(),
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return bad_gateway(format!("playlist body: {e}")),
        };
        // Every URI of one playlist must stay numbered while it is played: the set grows to
        // twice the longest playlist served (a VOD of hours has thousands of segments), within
        // the same bound `download` has.
        let uris = text
            .lines()
            .filter(|l| {
                let l = l.trim();
                (!l.is_empty() && !l.starts_with('#')) || l.contains("URI=\"")
            })
            .count();
        if uris > MAX_SEGMENTS {
            return bad_gateway(format!(
                "playlist: it names {uris} URIs, more than {MAX_SEGMENTS}"
            ));
        }
        let (body, media) = {
            let mut g = self.lock();
            g.allowed.hold_at_least(2 * uris);
            let (body, media) = rewrite(&text, &base, &mut g.allowed);
            let srcs: Vec<Source> = media.iter().filter_map(|k| source(k)).collect();
            if !srcs.is_empty() {
                self.prefetch(&mut g, url.as_str(), srcs);
            }
            (body, media)
        };
        tracing::info!("GET hls playlist {url} -> 200 ({} media URIs)", media.len());
        (
            [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
            body,
        )
            .into_response()
    }

    /// Hands the segments of the media playlist `url` to its prefetcher. A playlist not yet
    /// prefetched gets one, after the least recently served beyond [`PREFETCHED_PLAYLISTS`] is
    /// let go and the others have given back their share of the connections and bytes (so the
    /// new fetches never come on top of the old ones).
    fn prefetch(&self, g: &mut Inner, url: &str, srcs: Vec<Source>) {
        if let Some(i) = g.fetchers.iter().position(|(u, _)| u == url) {
            let (u, f) = g.fetchers.remove(i).expect("position is in range");
            f.set_sources(srcs);
            g.fetchers.push_front((u, f));
            return;
        }
        // Dropping a fetcher cancels its fetches.
        g.fetchers.truncate(PREFETCHED_PLAYLISTS - 1);
        let (c, b) = self.share(g.fetchers.len() + 1);
        for (_, f) in &g.fetchers {
            f.set_share(c, b);
        }
        let mut cfg = self.seg.clone();
        cfg.connections = c;
        cfg.max_ahead = 3 * c;
        cfg.max_bytes = b;
        let f = SegFetcher::new(self.client.clone(), cfg, srcs, self.stall);
        g.fetchers.push_front((url.to_owned(), Arc::new(f)));
    }

    /// Each one's connections and bytes when `n` playlists are prefetched.
    fn share(&self, n: usize) -> (usize, u64) {
        let n = n.max(1);
        (
            (self.seg.connections / n).max(1),
            self.seg.max_bytes / n as u64,
        )
    }

    /// The rewritten top playlist.
    pub async fn playlist(&self) -> Response {
        let url = self.url.clone();
        self.fetch_playlist(&url).await
    }

    /// `GET /hls/<rest>` (`rest` percent-decoded): a URL a served playlist named, by number; a
    /// nested playlist comes back rewritten, a segment from the prefetch cache. Anything else is
    /// refused with 403.
    pub async fn get(self: &Arc<Self>, rest: &str, range: Option<&str>) -> Response {
        let Some(entry) = self.lock().allowed.lookup(rest).cloned() else {
            tracing::warn!(
                path = ?format!("/hls/{rest}"),
                "GET refused (403): not a URL named by a playlist this funnel served"
            );
            return (
                StatusCode::FORBIDDEN,
                "403 forbidden: the funnel fetches only its playlist and the URLs that playlist names\n",
            )
                .into_response();
        };
        if entry.playlist {
            return self.fetch_playlist(&entry.url).await;
        }
        let url = entry.url.to_string();
        // `bytes=0-` asks for the whole segment: a 200 with all of it answers that too (RFC 9110
        // 14.2), and it shares the prefetched copy.
        let range = range.filter(|r| r.trim() != "bytes=0-");
        let k = key(&url, range);
        let planned = self
            .lock()
            .fetchers
            .iter()
            .find_map(|(_, f)| Some((f.index_of(&k)?, f.clone())));
        let r = match planned {
            Some((i, f)) => f
                .get(i)
                .await
                .map(|l| (l.bytes, l.content_type, l.content_range)),
            None => {
                let cell = self.cell(&k);
                let client = self.client.clone();
                let r = cell.get_or_init(|| Hls::load(&client, &k)).await.clone();
                if r.is_err() {
                    // Requests waiting on this fetch share its failure; the next one tries again
                    // (a key or init section that failed once must not fail for good).
                    self.lock()
                        .cache
                        .retain(|(u, c)| !(*u == k && Arc::ptr_eq(c, &cell)));
                }
                r
            }
        };
        let status = match (&r, range) {
            (Err(_), _) => StatusCode::BAD_GATEWAY,
            (Ok(_), Some(_)) => StatusCode::PARTIAL_CONTENT,
            (Ok(_), None) => StatusCode::OK,
        };
        tracing::info!(
            "GET hls segment {url} range {} -> {}",
            range.unwrap_or("-"),
            status.as_u16()
        );
        match r {
            Ok((b, ct, cr)) => {
                let ct = ct.unwrap_or(HeaderValue::from_static("video/mp2t"));
                let mut resp =
                    (status, [(header::CONTENT_TYPE, ct)], Body::from(b)).into_response();
                if let Some(cr) = cr {
                    resp.headers_mut().insert(header::CONTENT_RANGE, cr);
                }
                resp
            }
            Err(e) => bad_gateway(format!("segment {url}: {e}")),
        }
    }

    fn cell(&self, url: &str) -> Cell {
        let mut g = self.lock();
        if let Some((_, c)) = g.cache.iter().find(|(u, _)| u == url) {
            return c.clone();
        }
        let c: Cell = Arc::new(OnceCell::new());
        g.cache.push_back((url.to_owned(), c.clone()));
        // Drop the oldest entries beyond the byte budget (unfinished entries count as 0).
        let mut total: u64 = g
            .cache
            .iter()
            .filter_map(|(_, c)| {
                c.get()
                    .and_then(|r| r.as_ref().ok())
                    .map(|b| b.0.len() as u64)
            })
            .sum();
        while total > self.budget && g.cache.len() > 1 {
            if let Some((_, old)) = g.cache.pop_front() {
                total -= old
                    .get()
                    .and_then(|r| r.as_ref().ok())
                    .map_or(0, |b| b.0.len() as u64);
            }
        }
        c
    }

    /// Fetches a segment by its cache key (see [`key`]).
    async fn load(client: &reqwest::Client, key: &str) -> Result<Loaded, String> {
        let (url, range) = match key.split_once('\n') {
            Some((u, r)) => (u, Some(r)),
            None => (key, None),
        };
        let mut req = client.get(url);
        if let Some(r) = range {
            req = req.header(header::RANGE, r);
        }
        let r = req
            .send()
            .await
            .map_err(|e| crate::origin::error_chain(&e))?;
        if !r.status().is_success() {
            return Err(format!("origin answered {}", r.status()));
        }
        if range.is_some() && r.status() != StatusCode::PARTIAL_CONTENT {
            return Err(format!(
                "origin answered {} to a byte-range request",
                r.status()
            ));
        }
        let ct = r.headers().get(header::CONTENT_TYPE).cloned();
        let cr = r.headers().get(header::CONTENT_RANGE).cloned();
        let want = r.content_length();
        let b = r.bytes().await.map_err(|e| e.to_string())?;
        if want.is_some_and(|w| w != b.len() as u64) {
            return Err(format!("the origin sent {} of {want:?} bytes", b.len()));
        }
        Ok((b, ct, cr))
    }
}

fn bad_gateway(msg: String) -> Response {
    tracing::error!("{msg}");
    (StatusCode::BAD_GATEWAY, format!("{msg}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn rewrites_every_uri_keeping_the_file_name() {
        let base = url("http://o.example/v/index.m3u8");
        let pl = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\n/abs/seg2.ts?tok=1\n#EXTINF:4,\nhttp://cdn.example/seg3.ts\n";
        let mut allowed = Allowed::default();
        let (out, media) = rewrite(pl, &base, &mut allowed);
        assert_eq!(
            media,
            vec![
                "http://o.example/v/seg1.ts",
                "http://o.example/abs/seg2.ts?tok=1",
                "http://cdn.example/seg3.ts"
            ]
        );
        assert_eq!(
            out,
            "#EXTM3U\n#EXT-X-MAP:URI=\"/hls/0/init.mp4\"\n#EXTINF:4,\n/hls/1/seg1.ts\n#EXTINF:4,\n/hls/2/seg2.ts\n#EXTINF:4,\n/hls/3/seg3.ts\n"
        );
        assert_eq!(allowed.len(), 4);
        // The same playlist again (a live reload) keeps the numbers.
        let (again, _) = rewrite(pl, &base, &mut allowed);
        assert_eq!(again, out);
        assert_eq!(
            allowed.lookup("2/seg2.ts").map(|e| e.url.as_str()),
            Some("http://o.example/abs/seg2.ts?tok=1")
        );
        assert!(allowed.lookup("2/other.ts").is_none(), "name must match");
        assert!(allowed.lookup("9/seg2.ts").is_none(), "unknown number");
    }

    #[test]
    fn variants_are_playlists_and_unfetchable_uris_stay_as_they_are() {
        let base = url("http://o.example/master.m3u8");
        let pl = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"audio/list\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhi/list\n#EXTINF:4,\nfile:///etc/passwd\n#EXTINF:4,\nhttp://user:pw@o.example/s.ts\n";
        let mut allowed = Allowed::default();
        let (out, media) = rewrite(pl, &base, &mut allowed);
        assert!(media.is_empty(), "{media:?}");
        assert!(out.contains("URI=\"/hls/0/list\""), "{out}");
        assert!(out.contains("\n/hls/1/list\n"), "{out}");
        assert!(out.contains("\nfile:///etc/passwd\n"), "{out}");
        assert!(out.contains("\nhttp://user:pw@o.example/s.ts\n"), "{out}");
        assert_eq!(allowed.len(), 2);
        assert!(allowed.lookup("0/list").unwrap().playlist);
        assert!(allowed.lookup("1/list").unwrap().playlist);
    }

    #[test]
    fn the_set_is_bounded() {
        let mut allowed = Allowed::with_cap(3);
        for i in 0..5 {
            let p = allowed.admit(&url(&format!("http://o.example/s{i}.ts")), false);
            assert_eq!(p.as_deref(), Some(format!("/hls/{i}/s{i}.ts").as_str()));
        }
        assert_eq!(allowed.len(), 3);
        assert!(allowed.lookup("1/s1.ts").is_none(), "oldest forgotten");
        assert!(allowed.lookup("4/s4.ts").is_some());
        // A forgotten URL named again gets a new number.
        assert_eq!(
            allowed
                .admit(&url("http://o.example/s0.ts"), false)
                .as_deref(),
            Some("/hls/5/s0.ts")
        );
    }
}
