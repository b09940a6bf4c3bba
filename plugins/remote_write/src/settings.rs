//! The `<Plugin remote_write>` options: one `<Node "name">` block per
//! endpoint. Every mistake is an error naming the option and its place
//! (`<Plugin remote_write> / <Node "a"> / BatchSize 0: ...`), and fails the
//! plugin: a silently ignored option of an output means silently lost data.

use std::path::PathBuf;
use std::time::Duration;

use rcollectd_plugin::{Config, ConfigError, ConfigItem};
use rcollectd_plugin_common::http::{basic_auth, parse_header, Tls};

/// Samples per request unless `BatchSize` says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 1000;
/// Samples held while the endpoint is down unless `BufferSize` says otherwise.
pub const DEFAULT_BUFFER_SIZE: usize = 100_000;
/// `Timeout` unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// `FlushInterval` unless configured.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Largest `BatchSize`.
const MAX_BATCH_SIZE: i64 = 1_000_000;
/// Largest `BufferSize` (compressed, a few hundred MB at most).
const MAX_BUFFER_SIZE: i64 = 10_000_000;
/// Largest `Timeout` in ms (an hour).
const MAX_TIMEOUT_MS: i64 = 3_600_000;
/// Largest `FlushInterval` in seconds (a day).
const MAX_FLUSH_INTERVAL: f64 = 86_400.0;

/// One `<Node>`: where to send and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The block's name: log messages and the `plugin_instance` of its stats.
    pub name: String,
    /// `URL` of the remote-write receiver (`http://` or `https://`).
    pub url: String,
    /// `Header` lines, and `Authorization` for `User`/`BearerToken*`.
    pub headers: Vec<(String, String)>,
    /// `VerifyPeer`, `VerifyHost`, `CACert`, `ClientCert`, `ClientKey`.
    pub tls: Tls,
    /// `Timeout`: bound of each request.
    pub timeout: Duration,
    /// `BatchSize`: samples per request.
    pub batch_size: usize,
    /// `BufferSize`: samples held at most while the endpoint is down.
    pub buffer_size: usize,
    /// `FlushInterval`: a partial batch is sent at most this late.
    pub flush_interval: Duration,
    /// `ReportStats`: dispatch the node's counters.
    pub report_stats: bool,
}

/// Reads every `<Node>` block; at least one is required.
pub fn parse(config: &Config) -> Result<Vec<Node>, ConfigError> {
    let mut nodes: Vec<Node> = Vec::new();
    for item in &config.items {
        if !item.key.eq_ignore_ascii_case("Node") {
            return Err(ConfigError::at(
                format!("{} / {}", config.path(), item.describe()),
                format!(
                    "unknown option \"{}\" (options go in <Node \"name\"> blocks)",
                    item.key
                ),
            ));
        }
        let node = parse_node(item).map_err(|e| {
            let inner = e.path.map(|p| format!(" / {p}")).unwrap_or_default();
            ConfigError::at(
                format!("{} / {}{inner}", config.path(), item.describe()),
                e.message,
            )
        })?;
        if nodes.iter().any(|n| n.name == node.name) {
            return Err(ConfigError::at(
                format!("{} / {}", config.path(), item.describe()),
                format!("there is another <Node \"{}\">", node.name),
            ));
        }
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(ConfigError::at(
            config.path(),
            "no <Node \"name\"> block: nothing to send to",
        ));
    }
    Ok(nodes)
}

fn err(item: &ConfigItem, message: String) -> ConfigError {
    ConfigError::at(item.describe(), message)
}

/// An error about the `<Node>` block itself (located by [`parse`]).
fn block_err(message: &str) -> ConfigError {
    ConfigError {
        path: None,
        message: message.to_owned(),
    }
}

/// An integer option within `1..=max`.
fn bounded(item: &ConfigItem, max: i64) -> Result<i64, ConfigError> {
    let n = item.get_i64()?;
    if (1..=max).contains(&n) {
        Ok(n)
    } else {
        Err(err(
            item,
            format!(
                "option \"{}\" must be between 1 and {max}, got {n}",
                item.key
            ),
        ))
    }
}

fn parse_node(block: &ConfigItem) -> Result<Node, ConfigError> {
    let name = match block.values.as_slice() {
        [rcollectd_plugin::ConfigValue::String(s)] if !s.is_empty() && !s.contains('/') => {
            s.clone()
        }
        _ => {
            return Err(block_err(
                "a <Node> block needs one name without \"/\": <Node \"name\">",
            ))
        }
    };
    let mut url = None;
    let mut headers = Vec::new();
    let mut tls = Tls::default();
    let mut timeout = DEFAULT_TIMEOUT;
    let mut batch_size = DEFAULT_BATCH_SIZE;
    let mut buffer_size: Option<(usize, &ConfigItem)> = None;
    let mut flush_interval = DEFAULT_FLUSH_INTERVAL;
    let mut report_stats = false;
    let mut user: Option<String> = None;
    let mut password: Option<(String, &ConfigItem)> = None;
    let mut bearer: Option<(String, &ConfigItem)> = None;
    for item in &block.children {
        match item.key.to_ascii_lowercase().as_str() {
            "url" => {
                let u = item.get_string()?;
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(err(
                        item,
                        format!("option \"{}\" needs an http:// or https:// URL", item.key),
                    ));
                }
                url = Some(u.to_owned());
            }
            "user" => user = Some(item.get_string()?.to_owned()),
            "password" => password = Some((item.get_string()?.to_owned(), item)),
            "bearertoken" | "bearertokenfile" => {
                if let Some((_, other)) = bearer {
                    return Err(err(
                        item,
                        format!("option \"{}\" repeats \"{}\"", item.key, other.key),
                    ));
                }
                let value = item.get_string()?;
                let token = if item.key.eq_ignore_ascii_case("bearertokenfile") {
                    std::fs::read_to_string(value)
                        .map_err(|e| err(item, format!("option \"{}\": {e}", item.key)))?
                        .trim()
                        .to_owned()
                } else {
                    value.trim().to_owned()
                };
                if token.is_empty() {
                    return Err(err(
                        item,
                        format!("option \"{}\" gives an empty token", item.key),
                    ));
                }
                bearer = Some((token, item));
            }
            "header" => headers.push(
                parse_header(item.get_string()?)
                    .map_err(|e| err(item, format!("option \"{}\": {e}", item.key)))?,
            ),
            "timeout" => timeout = Duration::from_millis(bounded(item, MAX_TIMEOUT_MS)? as u64),
            "verifypeer" => tls.verify_peer = item.get_bool()?,
            "verifyhost" => tls.verify_host = item.get_bool()?,
            "cacert" => tls.ca_cert = Some(PathBuf::from(item.get_string()?)),
            "clientcert" => tls.client_cert = Some(PathBuf::from(item.get_string()?)),
            "clientkey" => tls.client_key = Some(PathBuf::from(item.get_string()?)),
            "batchsize" => batch_size = bounded(item, MAX_BATCH_SIZE)? as usize,
            "buffersize" => buffer_size = Some((bounded(item, MAX_BUFFER_SIZE)? as usize, item)),
            "flushinterval" => {
                let s = item.get_f64()?;
                if !(s > 0.0 && s <= MAX_FLUSH_INTERVAL) {
                    return Err(err(
                        item,
                        format!(
                            "option \"{}\" must be more than 0 and at most {MAX_FLUSH_INTERVAL} seconds",
                            item.key
                        ),
                    ));
                }
                flush_interval = Duration::from_secs_f64(s);
            }
            "reportstats" => report_stats = item.get_bool()?,
            _ => return Err(err(item, format!("unknown option \"{}\"", item.key))),
        }
    }
    let url = url.ok_or_else(|| block_err("option \"URL\" is required"))?;
    match (user, password, bearer) {
        (Some(_), _, Some((_, b))) => {
            return Err(err(b, format!("option \"{}\" excludes \"User\"", b.key)))
        }
        (None, Some((_, p)), _) => {
            return Err(err(p, format!("option \"{}\" needs \"User\"", p.key)))
        }
        (Some(u), p, None) => headers.insert(
            0,
            (
                "Authorization".to_owned(),
                basic_auth(&u, p.as_ref().map_or("", |(p, _)| p)),
            ),
        ),
        (None, None, Some((token, _))) => {
            headers.insert(0, ("Authorization".to_owned(), format!("Bearer {token}")))
        }
        (None, None, None) => {}
    }
    if tls.client_cert.is_some() != tls.client_key.is_some() {
        return Err(block_err(
            "options \"ClientCert\" and \"ClientKey\" go together",
        ));
    }
    let buffer_size = match buffer_size {
        Some((n, item)) if n < batch_size => {
            return Err(err(
                item,
                format!(
                    "option \"{}\" ({n}) must not be smaller than BatchSize ({batch_size})",
                    item.key
                ),
            ))
        }
        Some((n, _)) => n,
        None => DEFAULT_BUFFER_SIZE.max(batch_size),
    };
    Ok(Node {
        name,
        url,
        headers,
        tls,
        timeout,
        batch_size,
        buffer_size,
        flush_interval,
        report_stats,
    })
}

#[cfg(test)]
mod tests;
