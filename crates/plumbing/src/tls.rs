//! The process-wide TLS crypto provider. reqwest, the Redis client and the S3 client are built
//! with rustls and no provider of their own in this workspace, so whoever opens the first TLS
//! connection installs ring.

/// Installs ring as the default rustls provider. Idempotent: another part of the process may
/// have installed one already, which is fine.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
