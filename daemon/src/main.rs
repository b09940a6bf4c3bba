//! The `rcollectd` binary: collectd's command line, daemonizing, PID file,
//! signals and systemd readiness. Everything else lives in the library.

mod cli;
mod service;

use std::path::PathBuf;
use std::process::ExitCode;

use rcollectd::daemon::{self, Daemon, Options};
use rcollectd::reload;

use cli::{Command, Invocation};

/// `collectd.conf.d/default.conf`, used when no config file is given and
/// /etc/collectd/collectd.conf does not exist: runs without root or /etc.
const BUILTIN_CONFIG: &str = include_str!("../../collectd.conf.d/default.conf");
/// The name errors in the built-in configuration are reported under.
const BUILTIN_CONFIG_NAME: &str = "<built-in default.conf>";

fn main() -> ExitCode {
    service::limit_malloc_arenas();
    let invocation = match cli::parse(std::env::args_os().skip(1)) {
        Ok(inv) => inv,
        Err(msg) => {
            eprintln!("rcollectd: {msg}");
            eprintln!("{}", cli::usage());
            return ExitCode::from(1);
        }
    };
    match invocation.command {
        Command::Help => {
            println!("{}", cli::usage());
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("rcollectd {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Plugins => {
            for name in rcollectd::plugins::builtin::names() {
                println!("{name}");
            }
            return ExitCode::SUCCESS;
        }
        Command::Run | Command::TestConfig | Command::TestRead => {}
    }
    daemon::init_logging();
    match run(&invocation) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            log::error!("{msg}");
            ExitCode::from(1)
        }
    }
}

fn run(inv: &Invocation) -> Result<(), String> {
    let origin = reload::Origin::capture();
    if let Ok(dir) = std::env::current_dir() {
        rcollectd::runtime::runtime().isolation.set_start_dir(&dir);
    }
    let reexec = reload::is_reexec();
    let builtin = !inv.config_given && !inv.config_file.exists();
    if builtin {
        log::info!(
            "{} does not exist: using the built-in default configuration",
            inv.config_file.display()
        );
    }
    let opts = Options {
        config_file: if builtin {
            PathBuf::from(BUILTIN_CONFIG_NAME)
        } else {
            inv.config_file.clone()
        },
        config_text: builtin.then(|| BUILTIN_CONFIG.to_owned()),
        strict: inv.command == Command::TestConfig,
    };
    let mut daemon = Daemon::configure(&opts).map_err(|e| e.to_string())?;
    if inv.command == Command::TestConfig {
        println!("Syntax OK");
        return Ok(());
    }
    service::enter_base_dir(&daemon.globals().base_dir, inv.create_base_dir)?;
    if inv.command == Command::TestRead {
        return daemon.read_once().map_err(|e| e.to_string());
    }

    let notify = service::Notifier::from_env();
    // A reload's new process is the old one, detached already.
    let detach = !inv.foreground && notify.is_none() && !reexec;
    if detach {
        service::daemonize()?;
    }
    let pid_file = match &inv.pid_file {
        Some(path) => Some(path.clone()),
        None if inv.foreground => None,
        None => Some(daemon.globals().pid_file.clone()),
    };
    let _pid_guard = match &pid_file {
        Some(path) => Some(service::PidFile::create(path)?),
        None => None,
    };
    let signals = service::Signals::install()?;

    if let Some(n) = reload::restore_cache() {
        log::info!("reload: restored the rate state of {n} series");
    }
    let isolated_host = rcollectd::isolate::child::is_host();
    if isolated_host {
        rcollectd::isolate::child::install()?;
    }
    daemon.start().map_err(|e| e.to_string())?;
    if isolated_host {
        rcollectd::isolate::child::hello();
        // A callback that has not returned after Timeout intervals (at
        // least 2 s) counts as hung, as a value would count as missing.
        let limit = rcollectd::abi::globals::interval()
            .saturating_mul(rcollectd::abi::globals::timeout().max(1) as u64)
            .max(2 << 30);
        rcollectd::isolate::child::watch_for_hangs(limit);
    }
    if reexec {
        reload::close_untaken_fds();
        if let Some(n) = reload::dispatch_late() {
            log::info!("reload: dispatched {n} value lists the previous process received late");
        }
    }
    if let Some(n) = &notify {
        n.send("READY=1\nSTATUS=collecting");
    }
    // collectd's own line, which operators and scripts wait for (a host
    // process of an isolated plugin keeps quiet: its lines reach the
    // daemon's log).
    if !isolated_host {
        log::info!(
            "Initialization complete, entering read-loop. (rcollectd {})",
            env!("CARGO_PKG_VERSION")
        );
    }
    rcollectd::trim::after("startup-only");
    // The main thread only waits for signals: housekeeping runs with the
    // reads of each interval (see `Daemon::start`). Once, when every plugin
    // has run its first reads and writes (files opened, cache entries made,
    // rates started: code that runs once), the pages only those needed go
    // back too; half an interval off the rounds, so no read is running.
    let mut late_trim = Some(
        std::time::Instant::now()
            + rcollectd::time::to_duration(rcollectd::abi::globals::interval()).mul_f64(3.5),
    );
    let reloading = loop {
        let signal = match late_trim {
            Some(at) => signals.wait_for(at.saturating_duration_since(std::time::Instant::now())),
            None => Some(signals.wait()),
        };
        let Some(signal) = signal else {
            late_trim = None;
            rcollectd::trim::after("first-round");
            continue;
        };
        match signal {
            service::Signal::Flush => {
                log::info!("flushing all writers (SIGUSR1)");
                daemon.flush_all();
            }
            service::Signal::Reload => {
                log::info!("reload: testing the configuration (SIGHUP)");
                match reload::test_config(&origin) {
                    Ok(()) => break true,
                    // Not fatal: logged where the daemon logs, not also on stderr.
                    Err(e) => log::error!(
                        target: "rcollectd::reload",
                        "reload: the new configuration fails its test; running on with the old one:\n{e}"
                    ),
                }
            }
            service::Signal::Stop => break false,
        }
    };
    if reloading {
        log::info!("reload: shutting down for the new configuration");
        if let Some(n) = &notify {
            n.send(&format!(
                "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading",
                service::monotonic_usec()
            ));
        }
        rcollectd::runtime::runtime()
            .dispatch
            .keep_late_value_lists();
        reload::set_pending();
        daemon.shutdown();
        // Only returns on failure; the PID file stays, as the PID does.
        let err = reload::reexec(&origin);
        return Err(format!("reload failed: {err}"));
    }
    log::info!("shutting down");
    if let Some(n) = &notify {
        n.send("STOPPING=1");
    }
    daemon.shutdown();
    Ok(())
}
