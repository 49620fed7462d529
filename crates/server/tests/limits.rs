//! Slow and stalled clients (issue 18): connections that stop in the middle of their request
//! line are closed by the server once the header timeout passes, a body that stops arriving
//! is refused, and with every connection slot taken by stalled clients `/health` still answers.
//! The server runs with short timeouts and few slots so the test is quick; the bounds below
//! are generous deadlines for "eventually", not performance assertions.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use taskpilot_server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A connection that sends half a request line and then nothing.
async fn stalled(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /hea").await.unwrap();
    s
}

/// Reads until the server closes the connection (or answers and closes); what it sent.
async fn until_closed(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_mins(1), s.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server never closed the stalled connection"
    );
    String::from_utf8_lossy(&buf).into_owned()
}

async fn health(addr: SocketAddr) -> u16 {
    reqwest::Client::new()
        .get(format!("http://{addr}/health"))
        .timeout(Duration::from_mins(1))
        .send()
        .await
        .expect("/health answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn stalled_connections_are_closed_and_health_keeps_answering() {
    let limits = Limits {
        max_connections: 16,
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
    };
    let server = common::TestServer::start_limited(limits).await;
    let addr = server.addr;
    let mut conns = Vec::new();
    for _ in 0..40 {
        conns.push(stalled(addr).await);
    }
    assert_eq!(conns.len(), 40);
    // More stalled connections than slots: /health still gets its turn.
    for _ in 0..3 {
        assert_eq!(health(addr).await, 200);
    }
    // Every stalled connection is closed by the server, none answered with a page.
    for c in &mut conns {
        let answer = until_closed(c).await;
        assert!(!answer.contains("200 OK"), "{answer}");
    }
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_refused() {
    let limits = Limits {
        max_connections: 16,
        header_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_millis(300),
    };
    let server = common::TestServer::start_limited(limits).await;
    let addr = server.addr;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "POST /api/v1/tasks HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"title\": "
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answer = until_closed(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert_eq!(health(addr).await, 200);
}
