//! The exec plugin's rules, without I/O: its options, the command line and
//! environment of a program, how its output is cut into lines and what a
//! line does (collectd 5.12's `src/exec.c`; PUTVAL and PUTNOTIF are the
//! shared parser of [`rcollectd_plugin_common::cmds`], the same the
//! unixsock plugin runs), and the text a `NotificationExec` program reads.

use rcollectd_plugin::{CdTime, Config, ConfigItem, ConfigValue, NotificationMetaValue};
use rcollectd_plugin_common::cmds::{self, c_format, CmdEnv, Level, PutNotif};
use rcollectd_plugin_common::lines::Lines;

/// The longest stdout line handled: collectd reads into a 1200-byte buffer,
/// so a line of 1198 bytes plus its newline fits. A longer line is dropped
/// whole (collectd stops reading the program at such a line).
pub const STDOUT_LINE_MAX: usize = 1198;

/// The longest stderr line logged (collectd's 1024-byte buffer); the rest
/// of a longer line is skipped.
pub const STDERR_LINE_MAX: usize = 1022;

/// Whether a program runs all the time or once per notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Exec`: started at a read when not running, its stdout parsed.
    Normal,
    /// `NotificationExec`: started per notification, which it reads on stdin.
    Notification,
}

/// One `Exec` or `NotificationExec` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Which option configured it.
    pub kind: Kind,
    /// The user it runs as (the part before `:`).
    pub user: String,
    /// The group after `:` (`Some("")` for `user:`), its effective group.
    pub group: Option<String>,
    /// The program, searched in `PATH` when it has no `/`.
    pub exec: String,
    /// `argv`: the program's base name, then the arguments.
    pub argv: Vec<String>,
}

/// Reads one `Exec`/`NotificationExec` option as collectd's
/// `exec_config_exec`; the error is the warning collectd logs.
pub fn parse_program(item: &ConfigItem) -> Result<Program, String> {
    let key = &item.key;
    if !item.children.is_empty() {
        return Err(format!("The config option `{key}' may not be a block."));
    }
    if item.values.len() < 2 {
        return Err(format!(
            "The config option `{key}' needs at least two arguments."
        ));
    }
    let (ConfigValue::String(user), ConfigValue::String(exec)) = (&item.values[0], &item.values[1])
    else {
        return Err(format!(
            "The first two arguments to the `{key}' option must be string arguments."
        ));
    };
    let (user, group) = match user.split_once(':') {
        Some((u, g)) => (u.to_owned(), Some(g.to_owned())),
        None => (user.clone(), None),
    };
    let base = exec.rsplit('/').next().unwrap_or(exec);
    let mut argv = vec![cut_str(base, 127)];
    for v in &item.values[2..] {
        argv.push(match v {
            ConfigValue::String(s) => s.clone(),
            ConfigValue::Number(n) => c_format(c"%lf", *n),
            ConfigValue::Boolean(b) => b.to_string(),
        });
    }
    let kind = if key.eq_ignore_ascii_case("NotificationExec") {
        Kind::Notification
    } else {
        Kind::Normal
    };
    Ok(Program {
        kind,
        user,
        group,
        exec: exec.clone(),
        argv,
    })
}

/// A string cut to at most `max` bytes (at a character boundary).
fn cut_str(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Reads `<Plugin exec>`: the valid programs, in the order collectd runs
/// them (it prepends each to its list, so the last configured comes
/// first), and the warnings for the options it skips.
pub fn parse_config(config: &Config) -> (Vec<Program>, Vec<String>) {
    let mut programs = Vec::new();
    let mut warnings = Vec::new();
    for item in &config.items {
        if item.key.eq_ignore_ascii_case("Exec")
            || item.key.eq_ignore_ascii_case("NotificationExec")
        {
            match parse_program(item) {
                Ok(p) => programs.push(p),
                Err(e) => warnings.push(e),
            }
        } else {
            warnings.push(format!("Unknown config option `{}'.", item.key));
        }
    }
    programs.reverse();
    (programs, warnings)
}

/// The variables collectd adds to a program's environment:
/// `COLLECTD_INTERVAL` (`%.3f` seconds) and `COLLECTD_HOSTNAME` (cut to
/// fit collectd's 300-byte buffer).
pub fn child_env(interval: u64, hostname: &str) -> [(String, String); 2] {
    let seconds = interval as f64 / 1_073_741_824.0;
    [
        (
            "COLLECTD_INTERVAL".to_owned(),
            cut_str(&c_format(c"%.3f", seconds), 128 - 19),
        ),
        ("COLLECTD_HOSTNAME".to_owned(), cut_str(hostname, 300 - 19)),
    ]
}

/// A splitter for a program's output: lines of at most `max` bytes,
/// without `\n` and a `\r` before it. A longer line is handed over cut,
/// flagged, and the rest up to its newline is skipped.
pub fn lines(max: usize) -> Lines {
    Lines::new(max).strip_cr()
}

/// Handles one line a program printed, as collectd's `parse_line`:
/// `PUTVAL...` and `PUTNOTIF...` (by prefix, case-insensitive) go to the
/// shared command parser, whose replies (errors; `0 Success` for a
/// notification) are appended to `out`, collectd's stdout; anything else
/// is logged. The text counts up to a NUL, as C's string functions read it.
pub fn handle_line(line: &[u8], env: &mut dyn CmdEnv, out: &mut Vec<u8>) {
    let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
    let starts = |prefix: &[u8]| {
        line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if starts(b"PUTVAL") {
        cmds::putval_line(line, env, out);
    } else if starts(b"PUTNOTIF") {
        cmds::putnotif(line, env, out);
    } else {
        env.log(
            Level::Error,
            format!(
                "Unable to parse command, ignoring line: \"{}\"",
                String::from_utf8_lossy(line)
            ),
        );
    }
}

/// A notification meta value as collectd's `exec_notification_one` prints
/// it (`%e` for doubles).
pub fn meta_text(v: &NotificationMetaValue<'_>) -> Vec<u8> {
    match v {
        NotificationMetaValue::String(s) => s.as_bytes().to_vec(),
        NotificationMetaValue::SignedInt(i) => i.to_string().into_bytes(),
        NotificationMetaValue::UnsignedInt(u) => u.to_string().into_bytes(),
        NotificationMetaValue::Double(d) => c_format(c"%e", *d).into_bytes(),
        NotificationMetaValue::Boolean(b) => b.to_string().into_bytes(),
    }
}

/// The text on a `NotificationExec` program's stdin: `Severity:`, `Time:`,
/// the non-empty fields, the meta data (values as [`meta_text`] prints
/// them), a blank line, the message.
pub fn render_notification(n: &PutNotif) -> Vec<u8> {
    let severity = match n.severity {
        2 => "WARNING",
        4 => "OKAY",
        _ => "FAILURE",
    };
    let time = CdTime(n.time).as_secs_f64();
    let mut out = format!("Severity: {severity}\nTime: {}\n", c_format(c"%.3f", time)).into_bytes();
    let fields = [
        (&b"Host"[..], &n.host),
        (b"Plugin", &n.plugin),
        (b"PluginInstance", &n.plugin_instance),
        (b"Type", &n.type_),
        (b"TypeInstance", &n.type_instance),
    ];
    let present = fields.into_iter().filter(|(_, v)| !v.is_empty());
    for (name, value) in present.chain(n.meta.iter().map(|(k, v)| (&k[..], v))) {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(&n.message);
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests;
