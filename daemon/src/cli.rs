//! collectd's command line (`-C -t -T -P -f -B -h`), parsed getopt-style so
//! that `-fC file` and `-Cfile` work as they do with collectd.

use std::ffi::OsString;
use std::path::PathBuf;

/// collectd's default configuration file, kept so unit files need no change.
pub const DEFAULT_CONFIG: &str = "/etc/collectd/collectd.conf";

/// What the invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Run,
    TestConfig,
    TestRead,
    Help,
    Version,
    /// `--plugins`: list the built-in plugins.
    Plugins,
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    pub config_file: PathBuf,
    /// Whether `-C` was given (without it, a missing default file means the
    /// built-in default configuration).
    pub config_given: bool,
    pub pid_file: Option<PathBuf>,
    pub foreground: bool,
    pub create_base_dir: bool,
}

/// The `-h` text.
pub fn usage() -> String {
    let builtins = wrap(
        &rcollectd::plugins::builtin::names().collect::<Vec<_>>(),
        76,
        "  ",
    );
    format!(
        "Usage: rcollectd [OPTIONS]\n\
         \n\
         Options:\n\
         \x20 -C <file>   Configuration file (default {DEFAULT_CONFIG}, else built in).\n\
         \x20 -t          Test the configuration (and load every plugin), then exit.\n\
         \x20 -T          Run every read callback once, write the values, then exit.\n\
         \x20 -P <file>   PID file (default: PIDFile from the configuration).\n\
         \x20 -f          Stay in the foreground.\n\
         \x20 -B          Do not create the BaseDir.\n\
         \x20 -h          Print this help and exit.\n\
         \x20 --version   Print the version and exit.\n\
         \x20 --plugins   List the plugins built into this binary and exit.\n\
         \n\
         Built-in plugins (a PluginDir holding <name>.so loads that file instead):\n\
         {builtins}\n\
         \n\
         Under systemd (NOTIFY_SOCKET set) rcollectd stays in the foreground and\n\
         reports readiness with sd_notify, as collectd does."
    )
}

/// `words` joined by blanks into lines of at most `width` columns.
fn wrap(words: &[&str], width: usize, indent: &str) -> String {
    let mut lines = vec![indent.to_owned()];
    for w in words {
        let line = lines.last_mut().expect("one line at least");
        if line.len() > indent.len() && line.len() + 1 + w.len() > width {
            lines.push(format!("{indent}{w}"));
        } else {
            if line.len() > indent.len() {
                line.push(' ');
            }
            line.push_str(w);
        }
    }
    lines.join("\n")
}

/// Parses the arguments after the program name.
pub fn parse<I>(args: I) -> Result<Invocation, String>
where
    I: IntoIterator<Item = OsString>,
{
    let mut inv = Invocation {
        command: Command::Run,
        config_file: PathBuf::from(DEFAULT_CONFIG),
        config_given: false,
        pid_file: None,
        foreground: false,
        create_base_dir: true,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let text = arg
            .to_str()
            .ok_or_else(|| format!("argument {arg:?} is not valid UTF-8"))?
            .to_owned();
        match text.as_str() {
            "--version" => {
                inv.command = Command::Version;
                continue;
            }
            "--help" => {
                inv.command = Command::Help;
                continue;
            }
            "--plugins" => {
                inv.command = Command::Plugins;
                continue;
            }
            _ => {}
        }
        let Some(flags) = text.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(format!("unexpected argument `{text}`"));
        };
        for (i, flag) in flags.char_indices() {
            match flag {
                'C' | 'P' => {
                    let rest = &flags[i + flag.len_utf8()..];
                    let value = if rest.is_empty() {
                        args.next()
                            .map(PathBuf::from)
                            .ok_or_else(|| format!("option -{flag} needs a file name"))?
                    } else {
                        PathBuf::from(rest)
                    };
                    if flag == 'C' {
                        inv.config_file = value;
                        inv.config_given = true;
                    } else {
                        inv.pid_file = Some(value);
                    }
                    break;
                }
                't' => set_command(&mut inv, Command::TestConfig),
                'T' => set_command(&mut inv, Command::TestRead),
                'f' => inv.foreground = true,
                'B' => inv.create_base_dir = false,
                'h' => inv.command = Command::Help,
                other => return Err(format!("unknown option -{other}")),
            }
        }
    }
    Ok(inv)
}

fn set_command(inv: &mut Invocation, cmd: Command) {
    if !matches!(
        inv.command,
        Command::Help | Command::Version | Command::Plugins
    ) {
        inv.command = cmd;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Invocation, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn defaults_match_collectd() {
        let inv = p(&[]).unwrap();
        assert_eq!(inv.command, Command::Run);
        assert_eq!(
            inv.config_file,
            PathBuf::from("/etc/collectd/collectd.conf")
        );
        assert_eq!(inv.pid_file, None);
        assert!(!inv.config_given);
        assert!(!inv.foreground);
        assert!(inv.create_base_dir);
    }

    #[test]
    fn separate_and_joined_values() {
        let inv = p(&["-C", "/a.conf", "-P/run/x.pid", "-f", "-B"]).unwrap();
        assert_eq!(inv.config_file, PathBuf::from("/a.conf"));
        assert!(inv.config_given);
        assert_eq!(inv.pid_file, Some(PathBuf::from("/run/x.pid")));
        assert!(inv.foreground);
        assert!(!inv.create_base_dir);
    }

    #[test]
    fn clustered_flags_like_getopt() {
        let inv = p(&["-tfC", "/b.conf"]).unwrap();
        assert_eq!(inv.command, Command::TestConfig);
        assert!(inv.foreground);
        assert_eq!(inv.config_file, PathBuf::from("/b.conf"));
        assert_eq!(p(&["-T"]).unwrap().command, Command::TestRead);
    }

    #[test]
    fn help_and_version_win() {
        assert_eq!(p(&["-t", "-h"]).unwrap().command, Command::Help);
        assert_eq!(p(&["-h", "-t"]).unwrap().command, Command::Help);
        assert_eq!(p(&["--version"]).unwrap().command, Command::Version);
    }

    #[test]
    fn errors_are_plain() {
        assert_eq!(p(&["-x"]).unwrap_err(), "unknown option -x");
        assert_eq!(p(&["-C"]).unwrap_err(), "option -C needs a file name");
        assert_eq!(p(&["foo"]).unwrap_err(), "unexpected argument `foo`");
    }
}
