//! The window driven headlessly by label (egui_kittest over AccessKit): Start shows the URL,
//! the URL serves the folder, the request shows in the log, Stop frees the port; the pickers
//! show "none found" entries on a machine without devices.

mod common;

use common::*;
use egui_kittest::kittest::{NodeT, Queryable};
use homestream_gui::settings::{Settings, Video};
use homestream_gui::state::{DeviceList, Event, Phase};
use std::time::Duration;

#[test]
fn start_by_label_shows_the_url_that_serves_the_folder_then_stop_frees_the_port() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("holiday-1998.mp4"), b"not really a movie").unwrap();
    let port = free_port();
    let settings = Settings {
        paths: vec![dir.path().to_path_buf()],
        port: Some(port),
        ..Settings::default()
    };
    let mut h = harness(settings, &rt);
    h.step();
    assert!(
        shows(&h, "holiday") || shows(&h, &dir.path().display().to_string()),
        "the shared folder is listed"
    );
    h.get_by_label("Start").click();
    let url = format!("http://127.0.0.1:{port}/");
    step_until(&mut h, Duration::from_secs(10), "the URL", |h| {
        shows(h, &url)
    });
    assert!(h.query_by_label("Start").is_none());
    h.get_by_label("Stop");
    assert!(shows(&h, "No login: anyone on this network can watch."));
    let page = http_get(port, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("holiday-1998.mp4"),
        "the page lists the folder: {page}"
    );
    // The request's line, the same as on the terminal, in the window's log.
    step_until(&mut h, Duration::from_secs(5), "the request line", |h| {
        shows(h, "GET / 200")
    });
    // The internet check went to a closed loopback port: offline, in red, and the LAN works.
    step_until(&mut h, Duration::from_secs(5), "the offline line", |h| {
        shows(h, "offline: no internet")
    });
    h.get_by_label("Stop").click();
    step_until(&mut h, Duration::from_secs(10), "Start again", |h| {
        h.query_by_label("Start").is_some()
    });
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free after Stop");
    assert!(!shows(&h, &url));
}

#[test]
fn a_port_in_use_is_a_message_and_the_window_stays_usable() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let held = std::net::TcpListener::bind("[::]:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let settings = Settings {
        paths: vec![dir.path().to_path_buf()],
        port: Some(port),
        ..Settings::default()
    };
    let mut h = harness(settings, &rt);
    h.step();
    h.get_by_label("Start").click();
    step_until(&mut h, Duration::from_secs(10), "the error", |h| {
        h.state().model.error.is_some()
    });
    let e = h.state().model.error.clone().unwrap();
    assert!(e.contains(&port.to_string()), "{e}");
    assert!(shows(&h, &e), "the message is shown");
    assert_eq!(h.state().model.phase, Phase::Stopped);
    // Free the port: the next Start works.
    drop(held);
    h.get_by_label("Start").click();
    step_until(&mut h, Duration::from_secs(10), "running", |h| {
        matches!(h.state().model.phase, Phase::Running(_))
    });
    h.state_mut().on_close();
}

#[test]
fn pickers_show_none_found_entries_when_there_are_no_devices() {
    let rt = runtime();
    let mut h = harness(Settings::default(), &rt);
    step_until(&mut h, Duration::from_secs(10), "the device probe", |h| {
        h.state().model.devices.is_some()
    });
    let found = homestream_live::cli::devices().unwrap();
    h.get_by_label("Camera").click();
    h.step();
    h.step();
    match found.cameras.first() {
        None => {
            let entry = h.get_by_label("no camera found");
            assert!(entry.accesskit_node().is_disabled(), "cannot be chosen");
        }
        Some(c) => assert!(shows(&h, &c.name)),
    }
    // Choose the test pattern, so that a microphone can go with it.
    h.get_by_label("test pattern").click();
    h.step();
    h.step();
    assert_eq!(h.state().model.settings.video, Video::Test);
    h.get_by_label("Microphone").click();
    h.step();
    h.step();
    match &found.microphones {
        Ok(m) if !m.is_empty() => assert!(shows(&h, &m[0].name)),
        _ => {
            let entry = h.get_by_label("no microphone found");
            assert!(entry.accesskit_node().is_disabled());
        }
    }
    // And where there are devices, they are listed by name.
    h.state_mut().model.apply(Event::Devices(DeviceList {
        cameras: vec![homestream_live::source::camera::CameraInfo {
            name: "Integrated Camera".into(),
            path: "/dev/video0".into(),
            modes: vec![],
        }],
        mics: Ok(vec![]),
        camera_error: None,
    }));
    h.key_press(homestream_gui::egui::Key::Escape);
    h.step();
    h.step();
    h.get_by_label("Camera").click();
    h.step();
    h.step();
    assert!(shows(&h, "Integrated Camera"));
}

/// A file as the windowing system hands a drop to egui.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl homestream_gui::egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropping_folders_onto_the_window_adds_them_once_and_remove_takes_them_out() {
    let rt = runtime();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut h = harness(Settings::default(), &rt);
    h.step();
    assert!(shows(&h, "Nothing yet"));
    for dir in [&a, &b, &a] {
        h.input_mut()
            .dropped_files
            .push(std::sync::Arc::new(Dropped(dir.path().to_path_buf())));
        h.step();
    }
    assert_eq!(
        h.state().model.settings.paths,
        vec![a.path().to_path_buf(), b.path().to_path_buf()]
    );
    assert!(shows(&h, &b.path().display().to_string()));
    h.get_all_by_label("remove").next().unwrap().click();
    h.step();
    h.step();
    assert_eq!(h.state().model.settings.paths, vec![b.path().to_path_buf()]);
    // A path that vanished is marked, and Start says so instead of starting.
    drop(b);
    h.step();
    assert!(shows(&h, "(not found)"));
    h.get_by_label("Start").click();
    h.step();
    h.step();
    assert!(shows(&h, "is not there any more"));
    assert_eq!(h.state().model.phase, Phase::Stopped);
}

#[test]
fn add_user_in_the_window_then_start_with_login_requires_it() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let port = free_port();
    let settings = Settings {
        paths: vec![dir.path().to_path_buf()],
        port: Some(port),
        users_file: Some(users.clone()),
        ..Settings::default()
    };
    let mut h = harness(settings, &rt);
    h.step();
    for (field, text) in [("Name", "ann"), ("Password", "correct horse battery")] {
        h.get_by_label(field).focus();
        h.run_steps(3);
        h.get_by_label(field).type_text(text);
        h.run_steps(3);
    }
    h.get_by_label("Add user").click();
    step_until(&mut h, Duration::from_secs(20), "the user saved", |h| {
        let m = &h.state().model;
        assert_eq!(m.error, None);
        m.note
            .as_deref()
            .is_some_and(|n| n.starts_with("user ann saved in"))
    });
    assert!(shows(&h, "user ann saved in"));
    assert!(users.exists());
    h.get_by_label("Login").click();
    h.step();
    assert!(h.state().model.settings.login);
    h.get_by_label("Start").click();
    step_until(&mut h, Duration::from_secs(10), "running with login", |h| {
        shows(h, "Login required (users from")
    });
    let page = http_get(port, "/");
    assert!(
        !page.starts_with("HTTP/1.1 200"),
        "the library needs a login now: {page}"
    );
    h.state_mut().on_close();
    // A users file that cannot be read is a message, not a crash.
    std::fs::write(&users, "this is not toml [").unwrap();
    let mut h = harness(
        Settings {
            paths: vec![dir.path().to_path_buf()],
            port: Some(port),
            users_file: Some(users.clone()),
            login: true,
            ..Settings::default()
        },
        &rt,
    );
    h.step();
    h.get_by_label("Start").click();
    step_until(&mut h, Duration::from_secs(10), "the error", |h| {
        h.state().model.error.is_some()
    });
    assert_eq!(h.state().model.phase, Phase::Stopped);
    let e = h.state().model.error.clone().unwrap();
    assert!(e.contains("users.toml"), "the message names the file: {e}");
    assert!(shows(&h, &e));
}
