//! TLS for a listener: PEM certificate and key files made into a rustls
//! `ServerConfig`, held behind a lock that is read once per accepted
//! connection. A reload (the files changed on disk, or SIGHUP) swaps the
//! config: new connections get the new certificate, open ones keep theirs.
//!
//! Kubernetes rotates a mounted Secret by swapping a symlink, and a writer may
//! replace the certificate before the key: a pair that does not load (or does
//! not match) is refused with a warning and the previous one stays in force;
//! the next poll tries again.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS {file}: {message}")]
    File { file: String, message: String },
    #[error("TLS {cert} with {key}: {message}")]
    Pair { cert: String, key: String, message: String },
}

/// A listener's TLS settings, reloadable while it serves.
pub struct ReloadingTls {
    files: TlsConfig,
    current: RwLock<Arc<ServerConfig>>,
    /// Digest of the file contents behind `current`: a change on disk differs from it.
    loaded: Mutex<[u8; 32]>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File { file: path.display().to_string(), message: e.to_string() })
}

fn digest(cert: &[u8], key: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((cert.len() as u64).to_be_bytes());
    h.update(cert);
    h.update(key);
    h.finalize().into()
}

fn build(files: &TlsConfig, cert_pem: &[u8], key_pem: &[u8]) -> Result<ServerConfig, TlsError> {
    let file_error = |p: &Path, m: String| TlsError::File { file: p.display().to_string(), message: m };
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(&files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(file_error(&files.cert, "no CERTIFICATE in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| file_error(&files.key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pair_error = |m: String| TlsError::Pair {
        cert: files.cert.display().to_string(),
        key: files.key.display().to_string(),
        message: m,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| pair_error(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| pair_error(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl ReloadingTls {
    /// Loads the files; a fault is a start-up error.
    pub fn load(files: TlsConfig) -> Result<Self, TlsError> {
        let (cert, key) = (read(&files.cert)?, read(&files.key)?);
        let config = build(&files, &cert, &key)?;
        Ok(Self { current: RwLock::new(Arc::new(config)), loaded: Mutex::new(digest(&cert, &key)), files })
    }

    /// The acceptor for one new connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.read().unwrap_or_else(PoisonError::into_inner).clone())
    }

    /// Re-reads the files; swaps the config when they changed and load. True if it swapped.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let (cert, key) = (read(&self.files.cert)?, read(&self.files.key)?);
        let d = digest(&cert, &key);
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if *loaded == d {
            return Ok(false);
        }
        let config = build(&self.files, &cert, &key)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
        *loaded = d;
        Ok(true)
    }

    /// `reload`, with the outcome logged (for the poller and SIGHUP).
    pub fn reload_logged(&self) {
        match self.reload() {
            Ok(true) => tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "TLS files changed but do not load; keeping the previous certificate"),
        }
    }
}
