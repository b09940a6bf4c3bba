//! The results table: one row per workload and metric, with rcollectd's and
//! collectd's medians, their ratio, the spread, and the project goal marked
//! met or not. Printed as text and written as JSON.

use std::fmt::Write as _;

use crate::stats::{ratio, summarize, Summary};

/// A project target a row is judged against.
#[derive(Debug, Clone, PartialEq)]
pub enum Goal {
    /// rcollectd/collectd must be at most this.
    RatioAtMost(f64),
    /// rcollectd/collectd must be at least this.
    RatioAtLeast(f64),
    /// rcollectd's own median must be below this (in the row's unit).
    AbsBelow(f64),
    /// rcollectd's own median must be at most this (in the row's unit).
    AbsAtMost(f64),
}

impl Goal {
    fn describe(&self, unit: &str) -> String {
        match self {
            Goal::RatioAtMost(r) => format!("<= {r}x"),
            Goal::RatioAtLeast(r) => format!(">= {r}x"),
            Goal::AbsBelow(v) => format!("rc < {v} {unit}"),
            Goal::AbsAtMost(v) => format!("rc <= {v} {unit}"),
        }
    }

    /// Whether the goal holds; `None` when a needed figure is missing.
    pub fn met(&self, rc: Option<Summary>, ratio: Option<f64>) -> Option<bool> {
        match *self {
            Goal::RatioAtMost(r) => ratio.map(|x| x <= r),
            Goal::RatioAtLeast(r) => ratio.map(|x| x >= r),
            Goal::AbsBelow(v) => rc.map(|s| s.median < v),
            Goal::AbsAtMost(v) => rc.map(|s| s.median <= v),
        }
    }
}

/// The samples of one side of a row, or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub enum Side {
    /// One sample per round (rounds that failed are left out).
    Samples(Vec<f64>),
    /// The daemon could not be measured; the reason is printed.
    Failed(String),
    /// Not applicable (e.g. a figure only measured for one daemon).
    NotApplicable,
}

impl Side {
    fn summary(&self) -> Option<Summary> {
        match self {
            Side::Samples(v) => summarize(v),
            _ => None,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Workload name, e.g. `network-none`.
    pub workload: String,
    /// Metric name, e.g. `cpu_us_per_value_list`.
    pub metric: String,
    /// Unit of the figures.
    pub unit: String,
    /// rcollectd's samples.
    pub rc: Side,
    /// collectd 5.12's samples.
    pub cd: Side,
    /// Target, if the project has one for this metric.
    pub goal: Option<Goal>,
    /// Anything a reader must know (capped waits, borrowed plugins, ...).
    pub note: String,
}

/// Every row measured in one run.
#[derive(Debug, Default)]
pub struct Report {
    /// Rows in measurement order.
    pub rows: Vec<Row>,
}

fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn fmt_side(side: &Side) -> String {
    match side {
        Side::Samples(v) => match summarize(v) {
            Some(s) => fmt_num(s.median),
            None => "n/a".into(),
        },
        Side::Failed(_) => "FAILED".into(),
        Side::NotApplicable => "-".into(),
    }
}

fn fmt_spread(side: &Side) -> String {
    match side.summary() {
        Some(s) => format!("{}-{} (n={})", fmt_num(s.min), fmt_num(s.max), s.n),
        None => "-".into(),
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn json_side(side: &Side) -> String {
    match side {
        Side::Samples(v) => {
            let samples: Vec<String> = v.iter().map(|x| json_num(*x)).collect();
            match summarize(v) {
                Some(s) => format!(
                    "{{\"median\":{},\"min\":{},\"max\":{},\"samples\":[{}]}}",
                    json_num(s.median),
                    json_num(s.min),
                    json_num(s.max),
                    samples.join(",")
                ),
                None => format!("{{\"median\":null,\"samples\":[{}]}}", samples.join(",")),
            }
        }
        Side::Failed(why) => format!("{{\"error\":{}}}", json_str(why)),
        Side::NotApplicable => "null".into(),
    }
}

impl Report {
    /// Adds a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// The table as printed on the terminal, followed by the notes and
    /// failure reasons it refers to.
    pub fn render(&self) -> String {
        let header = [
            "workload",
            "metric",
            "unit",
            "rcollectd",
            "collectd",
            "ratio rc/cd",
            "spread rc (min-max)",
            "spread cd (min-max)",
            "goal",
            "met",
        ];
        let mut lines: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
        let mut notes = Vec::new();
        for row in &self.rows {
            let r = ratio(row.rc.summary(), row.cd.summary());
            let (goal, met) = match &row.goal {
                Some(g) => (
                    g.describe(&row.unit),
                    match g.met(row.rc.summary(), r) {
                        Some(true) => "met".to_string(),
                        Some(false) => "NOT MET".to_string(),
                        None => "unknown".to_string(),
                    },
                ),
                None => ("-".into(), "-".into()),
            };
            let tag = format!("{}/{}", row.workload, row.metric);
            if !row.note.is_empty() {
                notes.push(format!("{tag}: {}", row.note));
            }
            for (who, side) in [("rcollectd", &row.rc), ("collectd", &row.cd)] {
                if let Side::Failed(why) = side {
                    // One line per workload and reason, not per metric.
                    let line = format!("{}: {who} FAILED: {why}", row.workload);
                    if !notes.contains(&line) {
                        notes.push(line);
                    }
                }
            }
            lines.push(vec![
                row.workload.clone(),
                row.metric.clone(),
                row.unit.clone(),
                fmt_side(&row.rc),
                fmt_side(&row.cd),
                r.map(|x| format!("{}x", fmt_num(x)))
                    .unwrap_or_else(|| "-".into()),
                fmt_spread(&row.rc),
                fmt_spread(&row.cd),
                goal,
                met,
            ]);
        }
        let cols = header.len();
        let widths: Vec<usize> = (0..cols)
            .map(|c| lines.iter().map(|l| l[c].len()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let cells: Vec<String> = l
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", cells.join(" | ").trim_end());
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                let _ = writeln!(out, "{}", rule.join("-|-"));
            }
        }
        if !notes.is_empty() {
            out.push_str("\nNotes:\n");
            for n in notes {
                let _ = writeln!(out, "  - {n}");
            }
        }
        out
    }

    /// The rows as a JSON document (all samples kept).
    pub fn to_json(&self, machine: &str) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"machine\": {},", json_str(machine));
        out.push_str("  \"rows\": [\n");
        for (i, row) in self.rows.iter().enumerate() {
            let r = ratio(row.rc.summary(), row.cd.summary());
            let (goal, met) = match &row.goal {
                Some(g) => (
                    json_str(&g.describe(&row.unit)),
                    match g.met(row.rc.summary(), r) {
                        Some(b) => b.to_string(),
                        None => "null".into(),
                    },
                ),
                None => ("null".into(), "null".into()),
            };
            let _ = write!(
                out,
                "    {{\"workload\":{},\"metric\":{},\"unit\":{},\"rcollectd\":{},\"collectd\":{},\"ratio\":{},\"goal\":{},\"met\":{},\"note\":{}}}",
                json_str(&row.workload),
                json_str(&row.metric),
                json_str(&row.unit),
                json_side(&row.rc),
                json_side(&row.cd),
                r.map(json_num).unwrap_or_else(|| "null".into()),
                goal,
                met,
                json_str(&row.note),
            );
            out.push_str(if i + 1 < self.rows.len() { ",\n" } else { "\n" });
        }
        out.push_str("  ]\n}\n");
        out
    }

    /// Whether any daemon failed to produce a figure.
    pub fn any_failed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.rc, Side::Failed(_)) || matches!(r.cd, Side::Failed(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_report() -> Report {
        let mut rep = Report::default();
        rep.push(Row {
            workload: "dispatch-wt1".into(),
            metric: "value_lists_per_s".into(),
            unit: "vl/s".into(),
            rc: Side::Samples(vec![3_000_000.0, 2_500_000.0, 3_500_000.0]),
            cd: Side::Samples(vec![500_000.0, 600_000.0, 400_000.0]),
            goal: Some(Goal::RatioAtLeast(5.0)),
            note: String::new(),
        });
        rep.push(Row {
            workload: "network-full".into(),
            metric: "peak_rss".into(),
            unit: "MiB".into(),
            rc: Side::Failed("rcollectd did not start".into()),
            cd: Side::Samples(vec![900.0, 1100.0, 1000.0]),
            goal: Some(Goal::AbsBelow(64.0)),
            note: "collectd capped at 30 s".into(),
        });
        rep
    }

    #[test]
    fn goals_are_judged_on_medians() {
        let rc = summarize(&[10.0, 20.0, 30.0]);
        assert_eq!(Goal::AbsBelow(25.0).met(rc, None), Some(true));
        assert_eq!(Goal::AbsBelow(20.0).met(rc, None), Some(false));
        assert_eq!(Goal::AbsAtMost(20.0).met(rc, None), Some(true));
        assert_eq!(Goal::RatioAtMost(0.5).met(None, Some(0.5)), Some(true));
        assert_eq!(Goal::RatioAtLeast(10.0).met(None, Some(9.9)), Some(false));
        assert_eq!(Goal::RatioAtLeast(10.0).met(None, None), None);
    }

    #[test]
    fn table_matches_golden() {
        let got = sample_report().render();
        let want = include_str!("../fixtures/report_golden.txt");
        if std::env::var_os("BENCH_BLESS").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/report_golden.txt"),
                &got,
            )
            .unwrap();
            return;
        }
        assert_eq!(
            got, want,
            "rerun with BENCH_BLESS=1 if the change is intended"
        );
    }

    #[test]
    fn json_matches_golden() {
        let got = sample_report().to_json("test machine \"x\"");
        let want = include_str!("../fixtures/report_golden.json");
        if std::env::var_os("BENCH_BLESS").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/report_golden.json"),
                &got,
            )
            .unwrap();
            return;
        }
        assert_eq!(
            got, want,
            "rerun with BENCH_BLESS=1 if the change is intended"
        );
    }

    #[test]
    fn failures_are_visible() {
        let rep = sample_report();
        assert!(rep.any_failed());
        let text = rep.render();
        assert!(text.contains("FAILED"));
        assert!(text.contains("network-full: rcollectd FAILED: rcollectd did not start"));
        assert!(text.contains("6.00x"), "{text}");
    }

    #[test]
    fn json_escapes_strings() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(json_num(f64::NAN), "null");
    }
}
