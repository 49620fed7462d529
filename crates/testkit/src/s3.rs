//! A bucket of its own for one test on the S3-compatible server `scripts/s3-server start`
//! runs (moto, at `TASKPILOT_TEST_S3_ENDPOINT`).
//!
//! Not here: opening a store on it (the test does that with [`TempBucket::url`] and
//! [`options`]).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{service_missing, unique_name};

/// The test server's endpoint; `None` after [`service_missing`] when there is none (which
/// fails the test under `CI=true`).
pub fn endpoint() -> Option<String> {
    match std::env::var("TASKPILOT_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            service_missing(
                "an S3 server",
                "TASKPILOT_TEST_S3_ENDPOINT is not set; run `eval \"$(scripts/s3-server start)\"`",
            );
            None
        }
    }
}

/// A bucket name no other test uses.
pub fn unique_bucket() -> String {
    unique_name("taskpilot-test", '-')
}

/// The `aws_*` options of an S3 store on the plain-HTTP test server at `endpoint`.
pub fn options<'a>(
    endpoint: &'a str,
    key_id: &'a str,
    secret: &'a str,
) -> [(&'static str, &'a str); 5] {
    [
        ("aws_endpoint", endpoint),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", key_id),
        ("aws_secret_access_key", secret),
        ("aws_region", "us-east-1"),
    ]
}

/// A plain HTTP request to the server (bucket creation needs no signature on moto); returns
/// the status code, 0 when the answer has none.
///
/// # Panics
/// When the server cannot be reached, naming it.
async fn http(endpoint: &str, method: &str, path: &str) -> u16 {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the S3 server at {endpoint}: {e}"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut response = String::new();
    let exchanged = async {
        stream.write_all(request.as_bytes()).await?;
        stream.read_to_string(&mut response).await
    };
    if let Err(e) = exchanged.await {
        panic!("{method} {path} on the S3 server at {endpoint}: {e}");
    }
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A bucket created for one test on the test server.
#[derive(Debug)]
pub struct TempBucket {
    /// The server's URL (`http://127.0.0.1:<port>`).
    pub endpoint: String,
    /// The bucket's name.
    pub name: String,
}

impl TempBucket {
    /// A fresh bucket; `None` when there is no test server (see [`endpoint`]).
    ///
    /// # Panics
    /// When the server does not create the bucket.
    pub async fn new() -> Option<TempBucket> {
        let endpoint = endpoint()?;
        let name = unique_bucket();
        let status = http(&endpoint, "PUT", &format!("/{name}")).await;
        assert_eq!(status, 200, "create bucket {name} at {endpoint}");
        Some(TempBucket { endpoint, name })
    }

    /// `s3://<bucket>/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.name)
    }
}
