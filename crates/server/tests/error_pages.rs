//! Errors over real TCP: a browser (Accept: text/html) gets a page in the site's look, a player
//! or script one line of text, for the server's own 404s and the live streams' alike.

mod common;

use reqwest::header;

async fn get(url: &str, accept: &str) -> (u16, String, String) {
    let r = reqwest::Client::new()
        .get(url)
        .header(header::ACCEPT, accept)
        .send()
        .await
        .unwrap();
    let ct = r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    (r.status().as_u16(), ct, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_error_pages_and_other_clients_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve(&[dir.path()]).await;
    let base = format!("http://{}", server.local_addr);
    const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in [
        "/nowhere",
        "/watch/missing.mp4",
        "/media/missing.mp4",
        "/live/unknown/",
    ] {
        let (status, ct, body) = get(&format!("{base}{path}"), BROWSER).await;
        assert_eq!(status, 404, "{path}");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        assert!(
            body.contains("<title>404 Not Found · homestream</title>"),
            "{path}: {body}"
        );
        assert!(body.contains("/assets/style.css"), "{path}: {body}");
        let (status, ct, body) = get(&format!("{base}{path}"), "*/*").await;
        assert_eq!(status, 404, "{path}");
        assert!(ct.starts_with("text/plain"), "{path}: {ct}");
        assert!(
            !body.contains('<') && body.ends_with('\n'),
            "{path}: {body}"
        );
    }
    let (_, _, body) = get(&format!("{base}/live/unknown/"), BROWSER).await;
    assert!(
        body.contains("no live stream named"),
        "the live crate's message: {body}"
    );
    server.shutdown().await;
}
