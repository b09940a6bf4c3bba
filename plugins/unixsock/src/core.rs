//! The unixsock command language of collectd 5.12, without I/O: one line in,
//! the reply bytes out, everything the daemon does for a command behind the
//! [`Env`] trait. The rules are collectd's own (`src/unixsock.c`,
//! `src/utils/cmds/*.c`, `parse_identifier`/`parse_values` in
//! `src/utils/common/common.c`), reply texts byte for byte, including its
//! quirks; where collectd crashes (a line that splits into more fields than
//! it has words, several values with `meta:`) this code goes on as the
//! rules read. PUTVAL and PUTNOTIF are the shared parser of
//! [`rcollectd_plugin_common::cmds`], which the exec plugin runs too.

#[cfg(test)]
use rcollectd_plugin::{DsType, Value};
use rcollectd_plugin_common::cmds::{
    c_format, cmd_error, cmd_error_parts, cut, parse_cmd_option, parse_string, strtod, CmdEnv,
    NAME_LEN,
};
pub use rcollectd_plugin_common::cmds::{
    double_to_cdtime, format_name, parse_identifier, split, Identifier, Level, PutNotif, PutValue,
    Source,
};

/// Bytes of one line collectd reads at once (`fgets` into 1024 bytes); a
/// longer line is handled as several lines of this length.
pub const LINE_MAX: usize = 1023;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Threshold {
    /// Host ("" when any).
    pub host: Vec<u8>,
    /// Plugin.
    pub plugin: Vec<u8>,
    /// Plugin instance.
    pub plugin_instance: Vec<u8>,
    /// Type.
    pub type_: Vec<u8>,
    /// Type instance.
    pub type_instance: Vec<u8>,
    /// Data source.
    pub data_source: Vec<u8>,
    /// NaN when unset.
    pub warning_min: f64,
    /// NaN when unset.
    pub warning_max: f64,
    /// NaN when unset.
    pub failure_min: f64,
    /// NaN when unset.
    pub failure_max: f64,
    /// Printed when positive.
    pub hysteresis: f64,
    /// Printed when above 1.
    pub hits: i32,
}

/// What a command needs from the daemon.
pub trait Env {
    /// The data sources of `type_` (`plugin_get_ds`), `None` if unknown.
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>>;
    /// The current time (`cdtime()`), for a value time of `N`.
    fn now(&mut self) -> u64;
    /// `plugin_dispatch_values`.
    fn dispatch_values(&mut self, vl: &PutValue);
    /// `plugin_dispatch_notification`.
    fn dispatch_notification(&mut self, n: &PutNotif);
    /// `uc_get_rate_by_name`: the cached rates of an identifier.
    fn rates(&mut self, identifier: &[u8]) -> Option<Vec<f64>>;
    /// `uc_get_names`: every cached identifier and its last time.
    fn names(&mut self) -> Result<Vec<(Vec<u8>, u64)>, i32>;
    /// `plugin_flush`; true when it succeeded.
    fn flush(&mut self, plugin: Option<&[u8]>, timeout: u64, identifier: Option<&[u8]>) -> bool;
    /// `ut_search_threshold`: `Ok(None)` when no threshold applies.
    fn threshold(&mut self, id: &Identifier) -> Result<Option<Threshold>, i32>;
    /// A message in the plugin's log (the caller adds `unixsock plugin: `).
    fn log(&mut self, level: Level, message: String);
}

/// What the connection does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next line.
    Continue,
    /// Close the connection (collectd's `-1 Internal error`).
    Close,
}

/// The command text of one line as read: up to the first NUL (collectd's
/// `strlen`), without trailing `\n` and `\r`.
pub fn line_text(raw: &[u8]) -> &[u8] {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let mut line = &raw[..end];
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    line
}

/// Handles one line (as [`line_text`] returns it) and appends the reply to
/// `out`. An empty line gets no reply.
pub fn handle_line(line: &[u8], env: &mut dyn Env, out: &mut Vec<u8>) -> Flow {
    if line.is_empty() {
        return Flow::Continue;
    }
    // unixsock.c picks the handler by the first word as strtok splits it.
    let Some(word) = line
        .split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .find(|w| !w.is_empty())
    else {
        out.extend_from_slice(b"-1 Internal error\n");
        return Flow::Close;
    };
    let is = |name: &str| word.eq_ignore_ascii_case(name.as_bytes());
    if is("getval") {
        with_fields(line, out, |args, out| getval(args, env, out));
    } else if is("getthreshold") {
        getthreshold(line, env, out);
    } else if is("putval") {
        with_fields(line, out, |args, out| putval(args, env, out));
    } else if is("listval") {
        with_fields(line, out, |args, out| listval(args, env, out));
    } else if is("putnotif") {
        rcollectd_plugin_common::cmds::putnotif(line, &mut Cmds(env), out);
    } else if is("flush") {
        with_fields(line, out, |args, out| flush(args, env, out));
    } else {
        out.extend_from_slice(b"-1 Unknown command: ");
        out.extend_from_slice(word);
        out.push(b'\n');
    }
    Flow::Continue
}

/// PUTVAL: the shared parser, then collectd's success reply on the socket.
fn putval(args: &[Vec<u8>], env: &mut dyn Env, out: &mut Vec<u8>) {
    let Some(n) = rcollectd_plugin_common::cmds::putval(args, &mut Cmds(env), out) else {
        return;
    };
    let what = if n == 1 { "value has" } else { "values have" };
    cmd_error(
        out,
        0,
        format!("Success: {} {what} been dispatched.", n as i32).as_bytes(),
    );
}

/// The part of an [`Env`] the shared PUTVAL/PUTNOTIF parser uses.
struct Cmds<'a>(&'a mut dyn Env);

impl CmdEnv for Cmds<'_> {
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>> {
        self.0.data_set(type_)
    }
    fn now(&mut self) -> u64 {
        self.0.now()
    }
    fn dispatch_values(&mut self, vl: &PutValue) {
        self.0.dispatch_values(vl);
    }
    fn dispatch_notification(&mut self, n: &PutNotif) {
        self.0.dispatch_notification(n);
    }
    fn log(&mut self, level: Level, message: String) {
        self.0.log(level, message);
    }
}

/// Splits `line` as `cmd_parse` does and runs `f` on the fields after the
/// command word, or replies with the split error.
fn with_fields(line: &[u8], out: &mut Vec<u8>, f: impl FnOnce(&[Vec<u8>], &mut Vec<u8>)) {
    match split(line) {
        Ok(fields) => f(fields.get(1..).unwrap_or(&[]), out),
        Err(msg) => cmd_error(out, -1, msg.as_bytes()),
    }
}

/// GETVAL `<identifier>`.
fn getval(args: &[Vec<u8>], env: &mut dyn Env, out: &mut Vec<u8>) {
    if args.len() != 1 {
        match args.get(1) {
            None => cmd_error(out, -1, b"Missing identifier."),
            Some(extra) => cmd_error_parts(out, &[b"Garbage after identifier: `", extra, b"'."]),
        }
        return;
    }
    let raw = &args[0];
    let Some(id) = parse_identifier(raw) else {
        cmd_error_parts(out, &[b"Cannot parse identifier `", raw, b"'."]);
        return;
    };
    let Some(ds) = env.data_set(&id.type_) else {
        cmd_error_parts(out, &[b"Type `", &id.type_, b"' is unknown.\n"]);
        return;
    };
    let Some(values) = env.rates(raw) else {
        cmd_error(out, -1, b"No such value.");
        return;
    };
    if values.len() != ds.len() {
        env.log(
            Level::Error,
            format!(
                "ds[{}]->ds_num = {}, but uc_get_rate_by_name returned {} values.",
                String::from_utf8_lossy(&id.type_),
                ds.len(),
                values.len()
            ),
        );
        cmd_error(out, -1, b"Error reading value from cache.");
        return;
    }
    let plural = if values.len() == 1 { "" } else { "s" };
    out.extend_from_slice(format!("{} Value{plural} found\n", values.len()).as_bytes());
    for (source, v) in ds.iter().zip(&values) {
        out.extend_from_slice(source.name.as_bytes());
        out.push(b'=');
        if v.is_nan() {
            out.extend_from_slice(b"NaN\n");
        } else {
            out.extend_from_slice(c_format(c"%12e\n", *v).as_bytes());
        }
    }
}

/// LISTVAL.
fn listval(args: &[Vec<u8>], env: &mut dyn Env, out: &mut Vec<u8>) {
    if let Some(extra) = args.first() {
        cmd_error_parts(out, &[b"Garbage after end of command: `", extra, b"'."]);
        return;
    }
    let Ok(names) = env.names() else {
        cmd_error(out, -1, b"uc_get_names failed.");
        return;
    };
    let plural = if names.len() == 1 { "" } else { "s" };
    out.extend_from_slice(format!("{} Value{plural} found\n", names.len() as i32).as_bytes());
    for (name, time) in &names {
        out.extend_from_slice(c_format(c"%.3f ", *time as f64 / 1_073_741_824.0).as_bytes());
        out.extend_from_slice(name);
        out.push(b'\n');
    }
}

/// FLUSH `[plugin=<name>]... [identifier=<id>]... [timeout=<s>]`.
fn flush(args: &[Vec<u8>], env: &mut dyn Env, out: &mut Vec<u8>) {
    let mut plugins: Vec<&[u8]> = Vec::new();
    let mut identifiers: Vec<Identifier> = Vec::new();
    let mut timeout = 0.0f64;
    for arg in args {
        let Some((key, value)) = parse_cmd_option(arg) else {
            cmd_error_parts(out, &[b"Invalid option string `", arg, b"'."]);
            return;
        };
        if key.eq_ignore_ascii_case(b"plugin") {
            plugins.push(value);
        } else if key.eq_ignore_ascii_case(b"identifier") {
            match parse_identifier(value) {
                Some(id) => identifiers.push(id),
                None => {
                    // collectd prints the value parse_identifier has cut at
                    // its first `/`.
                    let shown = value.split(|&b| b == b'/').next().unwrap_or(value);
                    cmd_error_parts(out, &[b"Invalid identifier `", shown, b"'."]);
                    return;
                }
            }
        } else if key.eq_ignore_ascii_case(b"timeout") {
            let p = strtod(value);
            if p.used == 0 || p.errno || !p.value.is_finite() {
                cmd_error_parts(out, &[b"Invalid value for option `timeout': ", value]);
                return;
            }
            timeout = p.value.max(0.0);
        } else {
            cmd_error_parts(out, &[b"Cannot parse option `", key, b"'."]);
            return;
        }
    }
    let timeout = double_to_cdtime(timeout);
    let (mut success, mut error) = (0i32, 0i32);
    let plugin_list: Vec<Option<&[u8]>> = if plugins.is_empty() {
        vec![None]
    } else {
        plugins.iter().map(|p| Some(*p)).collect()
    };
    let id_list: Vec<Option<Vec<u8>>> = if identifiers.is_empty() {
        vec![None]
    } else {
        identifiers.iter().map(|id| Some(format_name(id))).collect()
    };
    for plugin in &plugin_list {
        for id in &id_list {
            if env.flush(*plugin, timeout, id.as_deref()) {
                success += 1;
            } else {
                error += 1;
            }
        }
    }
    cmd_error(
        out,
        0,
        format!("Done: {success} successful, {error} errors").as_bytes(),
    );
}

/// GETTHRESHOLD `<identifier>`.
fn getthreshold(line: &[u8], env: &mut dyn Env, out: &mut Vec<u8>) {
    let Ok((_, pos)) = parse_string(line, 0) else {
        out.extend_from_slice(b"-1 Cannot parse command.\n");
        return;
    };
    let Ok((ident, pos)) = parse_string(line, pos) else {
        out.extend_from_slice(b"-1 Cannot parse identifier.\n");
        return;
    };
    if pos < line.len() {
        out.extend_from_slice(b"-1 Garbage after end of command: ");
        out.extend_from_slice(&line[pos..]);
        out.push(b'\n');
        return;
    }
    let Some(id) = parse_identifier(&ident) else {
        out.extend_from_slice(b"-1 Cannot parse identifier `");
        out.extend_from_slice(&ident);
        out.extend_from_slice(b"'.\n");
        return;
    };
    let id = Identifier {
        host: cut(&id.host, NAME_LEN),
        plugin: cut(&id.plugin, NAME_LEN),
        plugin_instance: id.plugin_instance.map(|p| cut(&p, NAME_LEN)),
        type_: cut(&id.type_, NAME_LEN),
        type_instance: id.type_instance.map(|t| cut(&t, NAME_LEN)),
    };
    let th = match env.threshold(&id) {
        Ok(Some(th)) => th,
        Ok(None) => {
            out.extend_from_slice(b"-1 No threshold found for identifier ");
            out.extend_from_slice(&ident);
            out.push(b'\n');
            return;
        }
        Err(status) => {
            out.extend_from_slice(
                format!("-1 Error while looking up threshold: {status}\n").as_bytes(),
            );
            return;
        }
    };
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for (label, v) in [
        ("Host", &th.host),
        ("Plugin", &th.plugin),
        ("Plugin Instance", &th.plugin_instance),
        ("Type", &th.type_),
        ("Type Instance", &th.type_instance),
        ("Data Source", &th.data_source),
    ] {
        if !v.is_empty() {
            lines.push([label.as_bytes(), b": ", v].concat());
        }
    }
    for (label, v) in [
        ("Warning Min", th.warning_min),
        ("Warning Max", th.warning_max),
        ("Failure Min", th.failure_min),
        ("Failure Max", th.failure_max),
    ] {
        if !v.is_nan() {
            lines.push(format!("{label}: {}", c_format(c"%g", v)).into_bytes());
        }
    }
    if th.hysteresis > 0.0 {
        lines.push(format!("Hysteresis: {}", c_format(c"%g", th.hysteresis)).into_bytes());
    }
    if th.hits > 1 {
        lines.push(format!("Hits: {}", th.hits).into_bytes());
    }
    out.extend_from_slice(format!("{} Threshold found\n", lines.len()).as_bytes());
    for l in lines {
        out.extend_from_slice(&l);
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests;
