// The library player: resume, keyboard shortcuts, next on end, and an honest message when the
// browser cannot play the file.
(() => {
  const v = document.getElementById('player');
  if (!v) return;
  const key = 'homestream:pos:' + v.dataset.key;
  const warn = document.getElementById('unsupported');
  const unsupported = () => { warn.hidden = false; };
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
