// The publish page (/live/NAME/publish): a camera and microphone published over WHIP
// (RFC 9725) to POST ./whip. H.264 is asked for with setCodecPreferences (the server relays the
// publisher's H.264 to every viewer as it is). Reconnects by itself; DELETEs its session on
// stop and on leaving the page.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const preview = $("preview"), go = $("go"), state = $("state"), stats = $("stats");
  const camSel = $("camera"), micSel = $("mic"), message = $("message");
  const whipUrl = new URL("whip", location.href.replace(/publish\/?(\?.*)?$/, "")).href;
  const statusUrl = new URL("status.json", whipUrl).href;
  let viewers = null;
  let stream = null, pc = null, resource = null, wanted = false, retry = 1000, timer = null;
  let lastBytes = 0, lastAt = 0;

  const say = (text) => { message.textContent = text; message.hidden = !text; };
  const setState = (text) => { state.textContent = text; };

  if (!window.isSecureContext || !navigator.mediaDevices) {
    say("Browsers allow the camera only on secure pages. Open this page over HTTPS " +
        "(start homestream with --tls-self-signed and accept its certificate) or on " +
        "http://localhost on this computer.");
    go.disabled = true;
    return;
  }

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [sel, kind] of [[camSel, "videoinput"], [micSel, "audioinput"]]) {
      const keep = sel.value;
      sel.replaceChildren();
      for (const d of devices.filter((d) => d.kind === kind)) {
        const o = document.createElement("option");
        o.value = d.deviceId;
        o.textContent = d.label || (kind === "videoinput" ? "camera " : "microphone ") + (sel.length + 1);
        sel.append(o);
      }
      if (kind === "audioinput") {
        const none = document.createElement("option");
        none.value = "none";
        none.textContent = "no sound";
        sel.append(none);
      }
      if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
    }
  }

  async function openMedia() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    const video = camSel.value ? { deviceId: { exact: camSel.value } } : { facingMode: "environment" };
    video.width = { ideal: 1280 };
    video.height = { ideal: 720 };
    video.frameRate = { ideal: 30 };
    const audio = micSel.value === "none" ? false : micSel.value ? { deviceId: { exact: micSel.value } } : true;
    stream = await navigator.mediaDevices.getUserMedia({ video, audio });
    preview.srcObject = stream;
    await listDevices();
  }

  async function del() {
    if (!resource) return;
    const url = resource;
    resource = null;
    try { await fetch(url, { method: "DELETE", keepalive: true }); } catch (_) { /* gone */ }
  }

  async function publish() {
    clearTimeout(timer);
    if (pc) pc.close();
    await del();
    pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) {
      const t = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      if (track.kind === "video" && t.setCodecPreferences && window.RTCRtpSender.getCapabilities) {
        const codecs = RTCRtpSender.getCapabilities("video").codecs;
        const h264 = codecs.filter((c) => c.mimeType.toLowerCase() === "video/h264");
        const rest = codecs.filter((c) => /rtx|red|ulpfec/i.test(c.mimeType));
        if (h264.length) t.setCodecPreferences([...h264, ...rest]);
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    // Every candidate in the offer: the server answers with all of its own (no trickle).
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000);
    });
    const res = await fetch(whipUrl + (retry > 1000 ? "?takeover=1" : ""), {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: pc.localDescription.sdp,
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`${res.status}: ${text.trim()}`);
    resource = new URL(res.headers.get("Location"), location.href).href;
    await pc.setRemoteDescription({ type: "answer", sdp: text });
    const mine = pc;
    pc.addEventListener("connectionstatechange", () => {
      if (mine !== pc) return;
      setState(pc.connectionState === "connected" ? "live" : pc.connectionState);
      if (pc.connectionState === "connected") { retry = 1000; say(""); }
      if (wanted && (pc.connectionState === "failed" || pc.connectionState === "disconnected")) {
        reconnect("connection " + pc.connectionState);
      }
    });
  }

  function reconnect(why) {
    if (!wanted) return;
    clearTimeout(timer);
    setState(`reconnecting in ${Math.round(retry / 1000)} s (${why})`);
    timer = setTimeout(() => start().catch((e) => reconnect(e.message)), retry);
    retry = Math.min(retry * 2, 10000);
  }

  async function start() {
    wanted = true;
    go.textContent = "Stop";
    go.classList.add("live");
    if (!stream) await openMedia();
    setState("connecting…");
    try {
      await publish();
    } catch (e) {
      say(e.message);
      reconnect(e.message);
    }
  }

  async function stop() {
    wanted = false;
    clearTimeout(timer);
    go.textContent = "Start publishing";
    go.classList.remove("live");
    if (pc) pc.close();
    pc = null;
    await del();
    setState("not publishing");
    stats.textContent = "";
  }

  go.addEventListener("click", () => (wanted ? stop() : start()).catch((e) => say(e.message)));
  for (const sel of [camSel, micSel]) {
    sel.addEventListener("change", async () => {
      try {
        await openMedia();
        if (wanted) await start();
      } catch (e) { say(e.message); }
    });
  }
  window.addEventListener("pagehide", () => { wanted = false; del(); });

  // Bitrate, resolution and frame rate of what is sent, once a second; viewers from the status.
  setInterval(async () => {
    if (!pc || pc.connectionState !== "connected") return;
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type !== "outbound-rtp" || r.kind !== "video") return;
      const kbps = lastAt ? ((r.bytesSent - lastBytes) * 8) / (r.timestamp - lastAt) : 0;
      lastBytes = r.bytesSent;
      lastAt = r.timestamp;
      stats.textContent = `${r.frameWidth || "?"}×${r.frameHeight || "?"} · ${Math.round(r.framesPerSecond || 0)} fps · ${Math.round(kbps)} kbit/s` +
        (viewers === null ? "" : ` · ${viewers} viewer${viewers === 1 ? "" : "s"}`);
      window.publishStats = { width: r.frameWidth, height: r.frameHeight, fps: r.framesPerSecond, kbps, framesSent: r.framesSent, viewers };
    });
    // Who watches: the stream's own status (every transport's viewers), read with the page's login.
    try {
      const res = await fetch(statusUrl, { cache: "no-store" });
      if (res.ok) viewers = (await res.json()).viewers ?? null;
    } catch (e) { /* the next tick tries again */ }
  }, 1000);

  openMedia().catch((e) => say("The camera could not be opened: " + e.message));
  window.publishState = () => ({ state: state.textContent, message: message.hidden ? "" : message.textContent });
  window.startPublishing = start;
})();
