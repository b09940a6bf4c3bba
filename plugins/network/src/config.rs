//! `<Plugin network>` configuration: an owned copy of the config tree and
//! its interpretation, kept free of FFI so it can be unit tested.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::codec::{SecurityLevel, DEFAULT_PACKET_SIZE, DEFAULT_PORT};

/// One value of a config item.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfValue {
    /// Quoted or bare string.
    String(String),
    /// Number.
    Number(f64),
    /// `true`/`false`.
    Boolean(bool),
}

/// An owned config item (`Key value... { children }`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item {
    /// Option name.
    pub key: String,
    /// Arguments.
    pub values: Vec<ConfValue>,
    /// Nested items of a block.
    pub children: Vec<Item>,
}

impl Item {
    fn string(&self) -> Result<&str, String> {
        match self.values.as_slice() {
            [ConfValue::String(s)] => Ok(s),
            _ => Err(format!("`{}` needs exactly one string argument", self.key)),
        }
    }

    fn number(&self) -> Result<f64, String> {
        match self.values.as_slice() {
            [ConfValue::Number(n)] => Ok(*n),
            [ConfValue::String(s)] => s
                .trim()
                .parse()
                .map_err(|_| format!("`{}` needs a number, got {s:?}", self.key)),
            _ => Err(format!("`{}` needs exactly one numeric argument", self.key)),
        }
    }

    fn boolean(&self) -> Result<bool, String> {
        match self.values.as_slice() {
            [ConfValue::Boolean(b)] => Ok(*b),
            [ConfValue::String(s)] if s.eq_ignore_ascii_case("true") => Ok(true),
            [ConfValue::String(s)] if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(format!("`{}` needs a boolean argument", self.key)),
        }
    }

    /// `"host" ["port"]` of a Server or Listen item.
    fn node_service(&self) -> Result<(String, String), String> {
        match self.values.as_slice() {
            [ConfValue::String(h)] => Ok((h.clone(), DEFAULT_PORT.to_string())),
            [ConfValue::String(h), ConfValue::String(p)] => Ok((h.clone(), p.clone())),
            [ConfValue::String(h), ConfValue::Number(p)] if *p >= 1.0 && *p <= 65535.0 => {
                Ok((h.clone(), (*p as u16).to_string()))
            }
            _ => Err(format!(
                "`{}` needs one or two string arguments (host, port)",
                self.key
            )),
        }
    }
}

/// What a `<Server>` does with value lists holding an ABSOLUTE data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AbsoluteMode {
    /// Pack them with everything else, as collectd does.
    #[default]
    Send,
    /// Send each in a packet of its own, so a receiver that rejects whole
    /// packets over ABSOLUTE (go-collectd) loses only that value list.
    Separate,
    /// Do not send them (counted as `total_values-send-absolute-dropped`).
    Drop,
}

/// One `<Server>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConf {
    /// Host name or address.
    pub node: String,
    /// Port or service name.
    pub service: String,
    /// Protection applied to every packet.
    pub level: SecurityLevel,
    /// User name for Sign/Encrypt.
    pub username: String,
    /// Password for Sign/Encrypt.
    pub password: String,
    /// Outgoing interface for multicast (or SO_BINDTODEVICE for unicast).
    pub interface: Option<String>,
    /// Source address to bind.
    pub bind_address: Option<IpAddr>,
    /// Re-resolve the host name this often (0 = never).
    pub resolve_interval: Duration,
    /// ABSOLUTE handling (not applied with `store_rates`: no ABSOLUTE is left).
    pub absolute: AbsoluteMode,
    /// `StoreRates`: send COUNTER, DERIVE and ABSOLUTE values as GAUGE rates.
    pub store_rates: bool,
}

/// One `<Listen>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenConf {
    /// Address to bind (multicast groups are joined).
    pub node: String,
    /// Port or service name.
    pub service: String,
    /// Minimum protection accepted.
    pub level: SecurityLevel,
    /// collectd-style `user: password` file.
    pub auth_file: Option<PathBuf>,
    /// Interface for multicast membership / SO_BINDTODEVICE.
    pub interface: Option<String>,
}

/// Default SO_RCVBUF requested for listening sockets: the socket buffer is
/// the receiver's only queue, so it is sized to ride out scheduling stalls
/// at high rates (the kernel caps it at
/// `net.core.rmem_max` unless running with CAP_NET_ADMIN).
pub const DEFAULT_RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

/// The whole plugin configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Destinations.
    pub servers: Vec<ServerConf>,
    /// Listening sockets.
    pub listens: Vec<ListenConf>,
    /// `TimeToLive` (1-255) for sending sockets.
    pub ttl: Option<u32>,
    /// `MaxPacketSize` (1024-65535).
    pub max_packet_size: usize,
    /// `Forward`: re-send what was received.
    pub forward: bool,
    /// `ReportStats`: dispatch the plugin's own counters.
    pub report_stats: bool,
    /// `CacheFlush` (accepted for compatibility; see docs).
    pub cache_flush: Option<f64>,
    /// `ReceiveBufferSize`: SO_RCVBUF of listening sockets.
    pub receive_buffer_size: usize,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            servers: Vec::new(),
            listens: Vec::new(),
            ttl: None,
            max_packet_size: DEFAULT_PACKET_SIZE,
            forward: false,
            report_stats: false,
            cache_flush: None,
            receive_buffer_size: DEFAULT_RECEIVE_BUFFER,
        }
    }
}

fn level(item: &Item) -> Result<SecurityLevel, String> {
    let s = item.string()?;
    SecurityLevel::parse(s)
        .ok_or_else(|| format!("unknown SecurityLevel {s:?} (None, Sign or Encrypt)"))
}

fn server(item: &Item) -> Result<ServerConf, String> {
    let (node, service) = item.node_service()?;
    let mut s = ServerConf {
        node,
        service,
        level: SecurityLevel::None,
        username: String::new(),
        password: String::new(),
        interface: None,
        bind_address: None,
        resolve_interval: Duration::ZERO,
        absolute: AbsoluteMode::Send,
        store_rates: false,
    };
    for c in &item.children {
        let k = c.key.to_ascii_lowercase();
        match k.as_str() {
            "securitylevel" => s.level = level(c)?,
            "username" => s.username = c.string()?.to_string(),
            "password" => s.password = c.string()?.to_string(),
            "interface" => s.interface = Some(c.string()?.to_string()),
            "bindaddress" => {
                let a = c.string()?;
                s.bind_address = Some(
                    a.parse()
                        .map_err(|_| format!("BindAddress {a:?} is not a numeric address"))?,
                );
            }
            "resolveinterval" => {
                let secs = c.number()?;
                if !(secs >= 0.0 && secs.is_finite()) {
                    return Err("ResolveInterval must be a non-negative number of seconds".into());
                }
                s.resolve_interval = Duration::from_secs_f64(secs);
            }
            "absolutevalues" => {
                let v = c.string()?;
                s.absolute = match v.to_ascii_lowercase().as_str() {
                    "send" => AbsoluteMode::Send,
                    "separate" => AbsoluteMode::Separate,
                    "drop" => AbsoluteMode::Drop,
                    _ => {
                        return Err(format!(
                            "AbsoluteValues {v:?}: expected Send, Separate or Drop"
                        ))
                    }
                };
            }
            "storerates" => s.store_rates = c.boolean()?,
            _ => return Err(format!("option `{}` is not allowed in <Server>", c.key)),
        }
    }
    if s.level > SecurityLevel::None {
        if s.username.is_empty() || s.password.is_empty() {
            return Err(format!(
                "<Server \"{}\">: SecurityLevel above None needs Username and Password; refusing to open this socket",
                s.node
            ));
        }
        if s.username.len() > crate::codec::MAX_USERNAME_LEN {
            return Err("Username is longer than 64 bytes".into());
        }
    }
    Ok(s)
}

fn listen(item: &Item) -> Result<ListenConf, String> {
    let (node, service) = item.node_service()?;
    let mut l = ListenConf {
        node,
        service,
        level: SecurityLevel::None,
        auth_file: None,
        interface: None,
    };
    for c in &item.children {
        match c.key.to_ascii_lowercase().as_str() {
            "securitylevel" => l.level = level(c)?,
            "authfile" => l.auth_file = Some(PathBuf::from(c.string()?)),
            "interface" => l.interface = Some(c.string()?.to_string()),
            _ => return Err(format!("option `{}` is not allowed in <Listen>", c.key)),
        }
    }
    if l.level > SecurityLevel::None && l.auth_file.is_none() {
        return Err(format!(
            "<Listen \"{}\">: SecurityLevel above None needs an AuthFile; refusing to open this socket",
            l.node
        ));
    }
    Ok(l)
}

/// Interprets `<Plugin network>`. Like collectd, a bad `<Server>` or
/// `<Listen>` is skipped with an error while the rest is used; the
/// messages are returned for logging.
pub fn parse(block: &Item) -> (NetworkConfig, Vec<String>) {
    let mut cfg = NetworkConfig::default();
    let mut errors = Vec::new();
    for c in &block.children {
        let r: Result<(), String> = match c.key.to_ascii_lowercase().as_str() {
            "server" => server(c).map(|s| cfg.servers.push(s)),
            "listen" => listen(c).map(|l| cfg.listens.push(l)),
            "timetolive" => c.number().and_then(|n| {
                if (1.0..=255.0).contains(&n) {
                    cfg.ttl = Some(n as u32);
                    Ok(())
                } else {
                    Err("TimeToLive must be between 1 and 255".into())
                }
            }),
            "maxpacketsize" => c.number().and_then(|n| {
                if (1024.0..=65535.0).contains(&n) {
                    cfg.max_packet_size = n as usize;
                    Ok(())
                } else {
                    Err("MaxPacketSize must be between 1024 and 65535".into())
                }
            }),
            "forward" => c.boolean().map(|b| cfg.forward = b),
            "reportstats" => c.boolean().map(|b| cfg.report_stats = b),
            "cacheflush" => c.number().map(|n| cfg.cache_flush = Some(n)),
            "receivebuffersize" => c.number().and_then(|n| {
                if (4096.0..=1073741824.0).contains(&n) {
                    cfg.receive_buffer_size = n as usize;
                    Ok(())
                } else {
                    Err("ReceiveBufferSize must be between 4096 and 1073741824 bytes".into())
                }
            }),
            _ => Err(format!("option `{}` is not allowed here", c.key)),
        };
        if let Err(e) = r {
            errors.push(e);
        }
    }
    (cfg, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> ConfValue {
        ConfValue::String(v.into())
    }

    fn item(key: &str, values: Vec<ConfValue>, children: Vec<Item>) -> Item {
        Item {
            key: key.into(),
            values,
            children,
        }
    }

    #[test]
    fn full_config() {
        let block = item(
            "Plugin",
            vec![s("network")],
            vec![
                item("TimeToLive", vec![ConfValue::Number(8.0)], vec![]),
                item(
                    "Server",
                    vec![s("cw.local"), s("25827")],
                    vec![
                        item("SecurityLevel", vec![s("encrypt")], vec![]),
                        item("Username", vec![s("u")], vec![]),
                        item("Password", vec![s("p")], vec![]),
                        item("ResolveInterval", vec![ConfValue::Number(30.0)], vec![]),
                        item("AbsoluteValues", vec![s("Drop")], vec![]),
                    ],
                ),
                item("Server", vec![s("::1"), s("25826")], vec![]),
                item(
                    "Listen",
                    vec![s("0.0.0.0")],
                    vec![
                        item("SecurityLevel", vec![s("Sign")], vec![]),
                        item("AuthFile", vec![s("/etc/collectd/auth_file")], vec![]),
                    ],
                ),
                item("MaxPacketSize", vec![ConfValue::Number(65535.0)], vec![]),
                item("Forward", vec![ConfValue::Boolean(true)], vec![]),
                item("ReportStats", vec![ConfValue::Boolean(true)], vec![]),
                item("CacheFlush", vec![ConfValue::Number(1800.0)], vec![]),
                item(
                    "ReceiveBufferSize",
                    vec![ConfValue::Number(1048576.0)],
                    vec![],
                ),
            ],
        );
        let (c, errors) = parse(&block);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(c.ttl, Some(8));
        assert_eq!(c.servers.len(), 2);
        assert_eq!(c.servers[0].service, "25827");
        assert_eq!(c.servers[0].level, SecurityLevel::Encrypt);
        assert_eq!(c.servers[0].resolve_interval, Duration::from_secs(30));
        assert_eq!(c.servers[0].absolute, AbsoluteMode::Drop);
        assert_eq!(c.servers[1].node, "::1");
        assert_eq!(c.listens[0].service, "25826");
        assert_eq!(c.listens[0].level, SecurityLevel::Sign);
        assert_eq!(c.max_packet_size, 65535);
        assert!(c.forward && c.report_stats);
        assert_eq!(c.cache_flush, Some(1800.0));
        assert_eq!(c.receive_buffer_size, 1048576);
    }

    #[test]
    fn store_rates_per_server() {
        /// Arguments of `StoreRates` (none: option absent), value or error.
        type Case = (Option<Vec<ConfValue>>, Result<bool, &'static str>);
        let cases: Vec<Case> = vec![
            (None, Ok(false)),
            (Some(vec![ConfValue::Boolean(true)]), Ok(true)),
            (Some(vec![ConfValue::Boolean(false)]), Ok(false)),
            (Some(vec![s("TRUE")]), Ok(true)),
            (Some(vec![s("false")]), Ok(false)),
            (
                Some(vec![s("yes please")]),
                Err("`StoreRates` needs a boolean"),
            ),
            (
                Some(vec![ConfValue::Number(1.0)]),
                Err("`StoreRates` needs a boolean"),
            ),
            (Some(vec![]), Err("`StoreRates` needs a boolean")),
            (
                Some(vec![ConfValue::Boolean(true), ConfValue::Boolean(true)]),
                Err("`StoreRates` needs a boolean"),
            ),
        ];
        for (args, want) in cases {
            let children = args
                .clone()
                .map(|a| vec![item("StoreRates", a, vec![])])
                .unwrap_or_default();
            let block = item(
                "Plugin",
                vec![],
                vec![item("Server", vec![s("cw"), s("25826")], children)],
            );
            let (c, errors) = parse(&block);
            match want {
                Ok(b) => {
                    assert!(errors.is_empty(), "{args:?}: {errors:?}");
                    assert_eq!(c.servers[0].store_rates, b, "{args:?}");
                }
                Err(msg) => {
                    assert!(c.servers.is_empty(), "{args:?}: the Server is skipped");
                    assert_eq!(errors.len(), 1, "{args:?}: {errors:?}");
                    assert!(errors[0].contains(msg), "{args:?}: {errors:?}");
                }
            }
        }
    }

    #[test]
    fn store_rates_is_not_a_plugin_or_listen_option() {
        let block = item(
            "Plugin",
            vec![],
            vec![
                item("StoreRates", vec![ConfValue::Boolean(true)], vec![]),
                item(
                    "Listen",
                    vec![s("::")],
                    vec![item("StoreRates", vec![ConfValue::Boolean(true)], vec![])],
                ),
            ],
        );
        let (c, errors) = parse(&block);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("`StoreRates` is not allowed here"));
        assert!(errors[1].contains("`StoreRates` is not allowed in <Listen>"));
        assert!(c.listens.is_empty());
    }

    #[test]
    fn errors_skip_only_the_bad_entry() {
        let block = item(
            "Plugin",
            vec![],
            vec![
                item(
                    "Server",
                    vec![s("a")],
                    vec![item("SecurityLevel", vec![s("Sign")], vec![])],
                ),
                item(
                    "Listen",
                    vec![s("b")],
                    vec![item("SecurityLevel", vec![s("Encrypt")], vec![])],
                ),
                item(
                    "Listen",
                    vec![s("c"), s("1")],
                    vec![item("SecurityLevel", vec![s("bogus")], vec![])],
                ),
                item("MaxPacketSize", vec![ConfValue::Number(100.0)], vec![]),
                item("TimeToLive", vec![ConfValue::Number(0.0)], vec![]),
                item("Frobnicate", vec![], vec![]),
                item("Server", vec![s("ok")], vec![]),
            ],
        );
        let (c, errors) = parse(&block);
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert!(errors[0].contains("Username and Password"));
        assert!(errors[1].contains("AuthFile"));
        assert_eq!(c.servers.len(), 1);
        assert_eq!(c.servers[0].node, "ok");
        assert_eq!(c.max_packet_size, DEFAULT_PACKET_SIZE);
        assert!(c.listens.is_empty());
    }
}
