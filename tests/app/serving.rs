//! Serving: slow or stalled clients are dropped, connections are capped, HSTS on https.

use crate::helpers::{spawn_app_serving, spawn_app_with};
use aqm::app::ServeLimits;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn host(app: &crate::helpers::TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection; how long that took, or `None` if it was still
/// open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut buf)).await {
        Ok(_) => Some(start.elapsed()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn stalled_and_slow_clients_are_dropped() {
    let limits = ServeLimits {
        header_read: Duration::from_secs(1),
        idle: Duration::from_secs(2),
        ..ServeLimits::default()
    };
    let app = spawn_app_serving(|_| {}, limits).await;
    let addr = host(&app);

    // A request cut off in its headers, with no more bytes to come.
    let mut partial = TcpStream::connect(&addr).await.unwrap();
    partial
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();

    // A client sending one header line every 300 ms: never idle, never finished.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let (mut slow_read, mut slow_write) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let line = format!("X-Line-{i}: a\r\n");
            if slow_write.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });

    // A request whose body stops half way.
    let mut body = TcpStream::connect(&addr).await.unwrap();
    body.write_all(
        b"POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a",
    )
    .await
    .unwrap();

    // A kept-alive connection left idle after its answer.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    let within = Duration::from_secs(8);
    assert!(
        closed_within(&mut partial, within).await.is_some(),
        "a partial request was still open after {within:?}"
    );
    let mut buf = Vec::new();
    let slow_closed = tokio::time::timeout(within, slow_read.read_to_end(&mut buf)).await;
    assert!(
        slow_closed.is_ok(),
        "a client trickling header lines was still connected after {within:?}"
    );
    trickle.abort();
    assert!(
        closed_within(&mut body, within).await.is_some(),
        "a stalled request body was still open after {within:?}"
    );
    assert!(
        closed_within(&mut idle, within).await.is_some(),
        "an idle kept-alive connection was still open after {within:?}"
    );
    // The server itself carries on.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_their_turn() {
    let limits = ServeLimits {
        max_connections: 2,
        ..ServeLimits::default()
    };
    let app = spawn_app_serving(|_| {}, limits).await;
    let addr = host(&app);
    let first = TcpStream::connect(&addr).await.unwrap();
    let second = TcpStream::connect(&addr).await.unwrap();
    // Give the server the moment it needs to accept both.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = TcpStream::connect(&addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let early = tokio::time::timeout(Duration::from_secs(1), third.read_to_end(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection was served while two were open: {}",
        String::from_utf8_lossy(&buf)
    );
    drop(first);
    let late = tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut buf)).await;
    assert!(late.is_ok(), "the third connection was never served");
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
    drop(second);
}

#[tokio::test]
async fn https_addresses_get_hsts_and_http_ones_do_not() {
    let https = spawn_app_with(|c| c.base_url = Some("https://aqm.example".into())).await;
    let page = https.get("/").await;
    assert_eq!(
        page.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000")
    );
    let plain = crate::helpers::spawn_app().await;
    let page = plain.get("/").await;
    assert!(page.headers().get("strict-transport-security").is_none());
}
