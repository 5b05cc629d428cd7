//! The window's choices, kept between runs as TOML in the platform's config folder
//! (`~/.config/homestream/gui.toml` on Linux, `XDG_CONFIG_HOME` respected).
//!
//! These are the user's choices, not the server's configuration: [`crate::plan`] turns them,
//! with the devices present now, into the one `ServeConfig` that `homestream serve` also fills.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file name inside the config folder.
const FILE: &str = "gui.toml";

/// Where the picture of the live stream comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Video {
    /// No live stream: share files only.
    #[default]
    Off,
    /// The moving test pattern (with its beeping tone unless a microphone is chosen).
    Test,
    /// A camera, by its friendly name (indexes change when devices are plugged in).
    Camera {
        /// The name `homestream devices` shows.
        name: String,
    },
}

/// Everything the window remembers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Folders and single files to share.
    pub paths: Vec<PathBuf>,
    /// An explicit port (a taken one is an error); `None`: 8000 or the next free one.
    pub port: Option<u16>,
    /// The live stream's picture.
    pub video: Video,
    /// A microphone by name (`default` is the system's default input); `None`: no microphone.
    pub mic: Option<String>,
    /// Picture size and rate asked of the source.
    pub width: u32,
    /// See `width`.
    pub height: u32,
    /// See `width`.
    pub fps: u32,
    /// Require a login, with accounts from `users_file`.
    pub login: bool,
    /// The users file (`None`: `users.toml` next to this settings file).
    pub users_file: Option<PathBuf>,
    /// HTTPS with a self-signed certificate kept between runs.
    pub https: bool,
    /// Show a small preview of the running live stream.
    pub preview: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            paths: Vec::new(),
            port: None,
            video: Video::Off,
            mic: None,
            width: 1280,
            height: 720,
            fps: 30,
            login: false,
            users_file: None,
            https: false,
            preview: true,
        }
    }
}

/// The sizes offered in the window.
pub const SIZES: [(u32, u32); 4] = [(640, 360), (640, 480), (1280, 720), (1920, 1080)];
/// The rates offered in the window.
pub const RATES: [u32; 4] = [10, 15, 25, 30];

/// The config folder of homestream (`None` on a system without one).
pub fn config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("homestream"))
}

/// The settings file.
pub fn settings_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join(FILE))
}

impl Settings {
    /// Reads the file; a missing file gives the defaults, a broken one the defaults and a
    /// message saying so (the window must open anyway).
    pub fn load(path: &Path) -> (Settings, Option<String>) {
        match std::fs::read_to_string(path) {
            Ok(text) => match toml::from_str(&text) {
                Ok(s) => (s, None),
                Err(e) => (
                    Settings::default(),
                    Some(format!(
                        "settings in {} could not be read ({}); using defaults",
                        path.display(),
                        e.message()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Settings::default(), None),
            Err(e) => (
                Settings::default(),
                Some(format!(
                    "cannot read {}: {e}; using defaults",
                    path.display()
                )),
            ),
        }
    }

    /// Writes the file (and its folder).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = toml::to_string_pretty(self).map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Adds a path unless it is there already; the command line's PATHs come first.
    pub fn add_path(&mut self, path: PathBuf) -> bool {
        if self.paths.contains(&path) {
            return false;
        }
        self.paths.push(path);
        true
    }

    /// The users file in effect.
    pub fn users_file_or_default(&self) -> Option<PathBuf> {
        self.users_file
            .clone()
            .or_else(|| config_dir().map(|d| d.join("users.toml")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_file_and_survives_a_broken_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE);
        assert_eq!(Settings::load(&path), (Settings::default(), None));
        let s = Settings {
            paths: vec!["/srv/movies".into(), "/home/a/clip.mkv".into()],
            port: Some(8123),
            video: Video::Camera {
                name: "HD Webcam".into(),
            },
            mic: Some("default".into()),
            width: 640,
            height: 480,
            fps: 15,
            login: true,
            users_file: Some("/etc/hs-users.toml".into()),
            https: true,
            preview: false,
        };
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path), (s, None));
        std::fs::write(&path, "port = \"eighty\"").unwrap();
        let (loaded, warning) = Settings::load(&path);
        assert_eq!(loaded, Settings::default());
        assert!(warning.unwrap().contains("using defaults"));
        // A file from an older version with fewer keys keeps the defaults of the rest.
        std::fs::write(&path, "port = 9000\n[video]\nkind = \"test\"\n").unwrap();
        let (loaded, warning) = Settings::load(&path);
        assert_eq!(warning, None);
        assert_eq!(loaded.port, Some(9000));
        assert_eq!(loaded.video, Video::Test);
        assert_eq!(loaded.fps, 30);
    }

    #[test]
    fn adding_a_path_twice_keeps_one() {
        let mut s = Settings::default();
        assert!(s.add_path("/a".into()));
        assert!(!s.add_path("/a".into()));
        assert_eq!(s.paths.len(), 1);
    }
}
