// The library player: resume, keyboard shortcuts, next on end, and an honest message when the
// browser cannot play the file.
(() => {
  const v = document.getElementById('player');
  if (!v) return;
  const key = 'homestream:pos:' + v.dataset.key;
  const warn = document.getElementById('unsupported');
  const unsupported = () => { warn.hidden = false; };
  if (v.dataset.play) choose(v, unsupported);
  // Only a failed load says so: canPlayType answers '' for containers Chromium plays well
  // (video/quicktime), and 'maybe' for ones whose codec it then cannot decode.
  if (v.error) unsupported();
  v.addEventListener('error', unsupported);

  // Resume from the last position unless the file was (nearly) finished.
  v.addEventListener('loadedmetadata', () => {
    const saved = parseFloat(localStorage.getItem(key) || '');
    if (saved > 5 && saved < v.duration - 10) v.currentTime = saved;
  }, { once: true });
  let lastSave = 0;
  v.addEventListener('timeupdate', () => {
    const now = Date.now();
    if (now - lastSave > 3000) { lastSave = now; localStorage.setItem(key, String(v.currentTime)); }
  });
  v.addEventListener('ended', () => {
    localStorage.removeItem(key);
    const next = document.getElementById('next');
    if (next) location.href = next.href;
  });

  const seek = (d) => { v.currentTime = Math.max(0, Math.min((v.duration || 0), v.currentTime + d)); };
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const go = (id) => { const a = document.getElementById(id); if (a) location.href = a.href; };
    switch (e.key) {
      case ' ': case 'k': case 'K': v.paused ? v.play() : v.pause(); break;
      case 'ArrowLeft': seek(-5); break;
      case 'ArrowRight': seek(5); break;
      case 'j': case 'J': seek(-10); break;
      case 'l': case 'L': seek(10); break;
      case 'ArrowUp': v.volume = Math.min(1, v.volume + 0.1); break;
      case 'ArrowDown': v.volume = Math.max(0, v.volume - 0.1); break;
      case 'm': case 'M': v.muted = !v.muted; break;
      case 'f': case 'F':
        if (document.fullscreenElement) document.exitFullscreen(); else v.requestFullscreen && v.requestFullscreen();
        break;
      case 'c': case 'C': {
        const t = v.textTracks;
        if (!t.length) return;
        let on = -1;
        for (let i = 0; i < t.length; i++) if (t[i].mode === 'showing') on = i;
        for (let i = 0; i < t.length; i++) t[i].mode = 'disabled';
        if (on + 1 < t.length) t[on + 1].mode = 'showing';
        break;
      }
      case 'n': case 'N': go('next'); break;
      case 'p': case 'P': go('prev'); break;
      default:
        if (e.key >= '0' && e.key <= '9' && v.duration) v.currentTime = v.duration * Number(e.key) / 10;
        else return;
    }
    e.preventDefault();
  });
})();

// How this browser plays the file: the server probes it and answers direct (the file itself),
// remux or transcode (an HLS playlist whose segments ffmpeg makes as they are asked for).
function caps(v) {
  const ms = window.MediaSource || window.ManagedMediaSource;
  const mse = (t) => !!(ms && ms.isTypeSupported && ms.isTypeSupported(t));
  const tag = (t) => v.canPlayType(t) !== '';
  const either = (t) => mse(t) || tag(t);
  const have = {
    mp4: tag('video/mp4'), webm: tag('video/webm'),
    hls: !!ms || tag('application/vnd.apple.mpegurl'),
    h264: either('video/mp4; codecs="avc1.640028"'),
    hevc: either('video/mp4; codecs="hvc1.1.6.L120.90"'),
    vp8: tag('video/webm; codecs="vp8"'), vp9: tag('video/webm; codecs="vp9"'),
    av1: either('video/mp4; codecs="av01.0.05M.08"'),
    aac: either('audio/mp4; codecs="mp4a.40.2"'), mp3: tag('audio/mpeg'),
    opus: tag('audio/webm; codecs="opus"'), vorbis: tag('audio/webm; codecs="vorbis"'),
    flac: either('audio/mp4; codecs="flac"'),
    ac3: either('audio/mp4; codecs="ac-3"'), eac3: either('audio/mp4; codecs="ec-3"'),
  };
  return Object.keys(have).filter((k) => have[k]).join(',');
}

function choose(v, unsupported) {
  const mode = document.getElementById('playmode');
  const pick = document.getElementById('audio-track');
  const url = (audio) => v.dataset.play + '?caps=' + caps(v) + (audio != null ? '&audio=' + audio : '');
  let hls = null;
  const say = (info) => {
    const what = info.mode === 'direct' ? 'as it is'
      : info.mode === 'remux' ? 'remuxed (every stream copied)'
      : 'transcoded (' + [info.plan.video === 'h264' ? 'video to H.264' : 'video copied',
        info.plan.audio ? (info.plan.audio[1] === 'aac' ? 'audio to AAC' : 'audio copied') : 'no audio'].join(', ') + ')';
    mode.textContent = 'Playing ' + what;
    mode.dataset.mode = info.mode;
    mode.hidden = false;
  };
  const load = (info, at) => {
    if (hls) { hls.destroy(); hls = null; }
    say(info);
    const resume = () => { if (at > 0) v.currentTime = at; };
    if (info.mode === 'direct') {
      v.src = v.dataset.src;
      v.addEventListener('loadedmetadata', resume, { once: true });
      return;
    }
    const src = '/hls/' + v.dataset.play.slice('/api/play/'.length) + '/' + info.key + '/index.m3u8';
    const native = () => { v.src = src; v.addEventListener('loadedmetadata', resume, { once: true }); };
    if (!(window.MediaSource || window.ManagedMediaSource)) return native();
    withHlsJs(() => {
      if (!window.Hls || !Hls.isSupported()) return native();
      // Segments may wait for ffmpeg (a seek starts a job) or for a free job slot (503).
      const wait = { maxTimeToFirstByteMs: 60000, maxLoadTimeMs: 120000,
        timeoutRetry: { maxNumRetry: 3, retryDelayMs: 500, maxRetryDelayMs: 4000 },
        errorRetry: { maxNumRetry: 8, retryDelayMs: 1000, maxRetryDelayMs: 4000 } };
      hls = new Hls({ startPosition: at > 0 ? at : -1, maxBufferLength: 30,
        fragLoadPolicy: { default: wait }, playlistLoadPolicy: { default: wait } });
      hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) unsupported(); });
      hls.loadSource(src);
      hls.attachMedia(v);
    });
  };
  const tracks = (info) => {
    for (const s of info.subtitles || []) {
      const t = document.createElement('track');
      t.kind = 'subtitles';
      t.label = s.label;
      if (s.language && s.language.length <= 3) t.srclang = s.language;
      t.src = '/subs/' + v.dataset.play.slice('/api/play/'.length) + '?stream=' + s.index;
      t.dataset.embedded = s.index;
      v.appendChild(t);
    }
    const audio = info.audio_tracks || [];
    if (audio.length > 1) {
      const chosen = info.plan.mode === 'direct' ? audio[0].index
        : (info.plan.audio ? info.plan.audio[0] : audio[0].index);
      for (const a of audio) {
        const o = document.createElement('option');
        o.value = a.index; o.textContent = a.label; o.selected = a.index === chosen;
        pick.appendChild(o);
      }
      document.getElementById('audio-choice').hidden = false;
      pick.addEventListener('change', () => {
        const at = v.currentTime;
        fetch(url(pick.value)).then((r) => r.json()).then((i) => load(i, at)).catch(unsupported);
      });
    }
  };
  fetch(url(null))
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((info) => { tracks(info); load(info, 0); })
    // Whatever went wrong on the way, the file itself is still worth a try.
    .catch(() => { v.src = v.dataset.src; });
}

function withHlsJs(then) {
  if (window.Hls) return then();
  const s = document.createElement('script');
  s.src = '/assets/hls.light.min.js';
  s.onload = then;
  s.onerror = then;
  document.head.appendChild(s);
}
