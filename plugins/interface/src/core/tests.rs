//! interface against this machine's recorded `/proc/net/dev` and a hand-made
//! file with an inactive interface, a saturating counter, a longer line, a
//! short line, an empty name and an 11-field line.

use super::*;

fn lines(out: &[Metric]) -> Vec<String> {
    out.iter().map(|m| m.to_string()).collect()
}

#[test]
fn recorded_machine() {
    let out = read(
        &Config::default(),
        include_str!("../../tests/fixtures/net_dev"),
    );
    let got = lines(&out);
    assert_eq!(got.len(), 16, "4 interfaces x 4 types: {got:#?}");
    assert_eq!(
        &got[..4],
        [
            "lo/if_packets = 29:29",
            "lo/if_octets = 3193:3193",
            "lo/if_errors = 0:0",
            "lo/if_dropped = 0:0",
        ]
    );
    assert_eq!(
        &got[12..],
        [
            "eth0/if_packets = 6433:3174",
            "eth0/if_octets = 189134170:262623",
            "eth0/if_errors = 0:0",
            "eth0/if_dropped = 0:0",
        ]
    );
    let devs: Vec<&str> = out
        .iter()
        .step_by(4)
        .map(|m| m.plugin_instance.as_str())
        .collect();
    assert_eq!(devs, ["lo", "ifb0", "ifb1", "eth0"]);
}

#[test]
fn edge_cases() {
    let out = read(
        &Config::default(),
        include_str!("../../tests/fixtures/net_dev_edge"),
    );
    assert_eq!(
        lines(&out),
        [
            "lo/if_packets = 29:29",
            "lo/if_octets = 3193:3193",
            "lo/if_errors = 0:0",
            "lo/if_dropped = 0:0",
            "idle/if_packets = 0:0",
            "idle/if_octets = 0:0",
            "idle/if_errors = 0:0",
            "idle/if_dropped = 0:0",
            // Out-of-range counters saturate like strtoll; extra fields are ignored.
            "eth1/if_packets = 5:6",
            "eth1/if_octets = 9223372036854775807:9",
            "eth1/if_errors = 1:3",
            "eth1/if_dropped = 2:4",
            // Only 11 fields: tx dropped is missing and reads as 0.
            "veth-x@if3/if_packets = 20:60",
            "veth-x@if3/if_octets = 10:50",
            "veth-x@if3/if_errors = 30:70",
            "veth-x@if3/if_dropped = 40:0",
        ]
    );
}

#[test]
fn options() {
    let text = include_str!("../../tests/fixtures/net_dev_edge");
    let mut cfg = Config::default();
    cfg.set("ReportInactive", "false").unwrap();
    cfg.set("UniqueName", "true").unwrap();
    let devs = |out: Vec<Metric>| -> Vec<String> {
        out.iter()
            .step_by(4)
            .map(|m| m.plugin_instance.clone())
            .collect()
    };
    assert_eq!(devs(read(&cfg, text)), ["lo", "eth1", "veth-x@if3"]);
    cfg.set("Interface", "lo").unwrap();
    cfg.set("Interface", "/^veth/").unwrap();
    assert_eq!(devs(read(&cfg, text)), ["lo", "veth-x@if3"]);
    cfg.set("IgnoreSelected", "yes").unwrap();
    assert_eq!(devs(read(&cfg, text)), ["eth1"]);
    assert!(cfg.set("Bogus", "1").is_err());
    assert!(cfg.set("Interface", "/(/").is_err());
}
