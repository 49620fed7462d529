//! A key prefix of its own for one test on the machine's Redis (127.0.0.1:6379), its keys
//! deleted when the test ends, even when it fails.
//!
//! Not here: opening a store on it (the test does that with [`TempPrefix::url`]).

use crate::{service_missing, unique_name};

/// The machine's Redis, database 0.
pub const REDIS: &str = "redis://127.0.0.1:6379/0";

/// A key prefix on the machine's Redis for one test; its keys are deleted on drop.
#[derive(Debug)]
pub struct TempPrefix {
    /// The key prefix; every key the store writes starts with `<prefix>:`.
    pub prefix: String,
    /// The store URL: [`REDIS`] with `?prefix=`.
    pub url: String,
}

impl TempPrefix {
    /// A fresh prefix; `None` after [`service_missing`] when Redis does not answer (which
    /// fails the test under `CI=true`).
    pub fn new() -> Option<TempPrefix> {
        let prefix = unique_name("taskpilot-test", '-');
        let url = format!("{REDIS}?prefix={prefix}");
        let ping = redis::Client::open(REDIS)
            .and_then(|client| client.get_connection())
            .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
        match ping {
            Ok(_) => Some(TempPrefix { prefix, url }),
            Err(e) => {
                service_missing(&format!("Redis at {REDIS}"), e);
                None
            }
        }
    }

    /// The keys under the prefix.
    ///
    /// # Errors
    /// When Redis cannot be reached or refuses the query.
    pub fn keys(&self) -> redis::RedisResult<Vec<String>> {
        let client = redis::Client::open(REDIS)?;
        let mut conn = client.get_connection()?;
        redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut conn)
    }
}

impl Drop for TempPrefix {
    fn drop(&mut self) {
        let cleaned = self.keys().and_then(|keys| {
            if keys.is_empty() {
                return Ok(());
            }
            let client = redis::Client::open(REDIS)?;
            let mut conn = client.get_connection()?;
            redis::cmd("DEL").arg(keys).query::<()>(&mut conn)
        });
        if let Err(e) = cleaned {
            eprintln!(
                "warning: could not delete the keys under {}: {e}",
                self.prefix
            );
        }
    }
}
