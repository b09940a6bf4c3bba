//! Counters behind `ReportStats`: collectd's own identifiers plus
//! rcollectd's additional drop counters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// All counters; updated lock-free from any thread.
#[derive(Debug, Default)]
pub struct Stats {
    /// Bytes received (UDP payload).
    pub octets_rx: AtomicU64,
    /// Bytes sent.
    pub octets_tx: AtomicU64,
    /// Datagrams received.
    pub packets_rx: AtomicU64,
    /// Datagrams sent.
    pub packets_tx: AtomicU64,
    /// Value lists dispatched to the daemon.
    pub values_dispatched: AtomicU64,
    /// Value lists received but not dispatched (loop protection, invalid).
    pub values_not_dispatched: AtomicU64,
    /// Value lists accepted for sending.
    pub values_sent: AtomicU64,
    /// Value lists refused for sending (received ones without Forward, errors).
    pub values_not_sent: AtomicU64,
    /// collectd's receive queue length; always 0 here, because each socket's
    /// thread dispatches what it reads (kept so dashboards find it).
    pub queue_length: AtomicU64,
    /// Datagrams the kernel dropped because the socket buffer was full (SO_RXQ_OVFL).
    pub kernel_drops: AtomicU64,
    /// Datagrams (or their rest) rejected by the decoder.
    pub decode_errors: AtomicU64,
    /// Value lists dropped for being below the Listen's SecurityLevel.
    pub insecure_dropped: AtomicU64,
    /// ABSOLUTE value lists not sent (`AbsoluteValues Drop`).
    pub absolute_dropped: AtomicU64,
    /// Value lists not sent to a `StoreRates` server because a rate was not
    /// known yet (NaN: the first value of a COUNTER/DERIVE series).
    pub rate_unknown: AtomicU64,
    /// Value lists not sent to a `StoreRates` server because the value cache
    /// returned no rates (`uc_get_rate` failed).
    pub rate_unavailable: AtomicU64,
}

/// One reported value: (type, type_instance, values, is_gauge).
pub type Report = (&'static str, &'static str, [u64; 2], usize, bool);

impl Stats {
    /// Adds `n` to a counter.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }

    /// Snapshot in the order and with the identifiers they are dispatched
    /// under (plugin `network`): `(type, type_instance, values, count, gauge)`.
    pub fn report(&self) -> Vec<Report> {
        let g = |c: &AtomicU64| c.load(Relaxed);
        // One DERIVE value: the total_values counters and the drop counters.
        let one = |type_, type_instance, c: &AtomicU64| (type_, type_instance, [g(c), 0], 1, false);
        let total = |type_instance, c| one("total_values", type_instance, c);
        vec![
            (
                "if_octets",
                "",
                [g(&self.octets_rx), g(&self.octets_tx)],
                2,
                false,
            ),
            (
                "if_packets",
                "",
                [g(&self.packets_rx), g(&self.packets_tx)],
                2,
                false,
            ),
            total("dispatch-accepted", &self.values_dispatched),
            total("dispatch-rejected", &self.values_not_dispatched),
            total("send-accepted", &self.values_sent),
            total("send-rejected", &self.values_not_sent),
            ("queue_length", "", [g(&self.queue_length), 0], 1, true),
            one("if_rx_dropped", "kernel", &self.kernel_drops),
            one("if_rx_errors", "decode", &self.decode_errors),
            total("receive-insecure", &self.insecure_dropped),
            total("send-absolute-dropped", &self.absolute_dropped),
            total("send-rate-unknown", &self.rate_unknown),
            total("send-rate-unavailable", &self.rate_unavailable),
        ]
    }
}
