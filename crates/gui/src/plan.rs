//! What Start does with the chosen settings: the same `ServeConfig` that `homestream serve`
//! fills from its command line, or a message saying what to fix first.

use crate::settings::{Settings, Video};
use homestream_live::LiveSpec;
use homestream_live::source::camera::CameraInfo;
use homestream_server::{ServeConfig, Tls};

/// The name of the window's live stream in URLs (`/live/live/`).
pub const STREAM: &str = "live";

/// Builds the server's configuration. `cameras` are the ones found by the last probe (a
/// camera is chosen by name and opened by its device node, so a re-plugged camera that got
/// another index is still the one chosen).
pub fn serve_config(s: &Settings, cameras: &[CameraInfo]) -> Result<ServeConfig, String> {
    for p in &s.paths {
        if !p.exists() {
            return Err(format!(
                "{} is not there any more: remove it from the list or put it back",
                p.display()
            ));
        }
    }
    let live = live_spec(s, cameras)?;
    if s.paths.is_empty() && live.is_none() {
        return Err(
            "nothing to share: add a folder or a file, or choose a camera or the test pattern"
                .into(),
        );
    }
    let auth = if s.login {
        Some(
            s.users_file_or_default()
                .ok_or("login is on but there is no users file: choose one")?,
        )
    } else {
        None
    };
    Ok(ServeConfig {
        paths: s.paths.clone(),
        bind: None,
        port: s.port,
        live: live.into_iter().collect(),
        auth,
        auth_config: Default::default(),
        tls: if s.https { Tls::SelfSigned } else { Tls::Off },
        no_sendfile: false,
        state_dir: homestream_server::default_state_dir(),
        // WebRTC on a free UDP port, as `serve` without `--webrtc-port`.
        webrtc: Default::default(),
        // ffmpeg from PATH, as `serve` without `--ffmpeg`.
        ..Default::default()
    })
}

/// The stream's SOURCE in the command line's syntax (`camera:/dev/video0@1280x720@30+mic:USB`),
/// checked by the same parser as `--live`.
fn live_spec(s: &Settings, cameras: &[CameraInfo]) -> Result<Option<LiveSpec>, String> {
    let size = format!("{}x{}@{}", s.width, s.height, s.fps);
    let video = match &s.video {
        Video::Off => {
            if let Some(mic) = &s.mic {
                return Err(format!(
                    "the microphone {mic:?} needs a picture to go with: choose a camera or the test pattern"
                ));
            }
            return Ok(None);
        }
        Video::Test => format!("test:{size}"),
        Video::Camera { name } => {
            let cam = cameras.iter().find(|c| &c.name == name).ok_or_else(|| {
                format!("camera {name:?} is not connected: plug it in and press Refresh, or choose another")
            })?;
            format!("camera:{}@{size}", cam.path)
        }
    };
    let source = match &s.mic {
        Some(m) => format!("{video}+mic:{m}"),
        None => video,
    };
    format!("{STREAM}={source}")
        .parse::<LiveSpec>()
        .map(Some)
        .map_err(|e| format!("live stream: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cam() -> CameraInfo {
        CameraInfo {
            name: "HD Webcam".into(),
            path: "/dev/video2".into(),
            modes: vec![],
        }
    }

    #[test]
    fn files_only_become_the_serve_config_of_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings {
            paths: vec![dir.path().to_path_buf()],
            ..Settings::default()
        };
        let c = serve_config(&s, &[]).unwrap();
        assert_eq!(c.paths, vec![dir.path().to_path_buf()]);
        assert_eq!(c.port, None, "no port: 8000 with fallback, as serve");
        assert_eq!(c.bind, None, "every interface, as serve");
        assert!(c.live.is_empty());
        assert_eq!(c.auth, None);
        assert_eq!(c.tls, Tls::Off);
        assert!(!c.no_sendfile);
    }

    #[test]
    fn live_choices_become_sources_in_the_cli_syntax() {
        let mut s = Settings {
            video: Video::Test,
            width: 640,
            height: 480,
            fps: 15,
            ..Settings::default()
        };
        let c = serve_config(&s, &[]).unwrap();
        assert_eq!(
            c.live,
            vec![LiveSpec {
                name: "live".into(),
                source: "test:640x480@15".into()
            }]
        );
        s.video = Video::Camera {
            name: "HD Webcam".into(),
        };
        s.mic = Some("USB Audio".into());
        let c = serve_config(&s, &[cam()]).unwrap();
        assert_eq!(
            c.live[0].source,
            "camera:/dev/video2@640x480@15+mic:USB Audio"
        );
        // The camera is gone: say so rather than start something else.
        let e = serve_config(&s, &[]).unwrap_err();
        assert!(e.contains("\"HD Webcam\" is not connected"), "{e}");
        // A microphone alone has no picture to go with.
        s.video = Video::Off;
        let e = serve_config(&s, &[]).unwrap_err();
        assert!(e.contains("needs a picture"), "{e}");
    }

    #[test]
    fn login_https_port_and_bad_paths() {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.toml");
        let mut s = Settings {
            paths: vec![dir.path().to_path_buf()],
            port: Some(8123),
            login: true,
            users_file: Some(users.clone()),
            https: true,
            ..Settings::default()
        };
        let c = serve_config(&s, &[]).unwrap();
        assert_eq!(c.port, Some(8123));
        assert_eq!(c.auth, Some(users));
        assert_eq!(c.tls, Tls::SelfSigned);
        s.paths.push(dir.path().join("vanished"));
        let e = serve_config(&s, &[]).unwrap_err();
        assert!(e.contains("vanished is not there any more"), "{e}");
        let e = serve_config(&Settings::default(), &[]).unwrap_err();
        assert!(e.starts_with("nothing to share"), "{e}");
        // A size the source refuses is refused here with the parser's words.
        let s = Settings {
            video: Video::Test,
            width: 10,
            height: 10,
            ..Settings::default()
        };
        let e = serve_config(&s, &[]).unwrap_err();
        assert!(e.starts_with("live stream:"), "{e}");
    }
}
