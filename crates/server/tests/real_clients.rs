//! Real peers against the library: headless Chromium plays and seeks, ffprobe reads a duration.
//! Both need Debian's chromium and ffmpeg, which the README's test command installs; missing
//! tools fail these tests rather than skip them.

mod common;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // moov at the end: the browser must use a range request to find the index.
    common::make_clip(&dir.path().join("clip.mp4"), 30, false);
    std::fs::write(
        dir.path().join("clip.srt"),
        "1\n00:00:00,500 --> 00:00:20,000\nHello\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.avi"), b"RIFF\0\0\0\0AVI not really").unwrap();
    common::make_clip(&dir.path().join("clip.mov"), 3, true);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_and_seeks_a_library_video() {
    let dir = fixture();
    let server = common::serve(&[dir.path()]).await;
    let base = format!("http://{}/", server.local_addr);
    let seen = homestream_test_support::browser_script("library_play.mjs", &[&base], &[]).await;
    homestream_test_support::assert_no_console_errors(&seen);
    assert_eq!(seen["href"], "/watch/clip.mp4");
    assert!(seen["first"]["width"].as_u64() == Some(320), "{seen}");
    assert!(seen["first"]["time"].as_f64().unwrap() > 1.0, "{seen}");
    let target = seen["target"].as_f64().unwrap();
    assert!((target - 18.0).abs() < 1.0, "60 % of a 30 s clip: {seen}");
    assert!(
        seen["after"]["time"].as_f64().unwrap() > target + 1.0,
        "{seen}"
    );
    assert_eq!(seen["after"]["paused"], false);
    assert_eq!(
        seen["after"]["tracks"], 1,
        "the sidecar .srt is a track: {seen}"
    );
    assert_eq!(seen["warningShown"], false);
    let statuses: Vec<u64> = seen["mediaStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_u64())
        .collect();
    assert!(
        statuses.iter().filter(|&&s| s == 206).count() >= 2,
        "range requests: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 206 || s == 200),
        "{statuses:?}"
    );
    assert_eq!(
        seen["avi"]["warningShown"], true,
        "a file Chromium cannot play says so: {seen}"
    );
    assert!(
        seen["avi"]["text"]
            .as_str()
            .unwrap()
            .contains("This browser cannot play broken.avi"),
        "{seen}"
    );
    assert_eq!(seen["avi"]["download"], "/media/broken.avi");
    assert_eq!(seen["mov"]["width"], 320, "{seen}");
    assert_eq!(
        seen["mov"]["warningShown"], false,
        "a MOV Chromium plays is not called unplayable: {seen}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_keys_resume_and_next_work_on_the_player_page() {
    let dir = tempfile::tempdir().unwrap();
    common::make_clip(&dir.path().join("1 first.mp4"), 40, true);
    common::make_clip(&dir.path().join("2 second.mp4"), 3, true);
    std::fs::write(
        dir.path().join("1 first.srt"),
        "1\n00:00:00,000 --> 00:00:40,000\nHello\n",
    )
    .unwrap();
    let server = common::serve(&[dir.path()]).await;
    let base = format!("http://{}", server.local_addr);
    let seen = homestream_test_support::browser_script(
        "library_keys.mjs",
        &[&base, "/watch/1 first.mp4"],
        &[],
    )
    .await;
    homestream_test_support::assert_no_console_errors(&seen);
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    assert_eq!(seen["start"]["paused"], false, "{seen}");
    assert_eq!(seen["afterK"]["paused"], true, "k pauses: {seen}");
    assert_eq!(seen["afterKK"]["paused"], false, "k plays again: {seen}");
    assert!(
        (f(&seen["arrowRight"]) - 5.0).abs() < 0.5,
        "→ seeks 5 s: {seen}"
    );
    assert!(
        (f(&seen["afterFive"]["time"]) - 20.0).abs() < 1.0,
        "5 jumps to 50 %: {seen}"
    );
    assert_eq!(seen["start"]["subtitles"], "showing", "{seen}");
    assert_eq!(seen["subtitlesAfterC"], "disabled", "c hides: {seen}");
    assert_eq!(seen["subtitlesAfterCC"], "showing", "c shows: {seen}");
    let saved = f(&seen["saved"]);
    assert!(
        (f(&seen["resumed"]["time"]) - saved).abs() < 3.0,
        "resumed near {saved}: {seen}"
    );
    assert_eq!(seen["afterN"], "/watch/2 second.mp4", "{seen}");
    assert_eq!(seen["afterP"], "/watch/1 first.mp4", "{seen}");
    assert_eq!(seen["afterEnd"], "/watch/2 second.mp4", "{seen}");
    assert!(
        seen["savedAfterEnd"].is_null(),
        "a finished video is forgotten: {seen}"
    );
    server.shutdown().await;
}

/// The issue says the library "works on a phone": on a 390 px touch screen nothing scrolls
/// sideways (a 90-character file name included), list rows are thumb-sized, text stays readable,
/// and tapping moves through folder, player and breadcrumb.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_works_on_a_phone_screen() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("Holidays 2024");
    std::fs::create_dir(&folder).unwrap();
    let long = format!("{}.mp4", "a_very_long_file_name_without_spaces".repeat(3));
    common::make_clip(&folder.join(&long), 3, true);
    common::make_clip(&dir.path().join("Top level clip.mp4"), 2, true);
    let server = common::serve(&[dir.path()]).await;
    let base = format!("http://{}/", server.local_addr);
    let seen = homestream_test_support::browser_script("library_phone.mjs", &[&base], &[]).await;
    homestream_test_support::assert_no_console_errors(&seen);
    for page in ["home", "folder", "watch"] {
        let p = &seen[page];
        assert_eq!(p["viewport"], 390, "{page}: {seen}");
        assert_eq!(p["viewportMeta"], true, "{page}: {seen}");
        assert!(
            p["overflowX"].as_f64().unwrap() <= 0.0,
            "{page} scrolls sideways: {seen}"
        );
        assert!(
            p["rightmost"].as_f64().unwrap() <= 390.0,
            "{page}: a control is off screen: {seen}"
        );
        assert!(
            p["smallestFont"].as_f64().unwrap() >= 13.0,
            "{page}: text too small: {seen}"
        );
    }
    for page in ["home", "folder"] {
        assert!(
            seen[page]["smallestItem"].as_f64().unwrap() >= 44.0,
            "{page}: rows under 44 px are hard to tap: {seen}"
        );
    }
    assert_eq!(seen["folderUrl"], format!("{base}browse/Holidays%202024/"));
    assert_eq!(
        seen["watchUrl"],
        format!("{base}watch/Holidays%202024/{long}"),
        "{seen}"
    );
    let video = &seen["video"];
    assert!(video["left"].as_f64().unwrap() >= 0.0, "{seen}");
    assert!(video["right"].as_f64().unwrap() <= 390.0, "{seen}");
    assert!(
        video["width"].as_f64().unwrap() >= 300.0,
        "the video uses the screen's width: {seen}"
    );
    assert_eq!(seen["backHome"], base);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffprobe_reads_duration_over_http() {
    let dir = fixture();
    let server = common::serve(&[dir.path()]).await;
    let url = format!("http://{}/media/clip.mp4", server.local_addr);
    let secs = tokio::task::spawn_blocking(move || homestream_test_support::ffprobe_duration(&url))
        .await
        .unwrap();
    assert!((secs - 30.0).abs() < 0.2, "duration {secs}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_logs_in_plays_and_is_refused_after_logout() {
    use homestream_auth::password::{HashParams, hash_password};
    let dir = fixture();
    let secrets = tempfile::tempdir().unwrap();
    let users = secrets.path().join("users.toml");
    let mut f = homestream_auth::users::UsersFile::default();
    f.set_user(
        "alice",
        hash_password("s3cret words", HashParams::cheap()).unwrap(),
        false,
    )
    .unwrap();
    f.save(&users).unwrap();
    let server = homestream_server::start(homestream_server::ServeConfig {
        paths: vec![dir.path().to_path_buf()],
        bind: Some(std::net::Ipv4Addr::LOCALHOST.into()),
        port: Some(0),
        live: vec!["demo=test:320x240@10".parse().unwrap()],
        auth: Some(users),
        auth_config: homestream_auth::AuthConfig {
            hash_params: HashParams::cheap(),
            ..Default::default()
        },
        tls: homestream_server::Tls::Off,
        no_sendfile: false,
        state_dir: None,
        webrtc: Default::default(),
        ..Default::default()
    })
    .await
    .unwrap();
    let base = format!("http://{}", server.local_addr);
    let seen = homestream_test_support::browser_script(
        "auth_play.mjs",
        &[&base, "alice", "/watch/clip.mp4", "/live/demo/"],
        &[("HS_PASSWORD", "s3cret words")],
    )
    .await;
    assert_eq!(seen["landed"], "/watch/clip.mp4", "{seen}");
    assert!(seen["video"]["time"].as_f64().unwrap() > 1.0, "{seen}");
    assert_eq!(seen["video"]["width"], 320, "{seen}");
    assert_eq!(seen["live"]["width"], 320, "{seen}");
    assert_eq!(
        seen["logout"], "/login",
        "the header's logout button: {seen}"
    );
    for (path, status) in seen["after"].as_object().unwrap() {
        assert_eq!(status, 401, "{path} after logout: {seen}");
    }
    assert_eq!(seen["afterNavigation"], "/login", "{seen}");
    homestream_test_support::assert_no_console_errors(&seen);
    server.shutdown().await;
}
