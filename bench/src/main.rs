//! `rcollectd-bench`: runs rcollectd and the real collectd 5.12 side by side
//! on the same workloads, alternating them round by round, and prints the
//! median of each figure for both, their ratio, the spread and the project
//! goal. Usage: `rcollectd-bench [all|footprint|network|dispatch|cache|reload|soak]`;
//! durations and counts come from BENCH_* / SOAK_* environment variables.

mod daemon;
mod procfs;
mod report;
mod sender;
mod stats;
mod workloads;

use std::process::ExitCode;
use std::time::Instant;

use daemon::Paths;
use report::Report;
use workloads::Settings;

fn first_line_of(path: &str, prefix: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The first line of a command's output that starts with `prefix`.
fn command_output(cmd: &str, args: &[&str], prefix: &str) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            t.lines()
                .find(|l| l.starts_with(prefix))
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// One line describing the machine and the two daemons.
fn machine(paths: &Paths) -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    format!(
        "{cpus} CPUs ({}), {} RAM, Linux {kernel}; collectd: {}; rcollectd: {} (workspace at git {})",
        first_line_of("/proc/cpuinfo", "model name"),
        first_line_of("/proc/meminfo", "MemTotal"),
        command_output(&paths.collectd.to_string_lossy(), &["-h"], "collectd "),
        paths.rcollectd.display(),
        command_output(
            "git",
            &[
                "-C",
                &paths.workspace.to_string_lossy(),
                "rev-parse",
                "--short",
                "HEAD"
            ],
            ""
        ),
    )
}

fn main() -> ExitCode {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let known = [
        "all",
        "footprint",
        "network",
        "dispatch",
        "cache",
        "reload",
        "scrape",
        "soak",
    ];
    if !known.contains(&what.as_str()) {
        eprintln!("usage: rcollectd-bench [{}]", known.join("|"));
        return ExitCode::from(2);
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rcollectd-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let paths = Paths::from_env();
    if let Err(e) = paths.build_c_plugins() {
        eprintln!("rcollectd-bench: building the benchmark C plugins failed: {e}");
        return ExitCode::FAILURE;
    }
    if !paths.collectd.is_file() {
        eprintln!(
            "rcollectd-bench: {} is missing: install collectd 5.12 (scripts/install-deps.sh)",
            paths.collectd.display()
        );
        return ExitCode::FAILURE;
    }
    if !paths.rcollectd.is_file() {
        eprintln!(
            "rcollectd-bench: WARNING: {} is missing (run `make build`); every rcollectd figure will be FAILED",
            paths.rcollectd.display()
        );
    }
    let machine = machine(&paths);
    eprintln!("machine: {machine}");
    eprintln!("settings: {settings:?}");

    if what == "soak" {
        return match workloads::soak(&paths, &settings) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }

    let started = Instant::now();
    let mut report = Report::default();
    if what == "all" || what == "footprint" {
        workloads::footprint(&paths, &settings, &mut report);
    }
    if what == "all" || what == "network" {
        workloads::network(&paths, &settings, &mut report);
    }
    if what == "all" || what == "dispatch" {
        workloads::dispatch(&paths, &settings, &mut report);
    }
    if what == "all" || what == "cache" {
        workloads::cache(&paths, &settings, &mut report);
    }
    if what == "all" || what == "reload" {
        workloads::reload(&paths, &settings, &mut report);
    }
    if what == "all" || what == "scrape" {
        workloads::scrape(&paths, &settings, &mut report);
    }

    let table = report.render();
    println!(
        "\nrcollectd vs collectd 5.12 - median of {} alternating rounds ({:.0} s)",
        settings.rounds,
        started.elapsed().as_secs_f64()
    );
    println!("machine: {machine}\n");
    print!("{table}");
    let out_dir = paths.target.join("bench");
    let name = if what == "all" {
        "results".to_string()
    } else {
        format!("results-{what}")
    };
    let json_path = out_dir.join(format!("{name}.json"));
    let txt_path = out_dir.join(format!("{name}.txt"));
    let written = std::fs::create_dir_all(&out_dir)
        .and_then(|_| std::fs::write(&json_path, report.to_json(&machine)))
        .and_then(|_| std::fs::write(&txt_path, format!("machine: {machine}\n\n{table}")));
    match written {
        Ok(()) => println!(
            "\nwritten: {} and {}",
            json_path.display(),
            txt_path.display()
        ),
        Err(e) => {
            eprintln!("rcollectd-bench: writing results failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    if report.any_failed() {
        eprintln!(
            "rcollectd-bench: some daemon runs FAILED (see the notes above); exiting non-zero"
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
