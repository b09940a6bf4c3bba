//! rcollectd's own plugins, compiled into the binary: `LoadPlugin cpu` uses
//! the built-in `cpu` unless the configured `PluginDir` holds a `cpu.so`
//! (then that file, as collectd would load it). Each plugin also builds as
//! a `.so` that loads in rcollectd and in collectd 5.12.

/// One built-in plugin: its name and its registration function (the body
/// of its `.so`'s `module_register`).
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The name `LoadPlugin` uses.
    pub name: &'static str,
    /// Registers the plugin's callbacks (`true`: built in).
    pub register: fn(bool),
}

/// Every built-in plugin, by name.
pub static BUILTINS: &[Builtin] = &[
    Builtin {
        name: "contextswitch",
        register: contextswitch::module_register,
    },
    Builtin {
        name: "cpu",
        register: cpu::module_register,
    },
    Builtin {
        name: "csv",
        register: csv::module_register,
    },
    Builtin {
        name: "df",
        register: df::module_register,
    },
    Builtin {
        name: "disk",
        register: disk::module_register,
    },
    Builtin {
        name: "entropy",
        register: entropy::module_register,
    },
    Builtin {
        name: "exec",
        register: exec::module_register,
    },
    Builtin {
        name: "fhcount",
        register: fhcount::module_register,
    },
    Builtin {
        name: "interface",
        register: interface::module_register,
    },
    Builtin {
        name: "load",
        register: load::module_register,
    },
    Builtin {
        name: "logfile",
        register: logfile::module_register,
    },
    Builtin {
        name: "memory",
        register: memory::module_register,
    },
    Builtin {
        name: "network",
        register: network::plugin::module_register,
    },
    Builtin {
        name: "processes",
        register: processes::module_register,
    },
    Builtin {
        name: "remote_write",
        register: remote_write::module_register,
    },
    Builtin {
        name: "statsd",
        register: statsd::module_register,
    },
    Builtin {
        name: "swap",
        register: swap::module_register,
    },
    Builtin {
        name: "syslog",
        register: syslog::module_register,
    },
    Builtin {
        name: "tail",
        register: tail::module_register,
    },
    Builtin {
        name: "unixsock",
        register: unixsock::module_register,
    },
    Builtin {
        name: "uptime",
        register: uptime::module_register,
    },
    Builtin {
        name: "vmem",
        register: vmem::module_register,
    },
    Builtin {
        name: "write_http",
        register: write_http::module_register,
    },
    Builtin {
        name: "write_prometheus",
        register: write_prometheus::module_register,
    },
];

/// The built-in plugin `name` (case-insensitive, as `LoadPlugin`).
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name.eq_ignore_ascii_case(name))
}

/// The built-in plugin whose crate logged a record with this `log` target
/// (`cpu::core` is the cpu plugin's).
pub fn of_log_target(target: &str) -> Option<&'static str> {
    let krate = target.split("::").next()?;
    BUILTINS.iter().find(|b| b.name == krate).map(|b| b.name)
}

/// The names, for `rcollectd --plugins`.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_log_targets() {
        assert_eq!(find("CPU").map(|b| b.name), Some("cpu"));
        assert!(find("rrdtool").is_none());
        assert_eq!(of_log_target("write_http::format"), Some("write_http"));
        assert_eq!(of_log_target("cpu"), Some("cpu"));
        assert_eq!(of_log_target("rcollectd::config"), None);
        let mut all: Vec<_> = names().collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a name twice");
    }
}
