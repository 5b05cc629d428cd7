//! Headless Chromium logs in through the login page, fetches routes with its session, logs
//! out, and is refused after (tests/browser/auth_login.mjs). Needs node, the npm packages in
//! tests/browser (npm ci) and Debian's chromium.

mod common;

use std::path::PathBuf;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_logs_in_and_out_through_the_page() {
    let browser_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run npm ci in tests/browser"
    );
    assert!(
        std::path::Path::new(&std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()))
            .exists(),
        "chromium is required for this test (Debian package chromium)"
    );
    let s = common::start(common::cheap()).await;
    let paths = [
        "/",
        "/media/films/a.mp4",
        "/api/status",
        "/live/demo/index.m3u8",
    ];
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(browser_dir.join("auth_login.mjs"))
            .args([&s.base, "alice", "-"])
            .args(paths)
            .env("HS_PASSWORD", common::PASSWORD)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("browser script finished in time")
    .expect("node ran");
    assert!(
        out.status.success(),
        "browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from the script");
    eprintln!("chromium: {v}");
    assert_eq!(v["wrongMessage"], "wrong user or password");
    assert_eq!(v["landed"], "/");
    assert_eq!(v["cookie"]["httpOnly"], true);
    assert_eq!(v["cookie"]["sameSite"], "Strict");
    assert_eq!(v["cookie"]["secure"], false);
    for p in paths {
        assert_eq!(v["before"][p], 200, "{p} with the session: {v}");
        assert_eq!(v["after"][p], 401, "{p} after logout: {v}");
    }
    assert_eq!(v["logout"], 303);
    assert_eq!(v["afterNavigation"], "/login?next=%2F");
}
