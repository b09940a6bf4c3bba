//! The pure part of remote_write: value lists as remote-write time series,
//! batches of them as protobuf `WriteRequest`s, snappy-compressed.
//!
//! A batch is kept encoded: a `WriteRequest` is nothing but its
//! `timeseries` fields one after another, so each series is encoded once
//! (whatever the number of nodes) and appended to every node's batch.

use std::time::{Duration, Instant};

use crate::proto::{Label, Sample, TimeSeries};

/// The label carrying the metric name.
pub const NAME_LABEL: &str = "__name__";

/// `name` with every character Prometheus does not allow in a metric
/// (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or label name (`[a-zA-Z_][a-zA-Z0-9_]*`)
/// replaced by `_`: receivers such as Mimir refuse a whole request for one
/// invalid name. Valid names are returned unchanged.
pub fn sanitize(name: &str, metric: bool) -> String {
    name.char_indices()
        .map(|(i, c)| {
            let ok = c.is_ascii_alphabetic()
                || c == '_'
                || (metric && c == ':')
                || (i > 0 && c.is_ascii_digit());
            if ok {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The time series of one value list: `labels` (collectd's, see
/// `rcollectd_plugin_common::prometheus::labels`) shared by every data
/// source, and one `(metric name, value)` per data source, all at
/// `timestamp_ms`. Label names are sanitized and sorted as the protocol
/// requires; empty values are left out (Prometheus treats them as absent)
/// and of two labels with the same name only the first is kept.
pub fn time_series<'a>(
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    samples: impl IntoIterator<Item = (String, f64)>,
    timestamp_ms: i64,
) -> Vec<TimeSeries> {
    let mut common: Vec<Label> = labels
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| Label {
            name: sanitize(n, false),
            value: v.to_owned(),
        })
        .collect();
    common.push(Label {
        name: NAME_LABEL.to_owned(),
        value: String::new(),
    });
    // Stable: of duplicate names the first given stays, and `__name__`,
    // pushed last, loses to no one (a sanitized name cannot start with two
    // underscores unless the plugin's name did).
    common.sort_by(|a, b| a.name.cmp(&b.name));
    common.dedup_by(|later, earlier| later.name == earlier.name);
    let name_at = common
        .iter()
        .position(|l| l.name == NAME_LABEL)
        .unwrap_or_default();
    samples
        .into_iter()
        .map(|(name, value)| {
            let mut labels = common.clone();
            labels[name_at].value = sanitize(&name, true);
            TimeSeries {
                labels,
                samples: vec![Sample {
                    value,
                    timestamp: timestamp_ms,
                }],
            }
        })
        .collect()
}

/// One series as a `WriteRequest.timeseries` field (tag, length, body):
/// batches are concatenations of these.
pub fn entry(series: &TimeSeries) -> Vec<u8> {
    let mut out = Vec::with_capacity(prost::Message::encoded_len(series) + 4);
    prost::encoding::message::encode(1, series, &mut out);
    out
}

/// Compresses a request body in snappy's block format (not the framed
/// one), as remote write requires.
pub fn compress(raw: &[u8]) -> Vec<u8> {
    // Fails only for inputs beyond 4 GiB, which a bounded batch never is.
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .unwrap_or_default()
}

/// The series waiting to fill a batch of `size` samples.
#[derive(Debug)]
pub struct Batcher {
    raw: Vec<u8>,
    samples: usize,
    since: Option<Instant>,
    size: usize,
}

impl Batcher {
    /// An empty batch that is full at `size` samples (at least one).
    pub fn new(size: usize) -> Batcher {
        Batcher {
            raw: Vec::new(),
            samples: 0,
            since: None,
            size: size.max(1),
        }
    }

    /// Samples waiting.
    pub fn len(&self) -> usize {
        self.samples
    }

    /// True when no sample waits.
    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// How long the oldest waiting sample has waited (`None`: empty).
    pub fn age(&self, now: Instant) -> Option<Duration> {
        self.since.map(|s| now.saturating_duration_since(s))
    }

    /// Adds one [`entry`]; returns the compressed request body and its
    /// sample count when this fills the batch.
    pub fn push(&mut self, entry: &[u8], now: Instant) -> Option<(Vec<u8>, usize)> {
        if self.samples == 0 {
            self.since = Some(now);
        }
        self.raw.extend_from_slice(entry);
        self.samples += 1;
        if self.samples >= self.size {
            self.take()
        } else {
            None
        }
    }

    /// Takes what waits as a compressed request body and its sample count
    /// (`None` when empty).
    pub fn take(&mut self) -> Option<(Vec<u8>, usize)> {
        if self.samples == 0 {
            return None;
        }
        let body = compress(&self.raw);
        let samples = std::mem::take(&mut self.samples);
        self.since = None;
        // The buffer (one batch at most) is kept for the next batch.
        self.raw.clear();
        Some((body, samples))
    }
}

#[cfg(test)]
mod tests;
