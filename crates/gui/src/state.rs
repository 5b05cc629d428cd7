//! The window's state and its rules, apart from drawing and from I/O: what the button says and
//! does, what is shown while running, which entries the pickers offer, when to check the
//! network again. The views read a [`Model`] and call its methods; the engine carries out the
//! [`Command`]s it returns and feeds back [`Event`]s. Time is an argument.

use crate::netcheck::NetCheck;
use crate::plan;
use crate::settings::{Settings, Video};
use homestream_live::StreamSummary;
use homestream_live::source::camera::CameraInfo;
use homestream_mic::MicInfo;
use homestream_server::ServeConfig;
use std::time::{Duration, Instant};

/// How often the network is checked again.
pub const NET_RECHECK: Duration = Duration::from_secs(30);
/// How often viewers and fps are read while running.
pub const STATS_EVERY: Duration = Duration::from_millis(500);

/// What the engine is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Nothing is served.
    Stopped,
    /// The server is opening its folders, users file and socket.
    Starting,
    /// Serving.
    Running(RunInfo),
    /// Closing connections and releasing devices.
    Stopping,
}

/// What a started server tells the user.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunInfo {
    /// Every URL it can be reached at, LAN first.
    pub urls: Vec<String>,
    /// Port taken.
    pub port: u16,
    /// `Some(users file)` when a login is required.
    pub login: Option<String>,
    /// SHA-256 fingerprint of the self-signed certificate.
    pub fingerprint: Option<String>,
}

/// The devices found by the last probe.
#[derive(Debug, Clone)]
pub struct DeviceList {
    /// Cameras, or why none could be listed.
    pub cameras: Vec<CameraInfo>,
    /// Microphones, or why none can be listed (a build without microphone support).
    pub mics: Result<Vec<MicInfo>, String>,
    /// A failure of the camera probe itself.
    pub camera_error: Option<String>,
}

/// Internet reachability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// Not known yet (the first check is running) or the check is off.
    Unknown,
    /// A well-known address answered.
    Online,
    /// Nothing answered in time.
    Offline,
}

/// Work for the engine.
#[derive(Debug)]
pub enum Command {
    /// Start a server with this configuration (preview the live stream if asked).
    Start {
        /// The same configuration `homestream serve` builds.
        config: Box<ServeConfig>,
        /// Show a preview of the live stream.
        preview: bool,
    },
    /// Stop the server.
    Stop,
    /// List cameras and microphones.
    ProbeDevices,
    /// Check the internet.
    CheckNet(NetCheck),
    /// Read viewers and fps.
    ReadStats,
    /// Write the settings file.
    SaveSettings,
}

/// What the engine reports.
#[derive(Debug)]
pub enum Event {
    /// The server is serving.
    Started(RunInfo),
    /// It could not start: the message says why.
    StartFailed(String),
    /// It stopped and let go of its devices.
    Stopped,
    /// The probe's result.
    Devices(DeviceList),
    /// The check's result: online or not.
    Net(bool),
    /// The live streams now.
    Stats(Vec<StreamLine>),
}

/// One live stream as the window shows it while running.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamLine {
    /// Name in URLs.
    pub name: String,
    /// The viewer page's path (`/live/NAME/`).
    pub path: String,
    /// Viewers now.
    pub viewers: usize,
    /// Codecs, size, fps, bitrate, viewers per transport (empty while idle).
    pub now: String,
    /// Why the source shows "no signal" (a camera that failed to open), if it does.
    pub error: Option<String>,
}

impl StreamLine {
    /// From the registry's summary and the stream's status document (`/api/status` shape).
    pub fn new(s: &StreamSummary, status: &serde_json::Value) -> StreamLine {
        let failing = status["state"] == "no_signal";
        StreamLine {
            name: s.name.clone(),
            path: s.url.clone(),
            viewers: s.viewers,
            now: s.now.clone(),
            error: failing
                .then(|| status["last_error"].as_str().map(String::from))
                .flatten(),
        }
    }
}

/// One entry of a picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<T> {
    /// What is shown.
    pub label: String,
    /// `None` for a disabled entry ("no camera found").
    pub value: Option<T>,
    /// Why it is disabled, when it is.
    pub hint: Option<String>,
}

/// The window's whole state.
#[derive(Debug)]
pub struct Model {
    /// The user's choices (saved between runs).
    pub settings: Settings,
    /// The engine's phase.
    pub phase: Phase,
    /// The last error, shown until the next action.
    pub error: Option<String>,
    /// A note that is not an error (a user added, settings unreadable).
    pub note: Option<String>,
    /// Devices (`None` until the first probe answers).
    pub devices: Option<DeviceList>,
    /// A probe is running.
    pub probing: bool,
    /// The internet.
    pub net: Net,
    net_check: NetCheck,
    net_due: Option<Instant>,
    net_running: bool,
    stats_due: Option<Instant>,
    /// The live streams while running.
    pub streams: Vec<StreamLine>,
}

impl Model {
    /// A stopped window with these settings; `net_check` says how to check the internet.
    pub fn new(settings: Settings, net_check: NetCheck) -> Model {
        Model {
            settings,
            phase: Phase::Stopped,
            error: None,
            note: None,
            devices: None,
            probing: false,
            net: Net::Unknown,
            net_check,
            net_due: None,
            net_running: false,
            stats_due: None,
            streams: Vec::new(),
        }
    }

    /// What the one button says (it says what it will do), and whether it can be pressed.
    pub fn button(&self) -> (&'static str, bool) {
        match self.phase {
            Phase::Stopped => ("Start", true),
            Phase::Starting => ("Starting…", false),
            Phase::Running(_) => ("Stop", true),
            Phase::Stopping => ("Stopping…", false),
        }
    }

    /// Whether the settings can be edited (they apply at the next Start).
    pub fn editable(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// The button was pressed.
    pub fn press(&mut self) -> Vec<Command> {
        match self.phase {
            Phase::Stopped => {
                let cameras = self
                    .devices
                    .as_ref()
                    .map(|d| d.cameras.as_slice())
                    .unwrap_or(&[]);
                match plan::serve_config(&self.settings, cameras) {
                    Ok(config) => {
                        self.error = None;
                        self.phase = Phase::Starting;
                        vec![
                            Command::SaveSettings,
                            Command::Start {
                                config: Box::new(config),
                                preview: self.settings.preview && self.settings.video != Video::Off,
                            },
                        ]
                    }
                    Err(e) => {
                        self.error = Some(e);
                        Vec::new()
                    }
                }
            }
            Phase::Running(_) => {
                self.phase = Phase::Stopping;
                self.streams.clear();
                vec![Command::Stop]
            }
            Phase::Starting | Phase::Stopping => Vec::new(),
        }
    }

    /// Asks for a device probe unless one is running.
    pub fn refresh_devices(&mut self) -> Vec<Command> {
        if self.probing {
            return Vec::new();
        }
        self.probing = true;
        vec![Command::ProbeDevices]
    }

    /// Takes an engine report.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Started(info) => {
                self.phase = Phase::Running(info);
                self.stats_due = None;
            }
            Event::StartFailed(e) => {
                self.phase = Phase::Stopped;
                self.error = Some(e);
            }
            Event::Stopped => {
                self.phase = Phase::Stopped;
                self.streams.clear();
            }
            Event::Devices(d) => {
                self.probing = false;
                self.devices = Some(d);
            }
            Event::Net(online) => {
                self.net_running = false;
                self.net = if online { Net::Online } else { Net::Offline };
            }
            Event::Stats(s) => {
                if matches!(self.phase, Phase::Running(_)) {
                    self.streams = s;
                }
            }
        }
    }

    /// Timers: the network check (now and every [`NET_RECHECK`]) and, while running, the
    /// stats. Returns what is due and when to look again.
    pub fn tick(&mut self, now: Instant) -> (Vec<Command>, Duration) {
        let mut out = Vec::new();
        let mut wake = NET_RECHECK;
        if self.net_check.enabled() && !self.net_running {
            let due = *self.net_due.get_or_insert(now);
            if now >= due {
                self.net_running = true;
                self.net_due = Some(now + NET_RECHECK);
                out.push(Command::CheckNet(self.net_check.clone()));
            } else {
                wake = wake.min(due - now);
            }
        }
        if matches!(self.phase, Phase::Running(_)) {
            let due = *self.stats_due.get_or_insert(now);
            if now >= due {
                self.stats_due = Some(now + STATS_EVERY);
                out.push(Command::ReadStats);
            }
            wake = wake.min(STATS_EVERY);
        }
        (out, wake)
    }

    /// The network line and whether it is a warning (red).
    pub fn network_line(&self) -> Option<(&'static str, bool)> {
        match self.net {
            Net::Unknown if self.net_check.enabled() => Some(("checking the internet…", false)),
            Net::Unknown => None,
            Net::Online => Some(("internet: connected", false)),
            Net::Offline => Some((
                "offline: no internet (devices on this network can still watch at the addresses here)",
                true,
            )),
        }
    }

    /// The picture picker: off, the test pattern, then each camera, or a disabled
    /// "no camera found".
    pub fn video_entries(&self) -> Vec<Entry<Video>> {
        let mut v = vec![
            entry("off (files only)", Video::Off),
            entry("test pattern", Video::Test),
        ];
        match &self.devices {
            None => v.push(disabled("looking for cameras…", None)),
            Some(d) if d.cameras.is_empty() => v.push(disabled(
                "no camera found",
                Some(d.camera_error.clone().unwrap_or_else(|| {
                    "no video capture device is connected; plug one in and press Refresh".into()
                })),
            )),
            Some(d) => v.extend(d.cameras.iter().map(|c| {
                entry(
                    &c.name,
                    Video::Camera {
                        name: c.name.clone(),
                    },
                )
            })),
        }
        v
    }

    /// The microphone picker: none, then each microphone (the default first), or a disabled
    /// "no microphone found" with the reason.
    pub fn mic_entries(&self) -> Vec<Entry<Option<String>>> {
        let mut v = vec![entry("none", None)];
        match self.devices.as_ref().map(|d| &d.mics) {
            None => v.push(disabled("looking for microphones…", None)),
            Some(Err(why)) => v.push(disabled("no microphone found", Some(why.clone()))),
            Some(Ok(m)) if m.is_empty() => v.push(disabled(
                "no microphone found",
                Some("no sound input device is connected".into()),
            )),
            Some(Ok(m)) => {
                v.push(entry("system default", Some("default".to_string())));
                v.extend(m.iter().map(|m| entry(&m.name, Some(m.name.clone()))));
            }
        }
        v
    }

    /// The label of the current choice in a picker.
    pub fn video_label(&self) -> String {
        match &self.settings.video {
            Video::Off => "off (files only)".into(),
            Video::Test => "test pattern".into(),
            Video::Camera { name } => name.clone(),
        }
    }

    /// See [`Model::video_label`].
    pub fn mic_label(&self) -> String {
        match self.settings.mic.as_deref() {
            None => "none".into(),
            Some("default") => "system default".into(),
            Some(m) => m.to_string(),
        }
    }
}

/// The port field: empty means 8000 with fallback, as `serve` without `--port`.
pub fn parse_port(text: &str) -> Result<Option<u16>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(format!(
            "port {t:?}: expected a number from 1 to 65535, or empty for 8000 and the next free ones"
        )),
    }
}

fn entry<T>(label: &str, value: T) -> Entry<T> {
    Entry {
        label: label.to_string(),
        value: Some(value),
        hint: None,
    }
}

fn disabled<T>(label: &str, hint: Option<String>) -> Entry<T> {
    Entry {
        label: label.to_string(),
        value: None,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model::new(Settings::default(), NetCheck::parse("127.0.0.1:9"))
    }

    #[test]
    fn the_button_says_what_it_will_do_and_start_carries_the_serve_config() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = model();
        assert_eq!(m.button(), ("Start", true));
        // Nothing to share: an error, still stopped, nothing sent to the engine.
        assert!(m.press().is_empty());
        assert_eq!(m.phase, Phase::Stopped);
        assert!(m.error.as_deref().unwrap().starts_with("nothing to share"));
        m.settings.paths.push(dir.path().to_path_buf());
        m.settings.port = Some(8123);
        let cmds = m.press();
        assert_eq!(m.error, None, "a good start clears the old error");
        assert!(matches!(cmds[0], Command::SaveSettings));
        match &cmds[1] {
            Command::Start { config, preview } => {
                assert_eq!(config.paths, vec![dir.path().to_path_buf()]);
                assert_eq!(config.port, Some(8123));
                assert!(!preview, "no live stream, nothing to preview");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.button(), ("Starting…", false));
        assert!(!m.editable());
        assert!(m.press().is_empty(), "no second start while starting");
        m.apply(Event::Started(RunInfo {
            urls: vec!["http://192.168.1.5:8123/".into()],
            port: 8123,
            ..RunInfo::default()
        }));
        assert_eq!(m.button(), ("Stop", true));
        assert!(matches!(m.press()[..], [Command::Stop]));
        assert_eq!(m.button(), ("Stopping…", false));
        m.apply(Event::Stopped);
        assert_eq!(m.button(), ("Start", true));
        assert!(m.editable());
    }

    #[test]
    fn a_failed_start_shows_why_and_stays_usable() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = model();
        m.settings.paths.push(dir.path().to_path_buf());
        m.press();
        m.apply(Event::StartFailed("port 8123 is in use".into()));
        assert_eq!(m.phase, Phase::Stopped);
        assert_eq!(m.error.as_deref(), Some("port 8123 is in use"));
        assert_eq!(m.button(), ("Start", true));
        // Stats that arrive late, after a stop, are not shown.
        m.apply(Event::Stats(vec![StreamLine {
            name: "live".into(),
            viewers: 1,
            ..StreamLine::default()
        }]));
        assert!(m.streams.is_empty());
    }

    #[test]
    fn pickers_offer_none_found_entries_disabled() {
        let mut m = model();
        assert_eq!(m.video_entries()[2].label, "looking for cameras…");
        assert_eq!(m.refresh_devices().len(), 1);
        assert!(m.refresh_devices().is_empty(), "one probe at a time");
        m.apply(Event::Devices(DeviceList {
            cameras: vec![],
            mics: Err(homestream_mic::NO_SUPPORT.into()),
            camera_error: None,
        }));
        let v = m.video_entries();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].label, "no camera found");
        assert_eq!(v[2].value, None);
        let mics = m.mic_entries();
        assert_eq!(mics[1].label, "no microphone found");
        assert_eq!(mics[1].value, None);
        assert!(mics[1].hint.as_deref().unwrap().contains("--features mic"));
        m.apply(Event::Devices(DeviceList {
            cameras: vec![CameraInfo {
                name: "HD Webcam".into(),
                path: "/dev/video0".into(),
                modes: vec![],
            }],
            mics: Ok(vec![MicInfo {
                name: "USB Audio".into(),
                id: "hw:1".into(),
                is_default: false,
                channels: 1,
                sample_rates: vec![],
            }]),
            camera_error: None,
        }));
        let v = m.video_entries();
        assert_eq!(v[2].label, "HD Webcam");
        assert_eq!(
            v[2].value,
            Some(Video::Camera {
                name: "HD Webcam".into()
            })
        );
        let mics: Vec<_> = m.mic_entries().into_iter().map(|e| e.label).collect();
        assert_eq!(mics, ["none", "system default", "USB Audio"]);
    }

    #[test]
    fn the_network_is_checked_now_then_every_half_minute_and_offline_is_red() {
        let mut m = model();
        let t0 = Instant::now();
        assert_eq!(m.network_line(), Some(("checking the internet…", false)));
        let (cmds, _) = m.tick(t0);
        assert!(matches!(cmds[..], [Command::CheckNet(_)]));
        // While it runs, no second check; once answered, the next is due in 30 s.
        assert!(m.tick(t0 + Duration::from_secs(40)).0.is_empty());
        m.apply(Event::Net(false));
        let line = m.network_line().unwrap();
        assert!(line.0.starts_with("offline: no internet") && line.1);
        let (cmds, wake) = m.tick(t0 + Duration::from_secs(1));
        assert!(cmds.is_empty());
        assert_eq!(wake, Duration::from_secs(29));
        assert_eq!(m.tick(t0 + NET_RECHECK).0.len(), 1);
        m.apply(Event::Net(true));
        assert_eq!(m.network_line(), Some(("internet: connected", false)));
        // Off: no line, no checks.
        let mut off = Model::new(Settings::default(), NetCheck::parse("off"));
        assert!(off.tick(t0).0.is_empty());
        assert_eq!(off.network_line(), None);
    }

    #[test]
    fn a_failing_source_shows_its_error() {
        let summary = StreamSummary {
            name: "live".into(),
            description: "camera 0".into(),
            url: "/live/live/".into(),
            viewers: 2,
            now: "H.264 · 640x480".into(),
        };
        let failing = serde_json::json!({"state": "no_signal", "last_error": "cannot open /dev/video0: busy"});
        let l = StreamLine::new(&summary, &failing);
        assert_eq!(l.error.as_deref(), Some("cannot open /dev/video0: busy"));
        assert_eq!((l.viewers, l.path.as_str()), (2, "/live/live/"));
        // A recovered source keeps last_error in its status, but is not failing.
        let live =
            serde_json::json!({"state": "live", "last_error": "cannot open /dev/video0: busy"});
        assert_eq!(StreamLine::new(&summary, &live).error, None);
    }

    #[test]
    fn the_port_field() {
        assert_eq!(parse_port(" "), Ok(None));
        assert_eq!(parse_port("8123"), Ok(Some(8123)));
        for bad in ["0", "65536", "80a", "-1"] {
            assert!(parse_port(bad).unwrap_err().contains("1 to 65535"), "{bad}");
        }
    }

    #[test]
    fn stats_are_read_only_while_running() {
        let mut m = model();
        m.net = Net::Online;
        m.net_running = true;
        let t0 = Instant::now();
        assert!(m.tick(t0).0.is_empty());
        m.phase = Phase::Running(RunInfo::default());
        assert!(matches!(m.tick(t0).0[..], [Command::ReadStats]));
        assert!(m.tick(t0 + Duration::from_millis(100)).0.is_empty());
        assert_eq!(m.tick(t0 + STATS_EVERY).0.len(), 1);
    }
}
