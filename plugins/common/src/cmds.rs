//! collectd 5.12's PUTVAL and PUTNOTIF commands, without I/O: the parser
//! both the unixsock plugin (a reply per line on its socket) and the exec
//! plugin (lines a program prints) run, everything they need from the
//! daemon behind [`CmdEnv`]. The rules are collectd's own
//! (`src/utils/cmds/*.c`, `parse_identifier`/`parse_values` in
//! `src/utils/common/common.c`), reply texts byte for byte, including its
//! quirks; where collectd crashes (a line that splits into more fields than
//! it has words, several values with `meta:`) this code goes on as the
//! rules read.

use std::ffi::{CStr, CString};

use rcollectd_plugin::{sys, CdTime, DataSet, DsType, MetaData, Value};

/// Size of collectd's identifier fields (`DATA_MAX_NAME_LEN`).
pub const NAME_LEN: usize = 128;

/// Size of a notification message (`NOTIF_MAX_MSG_LEN`).
pub const MESSAGE_LEN: usize = 256;

/// Log levels of the messages a command logs (syslog numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `LOG_ERR`
    Error,
    /// `LOG_INFO`
    Info,
}

/// One data source of a type: its name and kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The data source name (`value`, `rx`, ...).
    pub name: String,
    /// How its values are read.
    pub kind: DsType,
}

/// An identifier split as `parse_identifier` splits it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identifier {
    /// Host (may be empty).
    pub host: Vec<u8>,
    /// Plugin.
    pub plugin: Vec<u8>,
    /// Plugin instance (`None`: no `-` in the plugin part).
    pub plugin_instance: Option<Vec<u8>>,
    /// Type.
    pub type_: Vec<u8>,
    /// Type instance (`None`: no `-` in the type part).
    pub type_instance: Option<Vec<u8>>,
}

/// A value list PUTVAL dispatches.
#[derive(Debug, Clone, PartialEq)]
pub struct PutValue {
    /// Identifier fields, each cut to 127 bytes as collectd's `sstrncpy`.
    pub identifier: Identifier,
    /// `cdtime_t` of the values.
    pub time: u64,
    /// `cdtime_t` interval (0: the daemon's default).
    pub interval: u64,
    /// One value per data source (missing ones are zero, as collectd's `calloc`).
    pub values: Vec<Value>,
    /// String meta data, when collectd would attach a meta data object
    /// (possibly empty); each value list owns its copy.
    pub meta: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

/// A notification as plain data: what PUTNOTIF dispatches, and what
/// exec's `NotificationExec` programs read on stdin.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PutNotif {
    /// `NOTIF_FAILURE` (1), `NOTIF_WARNING` (2) or `NOTIF_OKAY` (4).
    pub severity: i32,
    /// `cdtime_t`.
    pub time: u64,
    /// At most 255 bytes.
    pub message: Vec<u8>,
    /// At most 127 bytes each.
    pub host: Vec<u8>,
    /// Plugin.
    pub plugin: Vec<u8>,
    /// Plugin instance.
    pub plugin_instance: Vec<u8>,
    /// Type.
    pub type_: Vec<u8>,
    /// Type instance.
    pub type_instance: Vec<u8>,
    /// `s:key=value` options, in order.
    pub meta: Vec<(Vec<u8>, Vec<u8>)>,
}

/// What PUTVAL and PUTNOTIF need from the daemon.
pub trait CmdEnv {
    /// The data sources of `type_` (`plugin_get_ds`), `None` if unknown.
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>>;
    /// The current time (`cdtime()`), for a value time of `N`.
    fn now(&mut self) -> u64;
    /// `plugin_dispatch_values`.
    fn dispatch_values(&mut self, vl: &PutValue);
    /// `plugin_dispatch_notification`.
    fn dispatch_notification(&mut self, n: &PutNotif);
    /// A message in the plugin's log (the caller adds its prefix).
    fn log(&mut self, level: Level, message: String);
}

/// A status line as `cmd_error_fh` prints it: `<code> <message>\n`, the
/// message cut to 1023 bytes.
pub fn cmd_error(out: &mut Vec<u8>, code: i32, msg: &[u8]) {
    out.extend_from_slice(code.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(&msg[..msg.len().min(1023)]);
    out.push(b'\n');
}

/// `cmd_error` with a message built from text and byte strings.
pub fn cmd_error_parts(out: &mut Vec<u8>, parts: &[&[u8]]) {
    cmd_error(out, -1, &parts.concat());
}

/// C's `isspace` in the C locale.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `cmd_split`: fields separated by white space; `"..."` quotes (with `\`
/// escapes inside) join words, a quoted string right after a word extends
/// it, and a quote ends its field. Mirrors collectd's in-place algorithm,
/// including its quirk that an empty quoted string yields the field `"` and
/// ends the line, but without the field count assertion.
pub fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut buf = line.to_vec();
    buf.push(0);
    let mut starts = Vec::new();
    let mut write = 0usize;
    let mut in_field = false;
    let mut in_quotes = false;
    let mut s = 0usize;
    while buf[s] != 0 {
        let c = buf[s];
        if is_space(c) {
            if !in_quotes {
                if in_field {
                    buf[write] = 0;
                    in_field = false;
                }
                s += 1;
                continue;
            }
        } else if c == b'"' {
            if in_quotes {
                if !in_field {
                    starts.push(s);
                    write = s + 1;
                }
                buf[write] = 0;
                in_field = false;
                in_quotes = false;
                s += 1;
                continue;
            }
            in_quotes = true;
            s += 1;
            continue;
        } else if c == b'\\' && in_quotes {
            if buf[s + 1] == 0 {
                return Err("Backslash at end of string.");
            }
            s += 1;
        }
        if !in_field {
            starts.push(s);
            write = s + 1;
            in_field = true;
        } else {
            buf[write] = buf[s];
            write += 1;
        }
        s += 1;
    }
    if in_quotes {
        return Err("Unterminated quoted string.");
    }
    if in_field {
        buf[write] = 0;
    }
    Ok(starts
        .into_iter()
        .map(|start| {
            let len = buf[start..].iter().position(|&b| b == 0).unwrap_or(0);
            buf[start..start + len].to_vec()
        })
        .collect())
}

/// `parse_identifier` without a default host: `host/plugin[-pi]/type[-ti]`
/// (the type part keeps any further `/`).
pub fn parse_identifier(s: &[u8]) -> Option<Identifier> {
    let p = rcollectd_core::ident::parse(s, None)?;
    Some(Identifier {
        host: p.host.to_vec(),
        plugin: p.plugin.to_vec(),
        plugin_instance: p.plugin_instance.map(<[u8]>::to_vec),
        type_: p.type_.to_vec(),
        type_instance: p.type_instance.map(<[u8]>::to_vec),
    })
}

/// `cmd_parse_option`: `key=value` where the key is a non-empty run of
/// ASCII letters, digits, `_` and `:`; `None` when the field is no option.
pub fn parse_cmd_option(field: &[u8]) -> Option<(&[u8], &[u8])> {
    let key_len = field
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b':'))
        .unwrap_or(field.len());
    if key_len == 0 || field.get(key_len) != Some(&b'=') {
        return None;
    }
    Some((&field[..key_len], &field[key_len + 1..]))
}

/// `parse_string` (PUTNOTIF, GETTHRESHOLD): the next word or quoted string
/// from `pos`, and the position after it and the white space that follows.
/// `Err(1)`: nothing left; `Err(-1)`: malformed.
pub fn parse_string(b: &[u8], pos: usize) -> Result<(Vec<u8>, usize), i32> {
    let mut i = pos;
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    if i == b.len() {
        return Err(1);
    }
    let mut out = Vec::new();
    if b[i] == b'"' {
        i += 1;
        if i == b.len() {
            return Err(1);
        }
        while i < b.len() && b[i] != b'"' {
            if b[i] == b'\\' {
                i += 1;
                if i == b.len() {
                    return Err(-1);
                }
            }
            out.push(b[i]);
            i += 1;
        }
        if i == b.len() {
            return Err(-1);
        }
        i += 1;
        if i < b.len() && !is_space(b[i]) {
            return Err(-1);
        }
    } else {
        let start = i;
        while i < b.len() && !is_space(b[i]) {
            i += 1;
        }
        out.extend_from_slice(&b[start..i]);
        if i < b.len() {
            i += 1;
        }
    }
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    Ok((out, i))
}

/// `parse_option` (PUTNOTIF): `key=value` or `key="quoted value"` from
/// `pos`. `Err(1)`: no option; `Err(-1)`: malformed.
pub fn parse_option(b: &[u8], pos: usize) -> Result<(Vec<u8>, Vec<u8>, usize), i32> {
    let mut i = pos;
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    if i == b.len() {
        return Err(1);
    }
    let key_start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
        i += 1;
    }
    if i == b.len() || b[i] != b'=' || i == key_start {
        return Err(1);
    }
    let key = b[key_start..i].to_vec();
    i += 1;
    if i == b.len() || is_space(b[i]) {
        return Err(-1);
    }
    let (value, next) = parse_string(b, i).map_err(|_| -1)?;
    Ok((key, value, next))
}

/// What C's `strtod`/`strtoll`/`strtoull` report: the value, how many
/// bytes they consumed, and whether they set `errno`.
pub struct Parsed<T> {
    /// The value (0 when nothing was parsed).
    pub value: T,
    /// Bytes consumed.
    pub used: usize,
    /// Whether `errno` was set (a range error).
    pub errno: bool,
}

/// Runs a C string-to-number function on `s` (cut at a NUL).
fn c_parse<T>(
    s: &[u8],
    f: impl FnOnce(*const libc::c_char, *mut *mut libc::c_char) -> T,
) -> Parsed<T> {
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    let c = std::ffi::CString::new(s).unwrap_or_default();
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: errno is thread-local; resetting it before the call is how C
    // callers detect range errors.
    unsafe { *libc::__errno_location() = 0 };
    let value = f(c.as_ptr(), &mut end);
    // SAFETY: as above, read right after the call on the same thread.
    let errno = unsafe { *libc::__errno_location() } != 0;
    let used = if end.is_null() {
        0
    } else {
        (end as usize).saturating_sub(c.as_ptr() as usize)
    };
    Parsed { value, used, errno }
}

/// C's `strtod` (the C library's own, so hex floats, `nan`, `inf` and
/// range errors behave as in collectd).
pub fn strtod(s: &[u8]) -> Parsed<f64> {
    // SAFETY: `p` is a NUL-terminated string and `end` a valid out pointer.
    c_parse(s, |p, end| unsafe { libc::strtod(p, end) })
}

/// C's `strtoll(s, &end, 0)`.
pub fn strtoll(s: &[u8]) -> Parsed<i64> {
    // SAFETY: as in `strtod`.
    c_parse(s, |p, end| unsafe { libc::strtoll(p, end, 0) })
}

/// C's `strtoull(s, &end, 0)`.
pub fn strtoull(s: &[u8]) -> Parsed<u64> {
    // SAFETY: as in `strtod`.
    c_parse(s, |p, end| unsafe { libc::strtoull(p, end, 0) })
}

/// `DOUBLE_TO_CDTIME_T`: `(cdtime_t)(d * 2^30)` as gcc compiles the cast
/// on x86-64 (negative values wrap, out of range gives 2^63 or 0).
pub fn double_to_cdtime(d: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let x = d * 1_073_741_824.0;
    let cvtt = |v: f64| -> i64 {
        if v.is_nan() || !(-TWO_63..TWO_63).contains(&v) {
            i64::MIN
        } else {
            v as i64
        }
    };
    if x.is_nan() || x < TWO_63 {
        cvtt(x) as u64
    } else {
        (cvtt(x - TWO_63) as u64) ^ (1 << 63)
    }
}

/// `DS_TYPE_TO_STRING`.
fn kind_name(kind: DsType) -> &'static str {
    match kind {
        DsType::Counter => "counter",
        DsType::Gauge => "gauge",
        DsType::Derive => "derive",
        DsType::Absolute => "absolute",
    }
}

/// A zero value of this kind (collectd's `calloc`ed values).
fn zero(kind: DsType) -> Value {
    match kind {
        DsType::Counter => Value::Counter(0),
        DsType::Gauge => Value::Gauge(0.0),
        DsType::Derive => Value::Derive(0),
        DsType::Absolute => Value::Absolute(0),
    }
}

/// `parse_value`: one value of `kind`; logs as collectd does.
fn parse_value(orig: &[u8], kind: DsType, env: &mut dyn CmdEnv) -> Option<Value> {
    let mut s = orig;
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    let (value, used) = match kind {
        DsType::Gauge => {
            let p = strtod(s);
            (Value::Gauge(p.value), p.used)
        }
        DsType::Derive => {
            let p = strtoll(s);
            (Value::Derive(p.value), p.used)
        }
        DsType::Counter => {
            let p = strtoull(s);
            (Value::Counter(p.value), p.used)
        }
        DsType::Absolute => {
            let p = strtoull(s);
            (Value::Absolute(p.value), p.used)
        }
    };
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if used == 0 {
        env.log(
            Level::Error,
            format!(
                "parse_value: Failed to parse string as {}: \"{}\".",
                kind_name(kind),
                lossy(s)
            ),
        );
        return None;
    }
    if used < s.len() {
        env.log(
            Level::Info,
            format!(
                "parse_value: Ignoring trailing garbage \"{}\" after {} value. Input string was \"{}\".",
                lossy(&s[used..]),
                kind_name(kind),
                lossy(orig)
            ),
        );
    }
    Some(value)
}

/// `parse_values`: `time:v1[:v2...]` (`N` is now, `U` an unknown gauge;
/// empty parts are skipped as `strtok` skips them). Returns the time and
/// one value per source; sources without a value stay zero.
pub fn parse_values(
    field: &[u8],
    ds: &[Source],
    env: &mut dyn CmdEnv,
) -> Option<(u64, Vec<Value>)> {
    let mut values: Vec<Value> = ds.iter().map(|s| zero(s.kind)).collect();
    let mut time = 0u64;
    let mut i = 0usize;
    for tok in field.split(|&b| b == b':').filter(|t| !t.is_empty()) {
        if i >= ds.len() {
            return None;
        }
        if time == 0 {
            if tok == b"N" {
                time = env.now();
            } else {
                let p = strtod(tok);
                if p.errno || p.used == 0 || p.used != tok.len() {
                    return None;
                }
                time = double_to_cdtime(p.value);
            }
            continue;
        }
        values[i] = if tok == b"U" && ds[i].kind == DsType::Gauge {
            Value::Gauge(f64::NAN)
        } else {
            parse_value(tok, ds[i].kind, env)?
        };
        i += 1;
    }
    (i > 0).then_some((time, values))
}

/// `sstrncpy` into a `DATA_MAX_NAME_LEN`-sized field.
pub fn cut(s: &[u8], size: usize) -> Vec<u8> {
    s[..s.len().min(size - 1)].to_vec()
}

/// Formats one `f64` with a C format (`%12e`, `%g`, `%.3f`) exactly as
/// collectd's `fprintf` does.
pub fn c_format(fmt: &std::ffi::CStr, v: f64) -> String {
    let mut out = String::new();
    crate::format::push_c(&mut out, fmt, v);
    out
}

/// PUTVAL `<identifier> [interval=<s>] [meta:<key>="<string>"] <values>...`
/// (`args`: the fields after the command word). Error replies go to `out`;
/// on success nothing is written and the number of value lists dispatched
/// is returned (the caller decides whether to report it, as collectd does
/// on a socket but not on the exec plugin's stdout).
pub fn putval(args: &[Vec<u8>], env: &mut dyn CmdEnv, out: &mut Vec<u8>) -> Option<usize> {
    if args.len() < 2 {
        cmd_error(out, -1, b"Missing identifier and/or value-list.");
        return None;
    }
    let raw = &args[0];
    let Some(id) = parse_identifier(raw) else {
        cmd_error_parts(out, &[b"Cannot parse identifier `", raw, b"'."]);
        return None;
    };
    let too_long = |f: &Option<Vec<u8>>| f.as_ref().is_some_and(|f| f.len() >= NAME_LEN);
    if id.host.len() >= NAME_LEN
        || id.plugin.len() >= NAME_LEN
        || too_long(&id.plugin_instance)
        || too_long(&id.type_instance)
    {
        cmd_error(out, -1, b"Identifier too long.");
        return None;
    }
    let Some(ds) = env.data_set(&id.type_) else {
        cmd_error_parts(out, &[b"1 Type `", &id.type_, b"' isn't defined."]);
        return None;
    };
    let identifier = Identifier {
        type_: cut(&id.type_, NAME_LEN),
        ..id
    };
    let mut interval = 0u64;
    // collectd's one meta data object: created by the first `meta:` option
    // and shared by every value list parsed after that.
    let mut meta: Option<Vec<(Vec<u8>, Vec<u8>)>> = None;
    let mut lists: Vec<(u64, u64, Vec<Value>, bool)> = Vec::new();
    for arg in &args[1..] {
        if let Some((key, value)) = parse_cmd_option(arg) {
            if key.eq_ignore_ascii_case(b"interval") {
                let p = strtod(value);
                if !p.errno && p.used > 0 && p.value > 0.0 {
                    interval = double_to_cdtime(p.value);
                }
            } else if key.len() >= 5 && key[..5].eq_ignore_ascii_case(b"meta:") {
                let entries = meta.get_or_insert_with(Vec::new);
                let quoted = value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"';
                if quoted {
                    let (k, v) = (key[5..].to_vec(), value[1..value.len() - 1].to_vec());
                    match entries.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(entry) => entry.1 = v,
                        None => entries.push((k, v)),
                    }
                } else {
                    cmd_error(out, -1, b"Non-string metadata not supported yet");
                }
            } else {
                // collectd gives up without a reply.
                return None;
            }
            continue;
        }
        let Some((time, values)) = parse_values(arg, &ds, env) else {
            cmd_error(out, -1, b"Parsing the values string failed.");
            return None;
        };
        lists.push((time, interval, values, meta.is_some()));
    }
    for (time, interval, values, has_meta) in &lists {
        env.dispatch_values(&PutValue {
            identifier: identifier.clone(),
            time: *time,
            interval: *interval,
            values: values.clone(),
            meta: has_meta.then(|| meta.clone().unwrap_or_default()),
        });
    }
    Some(lists.len())
}

/// `format_name`: `host/plugin[-pi]/type[-ti]` (empty instances omitted).
pub fn format_name(id: &Identifier) -> Vec<u8> {
    rcollectd_core::ident::Parts {
        host: &id.host,
        plugin: &id.plugin,
        plugin_instance: id.plugin_instance.as_deref(),
        type_: &id.type_,
        type_instance: id.type_instance.as_deref(),
    }
    .format()
}

/// PUTNOTIF `severity=... time=... message=... [host=...] ... [s:key=...]`
/// (the whole line): dispatches the notification, the reply (`0 Success`
/// or the error) goes to `out`.
pub fn putnotif(line: &[u8], env: &mut dyn CmdEnv, out: &mut Vec<u8>) {
    let Ok((command, mut pos)) = parse_string(line, 0) else {
        out.extend_from_slice(b"-1 Cannot parse command.\n");
        return;
    };
    if !command.eq_ignore_ascii_case(b"PUTNOTIF") {
        out.extend_from_slice(b"-1 Unexpected command: `");
        out.extend_from_slice(&command);
        out.extend_from_slice(b"'.\n");
        return;
    }
    let mut n = PutNotif::default();
    let mut failed = false;
    while pos < line.len() {
        let Ok((key, value, next)) = parse_option(line, pos) else {
            out.extend_from_slice(b"-1 Malformed option.\n");
            failed = true;
            break;
        };
        pos = next;
        if !set_notif_option(&mut n, &key, value) {
            out.extend_from_slice(b"-1 Error parsing option `");
            out.extend_from_slice(&key);
            out.extend_from_slice(b"'\n");
            failed = true;
            break;
        }
    }
    if failed {
        return;
    }
    if n.severity == 0 {
        out.extend_from_slice(b"-1 Option `severity' missing.\n");
    } else if n.time == 0 {
        out.extend_from_slice(b"-1 Option `time' missing.\n");
    } else if n.message.is_empty() {
        out.extend_from_slice(b"-1 No message or message of length 0 given.\n");
    } else {
        env.dispatch_notification(&n);
        out.extend_from_slice(b"0 Success\n");
    }
}

/// PUTNOTIF's `set_option`; false where collectd reports an error.
fn set_notif_option(n: &mut PutNotif, key: &[u8], value: Vec<u8>) -> bool {
    if key.len() >= 2 && key[1] == b':' {
        if key.len() == 2 || key[0] != b's' {
            return false;
        }
        n.meta.push((key[2..].to_vec(), value));
        return true;
    }
    let is = |name: &str| key.eq_ignore_ascii_case(name.as_bytes());
    if is("severity") {
        n.severity = if value.eq_ignore_ascii_case(b"Failure") {
            1
        } else if value.eq_ignore_ascii_case(b"Warning") {
            2
        } else if value.eq_ignore_ascii_case(b"Okay") {
            4
        } else {
            return false;
        };
    } else if is("time") {
        let p = strtod(&value);
        if p.errno || p.used == 0 || p.used != value.len() {
            return false;
        }
        n.time = double_to_cdtime(p.value);
    } else if is("message") {
        n.message = cut(&value, MESSAGE_LEN);
    } else if is("host") {
        n.host = cut(&value, NAME_LEN);
    } else if is("plugin") {
        n.plugin = cut(&value, NAME_LEN);
    } else if is("plugin_instance") {
        n.plugin_instance = cut(&value, NAME_LEN);
    } else if is("type") {
        n.type_ = cut(&value, NAME_LEN);
    } else if is("type_instance") {
        n.type_instance = cut(&value, NAME_LEN);
    } else {
        return false;
    }
    true
}

/// `cmd_handle_putval` as the exec plugin calls it (replies to its stdout):
/// the line split as `cmd_parse` splits it, its first field must be
/// `PUTVAL` (else `Unknown command`), error replies go to `out`, success is
/// silent. Returns how many value lists were dispatched.
pub fn putval_line(line: &[u8], env: &mut dyn CmdEnv, out: &mut Vec<u8>) -> Option<usize> {
    let fields = match split(line) {
        Ok(fields) => fields,
        Err(msg) => {
            cmd_error(out, -1, msg.as_bytes());
            return None;
        }
    };
    let Some(command) = fields.first() else {
        cmd_error(out, -1, b"Missing command.");
        return None;
    };
    if !command.eq_ignore_ascii_case(b"PUTVAL") {
        cmd_error_parts(out, &[b"Unknown command `", command, b"'."]);
        return None;
    }
    putval(&fields[1..], env, out)
}

/// Copies bytes into a C string field, cut as `sstrncpy` cuts.
pub fn fill(dst: &mut [libc::c_char], src: &[u8]) {
    let n = src.len().min(dst.len() - 1);
    for (d, s) in dst.iter_mut().zip(&src[..n]) {
        *d = *s as libc::c_char;
    }
    dst[n] = 0;
}

/// A C string from bytes that contain no NUL (cut at one if they do).
pub fn c_string(b: &[u8]) -> CString {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    CString::new(&b[..end]).unwrap_or_default()
}

/// A value list with this identifier and nothing else.
pub fn value_list_for(id: &Identifier) -> sys::value_list_t {
    let mut vl = sys::value_list_t::default();
    fill(&mut vl.host, &id.host);
    fill(&mut vl.plugin, &id.plugin);
    fill(
        &mut vl.plugin_instance,
        id.plugin_instance.as_deref().unwrap_or(b""),
    );
    fill(&mut vl.type_, &id.type_);
    fill(
        &mut vl.type_instance,
        id.type_instance.as_deref().unwrap_or(b""),
    );
    vl
}

/// The daemon's side of [`CmdEnv`] (all but logging, which each plugin
/// does its own way).
pub mod host {
    use super::*;

    /// `plugin_get_ds`: the data sources of `type_`.
    pub fn data_set(type_: &[u8]) -> Option<Vec<Source>> {
        let ds = DataSet::lookup(std::str::from_utf8(type_).ok()?)?;
        Some(
            ds.sources()
                .map(|s| Source {
                    name: s.name().to_owned(),
                    kind: s.ds_type(),
                })
                .collect(),
        )
    }

    /// `cdtime()`.
    pub fn now() -> u64 {
        CdTime::now().0
    }

    /// `plugin_dispatch_values` of a parsed PUTVAL value list (the daemon
    /// logs its own errors; collectd ignores the status too).
    pub fn dispatch_values(v: &PutValue) {
        let mut vl = value_list_for(&v.identifier);
        let mut values: Vec<sys::value_t> = v.values.iter().map(|x| x.to_raw()).collect();
        vl.values = values.as_mut_ptr();
        vl.values_len = values.len();
        vl.time = v.time;
        vl.interval = v.interval;
        let meta = match &v.meta {
            None => None,
            Some(entries) => match MetaData::new() {
                Ok(mut md) => {
                    for (k, val) in entries {
                        let _ = md.add_string(&String::from_utf8_lossy(k), val);
                    }
                    Some(md)
                }
                Err(_) => None,
            },
        };
        vl.meta = meta.as_ref().map_or(std::ptr::null_mut(), MetaData::as_ptr);
        let _ = rcollectd_plugin::dispatch_raw(&vl);
    }

    /// `plugin_dispatch_notification` of a parsed PUTNOTIF.
    pub fn dispatch_notification(n: &PutNotif) {
        let mut raw = sys::notification_t {
            severity: n.severity,
            time: n.time,
            ..Default::default()
        };
        fill(&mut raw.message, &n.message);
        fill(&mut raw.host, &n.host);
        fill(&mut raw.plugin, &n.plugin);
        fill(&mut raw.plugin_instance, &n.plugin_instance);
        fill(&mut raw.type_, &n.type_);
        fill(&mut raw.type_instance, &n.type_instance);
        let meta: Vec<(CString, CString)> = n
            .meta
            .iter()
            .map(|(k, v)| (c_string(k), c_string(v)))
            .collect();
        let refs: Vec<(&CStr, &CStr)> = meta
            .iter()
            .map(|(k, v)| (k.as_c_str(), v.as_c_str()))
            .collect();
        let _ = rcollectd_plugin::dispatch_notification_with_strings(&raw, &refs);
    }
}

#[cfg(test)]
mod tests;
