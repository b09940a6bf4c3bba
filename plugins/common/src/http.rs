//! The HTTP client of the outputs that post to an endpoint (write_http,
//! remote_write), with collectd's TLS and authentication options mapped
//! onto rustls (no libcurl): `VerifyPeer`, `VerifyHost`, `CACert`,
//! `ClientCert`/`ClientKey`, basic or bearer authentication and extra
//! headers. Each answer is classified for the [`Outbox`]: 2xx delivered,
//! connection errors, timeouts, 429 and 5xx worth a retry, any other
//! status refused for good.
//!
//! [`Outbox`]: crate::outbox::Outbox

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::outbox::Outcome;

/// Where the system's CA bundle lives (Debian, then Amazon Linux / RHEL).
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// Bytes of an error response kept for the log.
const ERROR_BODY_MAX: u64 = 1024;

/// TLS options, named as collectd's curl-based plugins name them.
#[derive(Debug, Clone, PartialEq)]
pub struct Tls {
    /// `VerifyPeer`: check the server's certificate chain.
    pub verify_peer: bool,
    /// `VerifyHost`: check that the certificate names the host.
    pub verify_host: bool,
    /// `CACert`: PEM file of trusted CAs (default: the system's bundle).
    pub ca_cert: Option<PathBuf>,
    /// `ClientCert`: PEM certificate chain to present.
    pub client_cert: Option<PathBuf>,
    /// `ClientKey`: its PEM private key.
    pub client_key: Option<PathBuf>,
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            verify_peer: true,
            verify_host: true,
            ca_cert: None,
            client_cert: None,
            client_key: None,
        }
    }
}

/// The `Authorization` value for `user` and `password` (HTTP basic).
pub fn basic_auth(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// Splits a collectd `Header "Name: value"` option.
pub fn parse_header(line: &str) -> Result<(String, String), String> {
    match line.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "invalid header \"{line}\": expected \"Name: value\""
        )),
    }
}

/// A certificate verifier that applies `VerifyPeer false` (accept any
/// chain) or `VerifyHost false` (accept a valid chain for another name);
/// signatures are still checked, so the session itself is sound.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    verify_peer: bool,
    verify_host: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.verify_peer {
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.verify_host => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn load_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("reading {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate found", path.display()));
    }
    Ok(certs)
}

/// The rustls configuration for these options.
fn tls_config(tls: &Tls) -> Result<Arc<ClientConfig>, String> {
    // ring rather than aws-lc-rs (rustls' preference, with post-quantum key
    // exchange): aws-lc-rs needs cmake and a long C build on every machine
    // that builds rcollectd.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    let bundle = tls.ca_cert.clone().or_else(|| {
        SYSTEM_CA_BUNDLES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    });
    match bundle {
        Some(path) => {
            let (added, _) = roots.add_parsable_certificates(load_certs(&path)?);
            if added == 0 {
                return Err(format!("{}: no usable CA certificate", path.display()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier {
            inner,
            provider,
            verify_peer: tls.verify_peer,
            verify_host: tls.verify_host,
        }));
    let config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("reading {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(load_certs(cert)?, key)
                .map_err(|e| format!("client certificate: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// One endpoint: URL, headers and a connection-reusing agent.
pub struct Endpoint {
    url: String,
    headers: Vec<(String, String)>,
    agent: ureq::Agent,
    tls: Option<Arc<ClientConfig>>,
    timeout: Option<Duration>,
}

/// A connection-reusing agent with these settings.
fn agent(
    tls: Option<&Arc<ClientConfig>>,
    timeout: Option<Duration>,
    stall: Option<Duration>,
) -> ureq::Agent {
    let mut builder = ureq::AgentBuilder::new()
        .user_agent(concat!("rcollectd/", env!("CARGO_PKG_VERSION")))
        .redirects(50);
    if let Some(tls) = tls {
        builder = builder.tls_config(tls.clone());
    }
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    if let Some(s) = stall {
        builder = builder.timeout_read(s).timeout_write(s);
    }
    builder.build()
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("url", &self.url).finish()
    }
}

impl Endpoint {
    /// An endpoint posting to `url` with `headers` on every request
    /// (`Authorization` among them when configured); `timeout` bounds each
    /// whole request.
    pub fn new(
        url: &str,
        headers: Vec<(String, String)>,
        tls: &Tls,
        timeout: Option<Duration>,
    ) -> Result<Endpoint, String> {
        let tls = if url.starts_with("https:") {
            Some(tls_config(tls)?)
        } else {
            None
        };
        Ok(Endpoint {
            url: url.to_owned(),
            headers,
            agent: agent(tls.as_ref(), timeout, None),
            tls,
            timeout,
        })
    }

    /// Aborts a request when nothing can be sent or received for `stall`
    /// (curl's `LowSpeedLimit`/`LowSpeedTime`, as near as a socket
    /// timeout gets).
    pub fn with_stall_timeout(mut self, stall: Duration) -> Endpoint {
        self.agent = agent(self.tls.as_ref(), self.timeout, Some(stall));
        self
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// POSTs `body` with `content_type` and classifies the answer.
    pub fn post(&self, content_type: &str, extra: &[(&str, &str)], body: &[u8]) -> Outcome {
        let mut request = self.agent.post(&self.url).set("Content-Type", content_type);
        for (name, value) in extra {
            request = request.set(name, value);
        }
        for (name, value) in &self.headers {
            request = request.set(name, value);
        }
        match request.send_bytes(body) {
            Ok(response) => {
                // Read the body so the connection can be reused.
                let _ = std::io::copy(
                    &mut response.into_reader().take(1 << 20),
                    &mut std::io::sink(),
                );
                Outcome::Sent
            }
            Err(ureq::Error::Status(code, response)) => {
                let mut text = String::new();
                let _ = response
                    .into_reader()
                    .take(ERROR_BODY_MAX)
                    .read_to_string(&mut text);
                let why = format!("HTTP status {code}: {}", text.trim());
                if code == 429 || code >= 500 {
                    Outcome::Retry(why)
                } else {
                    Outcome::Reject(why)
                }
            }
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    #[test]
    fn basic_auth_and_headers() {
        assert_eq!(basic_auth("user", "pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(
            parse_header("X-Scope-OrgID: tenant-1").unwrap(),
            ("X-Scope-OrgID".into(), "tenant-1".into())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": empty name").is_err());
    }

    /// Answers each connection's request with the next status of `codes`.
    fn serve(codes: Vec<u16>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for code in codes {
                let (s, _) = l.accept().unwrap();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut head = Vec::new();
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    head.push(line.trim_end().to_owned());
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                seen.push(format!(
                    "{}|{}",
                    head.join(";"),
                    String::from_utf8_lossy(&body)
                ));
                let mut s = s;
                write!(
                    s,
                    "HTTP/1.1 {code} X\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
                )
                .unwrap();
            }
            seen
        });
        (port, t)
    }

    #[test]
    fn statuses_are_classified() {
        let (port, t) = serve(vec![204, 503, 429, 400]);
        let e = Endpoint::new(
            &format!("http://127.0.0.1:{port}/write"),
            vec![("Authorization".into(), basic_auth("u", "p"))],
            &Tls::default(),
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        assert_eq!(e.post("text/plain", &[], b"a"), Outcome::Sent);
        assert!(matches!(e.post("text/plain", &[], b"b"), Outcome::Retry(w) if w.contains("503")));
        assert!(matches!(e.post("text/plain", &[], b"c"), Outcome::Retry(_)));
        assert_eq!(
            e.post("text/plain", &[("X-A", "1")], b"d"),
            Outcome::Reject("HTTP status 400: nope".into())
        );
        let seen = t.join().unwrap();
        assert!(seen[0].starts_with("POST /write HTTP/1.1"), "{seen:?}");
        assert!(seen[0].contains("Authorization: Basic dTpw"), "{seen:?}");
        assert!(seen[0].ends_with("|a"), "{seen:?}");
        assert!(seen[3].contains("X-A: 1"), "{seen:?}");
        // Nobody listening: worth a retry.
        drop(TcpListener::bind(("127.0.0.1", port)));
        assert!(matches!(e.post("text/plain", &[], b"e"), Outcome::Retry(_)));
    }

    #[test]
    fn tls_options_build() {
        assert!(tls_config(&Tls::default()).is_ok());
        let no_verify = Tls {
            verify_peer: false,
            ..Tls::default()
        };
        assert!(tls_config(&no_verify).is_ok());
        let missing = Tls {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..Tls::default()
        };
        assert!(tls_config(&missing)
            .unwrap_err()
            .contains("/nonexistent/ca.pem"));
    }
}
