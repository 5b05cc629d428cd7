// The LL-HLS player of the live page (third in its chain, or ?via=hls): index.m3u8 with hls.js (bundled in the binary,
// loaded only when needed) where Media Source Extensions exist, else the browser's own HLS
// (Safari on iPhone). hls.js is preferred where both exist because it does Low-Latency HLS
// (parts, blocking reload); Chromium's built-in HLS plays whole segments, seconds behind.
// Latency is read from EXT-X-PROGRAM-DATE-TIME (the capture time of each segment's first
// frame): wall clock now minus the date of the frame being shown.
window.hsHlsPlayer = (() => {
  'use strict';
  const HLS_JS = 'hls.light.min.js?v=1.7.4';

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src; s.onload = resolve; s.onerror = () => reject(new Error('cannot load ' + src));
      document.head.appendChild(s);
    });
  }

  // opts: { video, stats, readout(), play(), onFail(why), onEarlyError(why) }: onFail when
  // this browser cannot play HLS at all; onEarlyError (optional) on a fatal error before any
  // fragment was buffered, answering true to give up instead of retrying. Returns { stop() }.
  function start(opts) {
    const h = { stopped: false, hls: null, timer: null };
    h.stop = () => {
      h.stopped = true; clearInterval(h.timer);
      if (h.hls) { h.hls.destroy(); h.hls = null; }
      opts.video.removeAttribute('src'); opts.video.load();
    };
    run(opts, h);
    return h;
  }

  async function run(opts, h) {
    const { video, stats, readout, play } = opts;
    stats.transport = 'hls';
    video.hidden = false;
    const src = 'index.m3u8';
    const hasMse = !!(window.ManagedMediaSource || window.MediaSource);
    if (!hasMse && video.canPlayType('application/vnd.apple.mpegurl')) {
      stats.hlsEngine = 'native';
      video.src = src;
      video.addEventListener('loadedmetadata', () => { stats.width = video.videoWidth; stats.height = video.videoHeight; readout(); });
      play();
      h.timer = setInterval(() => {
        const d = video.getStartDate && video.getStartDate();
        if (d && !isNaN(d.getTime())) stats.latencyMs = Date.now() - (d.getTime() + video.currentTime * 1000);
        readout();
      }, 1000);
      return;
    }
    try {
      if (!window.Hls) await loadScript(HLS_JS);
    } catch (e) { if (!h.stopped) opts.onFail(e.message); return; }
    if (h.stopped) return;
    const Hls = window.Hls;
    if (!Hls.isSupported()) { opts.onFail('this browser cannot play HLS'); return; }
    stats.hlsEngine = 'hls.js ' + Hls.version;
    let hls = null, retry = 0, buffered = false;
    function open() {
      if (h.stopped) return;
      if (hls) hls.destroy();
      hls = h.hls = new Hls({
        lowLatencyMode: true,
        liveSyncOnStallIncrease: 0,
        maxLiveSyncPlaybackRate: 1.1,
        backBufferLength: 10,
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => { stats.error = null; play(); });
      hls.on(Hls.Events.ERROR, (_, d) => {
        if (!d.fatal || h.stopped) return;
        if (!buffered && opts.onEarlyError && opts.onEarlyError('HLS ' + d.details)) return;
        stats.error = 'HLS ' + d.details + ', reconnecting…'; stats.reconnects++; readout();
        setTimeout(open, Math.min(500 * 2 ** retry++, 5000));
      });
      hls.on(Hls.Events.FRAG_BUFFERED, () => { retry = 0; buffered = true; });
      hls.loadSource(src);
      hls.attachMedia(video);
    }
    open();
    h.timer = setInterval(() => {
      if (video.videoWidth) { stats.width = video.videoWidth; stats.height = video.videoHeight; }
      const d = hls && hls.playingDate;
      const lag = d ? Date.now() - d.getTime() : NaN;
      // Right after a (re)start the date is not mapped to the new timeline yet.
      if (lag > 0 && lag < 60000) stats.latencyMs = lag;
      stats.behindMs = hls && hls.latency != null ? Math.round(hls.latency * 1000) : null;
      readout();
    }, 500);
  }

  return { start };
})();
