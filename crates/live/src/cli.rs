//! `homestream devices`: the command's edge, where errors become messages.

use crate::source::camera::{self, CameraInfo};
use serde_json::{Value, json};
use std::process::ExitCode;

/// What `devices` found.
#[derive(Debug)]
pub struct Devices {
    /// Cameras with their modes.
    pub cameras: Vec<CameraInfo>,
    /// Microphones, or why they cannot be listed (a build without microphone support, no
    /// sound system).
    pub microphones: Result<Vec<homestream_mic::MicInfo>, String>,
}

/// Looks for cameras and microphones.
pub fn devices() -> anyhow::Result<Devices> {
    Ok(Devices {
        cameras: camera::list_cameras()?,
        microphones: homestream_mic::list().map_err(|e| e.to_string()),
    })
}

/// The JSON document of `devices --json`.
pub fn to_json(d: &Devices) -> Value {
    let (mics, mic_error) = match &d.microphones {
        Ok(m) => (
            m.iter()
                .map(|m| {
                    json!({
                        "name": m.name,
                        "default": m.is_default,
                        "source": format!("mic:{}", m.name),
                    })
                })
                .collect::<Vec<_>>(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.clone())),
    };
    let default = d
        .microphones
        .as_ref()
        .ok()
        .and_then(|m| m.iter().find(|m| m.is_default).map(|m| m.name.clone()));
    json!({
        "cameras": d.cameras,
        "microphones": mics,
        "default_microphone": default,
        "microphones_error": mic_error,
    })
}

/// The text of `devices`.
pub fn to_text(d: &Devices) -> String {
    let mut out = String::new();
    if d.cameras.is_empty() {
        out += "no cameras found (no video capture devices under /dev/video*)\n";
    }
    for (i, c) in d.cameras.iter().enumerate() {
        out += &format!("camera:{i}  {}  ({})\n", c.name, c.path);
        for m in &c.modes {
            out += &format!("    {m}\n");
        }
    }
    match &d.microphones {
        Err(e) => out += &format!("microphones: {e}\n"),
        Ok(m) if m.is_empty() => out += "no microphones found\n",
        Ok(m) => {
            for m in m {
                let default = if m.is_default { "  (default)" } else { "" };
                out += &format!("mic:{}{default}\n", m.name);
            }
        }
    }
    out
}

/// Runs `homestream devices`: lists cameras with friendly names and modes and microphones, or
/// says there are none. With `json`, prints one JSON document.
pub fn run_devices(json: bool) -> anyhow::Result<ExitCode> {
    let d = devices()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&to_json(&d))?);
    } else {
        print!("{}", to_text(&d));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_what_is_there_and_says_when_nothing_is() {
        let none = Devices {
            cameras: Vec::new(),
            microphones: Ok(Vec::new()),
        };
        let text = to_text(&none);
        assert!(text.contains("no cameras found") && text.contains("no microphones found"));
        let j = to_json(&none);
        assert_eq!(j["cameras"], json!([]));
        assert_eq!(j["microphones"], json!([]));
        let some = Devices {
            cameras: vec![CameraInfo {
                name: "HD Webcam".into(),
                path: "/dev/video0".into(),
                modes: vec!["MJPG 1280x720 @ 30 fps".into()],
            }],
            microphones: Err("this build has no microphone support".into()),
        };
        let j = to_json(&some);
        assert_eq!(j["cameras"][0]["name"], "HD Webcam");
        assert_eq!(j["cameras"][0]["modes"][0], "MJPG 1280x720 @ 30 fps");
        assert_eq!(
            j["microphones_error"],
            "this build has no microphone support"
        );
        let text = to_text(&some);
        assert!(
            text.contains("camera:0  HD Webcam  (/dev/video0)"),
            "{text}"
        );
        assert!(text.contains("MJPG 1280x720 @ 30 fps"));
        assert!(text.contains("microphones: this build has no microphone support"));
    }

    #[test]
    fn this_machines_devices_are_read_into_the_document() {
        // Whatever this machine has, the document says it: every camera found is listed
        // with a name and a device node, and microphones are a list or a reason.
        let d = devices().expect("devices");
        let j = to_json(&d);
        let cams = j["cameras"].as_array().expect("cameras array");
        assert_eq!(cams.len(), d.cameras.len());
        for c in cams {
            assert!(c["name"].as_str().is_some_and(|n| !n.is_empty()), "{c}");
            assert!(
                c["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/dev/video")),
                "{c}"
            );
        }
        match &d.microphones {
            Ok(m) => assert_eq!(j["microphones"].as_array().map(Vec::len), Some(m.len())),
            Err(e) => assert_eq!(j["microphones_error"].as_str(), Some(e.as_str())),
        }
    }
}
