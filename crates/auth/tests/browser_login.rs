//! Headless Chromium logs in through the login page, fetches routes with its session, logs
//! out, and is refused after (tests/browser/auth_login.mjs). Needs node, the npm packages in
//! tests/browser (npm ci) and Debian's chromium.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_logs_in_and_out_through_the_page() {
    let s = common::start(common::cheap()).await;
    let paths = [
        "/",
        "/media/films/a.mp4",
        "/api/status",
        "/live/demo/index.m3u8",
    ];
    let mut args = vec![s.base.as_str(), "alice", "-"];
    args.extend(paths);
    let v = homestream_test_support::browser_script(
        "auth_login.mjs",
        &args,
        &[("HS_PASSWORD", common::PASSWORD)],
    )
    .await;
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
    assert_eq!(v["logout"]["status"], 303, "{v}");
    assert_eq!(v["logout"]["location"], "/login", "{v}");
    assert_eq!(v["afterNavigation"], "/login?next=%2F");
    // Chromium logs the answers the test asks for on purpose: 401 to the wrong password and to
    // every path fetched after logout. Anything else is a fault.
    homestream_test_support::assert_no_console_errors_except(
        &v,
        &["the server responded with a status of 401"],
    );
}
