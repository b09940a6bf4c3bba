//! collectd's latency counter (`src/utils/latency/latency.c`), the
//! histogram behind tail's `Distribution` (and statsd's timers): 1000 bins
//! whose width doubles to hold the largest value and halves again at a
//! reset when the values got small; percentiles interpolated within a bin,
//! bucket rates per second since the last reset.

use crate::cmds::double_to_cdtime;

/// `CDTIME_T_TO_DOUBLE`.
fn cdtime_to_double(t: u64) -> f64 {
    t as f64 / 1_073_741_824.0
}

/// Bins of a [`LatencyCounter`] (`HISTOGRAM_NUM_BINS`).
const BINS: usize = 1000;
/// The first bin width: 2^20 cdtime_t, about 1 ms.
const DEFAULT_BIN_WIDTH: u64 = 1 << 20;

/// collectd's latency counter (`utils/latency/latency.c`): a histogram of
/// 1000 bins whose width doubles to hold the largest value and halves
/// again at a reset when the values got small.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyCounter {
    start_time: u64,
    sum: u64,
    num: u64,
    min: u64,
    max: u64,
    bin_width: u64,
    histogram: Vec<i32>,
}

impl LatencyCounter {
    /// An empty counter started at `now`.
    pub fn new(now: u64) -> Self {
        let mut lc = LatencyCounter {
            start_time: 0,
            sum: 0,
            num: 0,
            min: 0,
            max: 0,
            bin_width: DEFAULT_BIN_WIDTH,
            histogram: vec![0; BINS],
        };
        lc.reset(now);
        lc
    }

    /// Adds one latency (`cdtime_t`; 0 and values above `i64::MAX` are
    /// ignored).
    pub fn add(&mut self, latency: u64) {
        if latency == 0 || latency > i64::MAX as u64 {
            return;
        }
        self.sum = self.sum.wrapping_add(latency);
        self.num += 1;
        if self.min == 0 && self.max == 0 {
            self.min = latency;
            self.max = latency;
        }
        self.min = self.min.min(latency);
        self.max = self.max.max(latency);
        let mut bin = (latency - 1) / self.bin_width;
        if bin >= BINS as u64 {
            self.change_bin_width(latency);
            bin = (latency - 1) / self.bin_width;
            if bin >= BINS as u64 {
                return;
            }
        }
        self.histogram[bin as usize] = self.histogram[bin as usize].wrapping_add(1);
    }

    /// Widens the bins (to the next power of two) so `latency` fits.
    fn change_bin_width(&mut self, latency: u64) {
        let required = (latency + 1) as f64 / BINS as f64;
        let new_width = (2f64.powf((required.ln() / 2f64.ln()).ceil()) + 0.5) as u64;
        let old_width = self.bin_width;
        self.bin_width = new_width.max(1);
        if self.num > 0 {
            let ratio = old_width as f64 / self.bin_width as f64;
            for i in 0..BINS {
                let new_bin = (i as f64 * ratio) as usize;
                if new_bin == i || new_bin >= BINS {
                    continue;
                }
                self.histogram[new_bin] = self.histogram[new_bin].wrapping_add(self.histogram[i]);
                self.histogram[i] = 0;
            }
        }
    }

    /// Empties the counter (halving the bin width when the largest value
    /// used less than a quarter of the bins) and restarts it at `now`.
    pub fn reset(&mut self, now: u64) {
        let mut width = self.bin_width;
        let max_bin = self.max.wrapping_sub(1) / self.bin_width;
        if self.num > 0 && width >= DEFAULT_BIN_WIDTH * 2 && max_bin < (BINS / 4) as u64 {
            width /= 2;
        }
        self.sum = 0;
        self.num = 0;
        self.min = 0;
        self.max = 0;
        self.histogram.iter_mut().for_each(|b| *b = 0);
        self.bin_width = width;
        self.start_time = now;
    }

    /// The `percent` percentile, interpolated within its bin (`cdtime_t`;
    /// 0 when empty).
    pub fn percentile(&self, percent: f64) -> u64 {
        if self.num == 0 || !(percent > 0.0 && percent < 100.0) {
            return 0;
        }
        let (mut upper, mut lower, mut sum) = (0.0f64, 0.0f64, 0i64);
        let mut i = 0;
        while i < BINS {
            lower = upper;
            sum += i64::from(self.histogram[i]);
            upper = if sum == 0 {
                0.0
            } else {
                100.0 * sum as f64 / self.num as f64
            };
            if upper >= percent {
                break;
            }
            i += 1;
        }
        if i >= BINS {
            return 0;
        }
        if i == 0 {
            return self.bin_width;
        }
        let latency_lower = i as u64 * self.bin_width;
        let p = (percent - lower) / (upper - lower);
        latency_lower.wrapping_add(double_to_cdtime(p * cdtime_to_double(self.bin_width)))
    }

    /// The current bin width (`cdtime_t`).
    pub fn bin_width(&self) -> u64 {
        self.bin_width
    }

    /// How many values were added since the last reset.
    pub fn count(&self) -> u64 {
        self.num
    }

    /// The sum of the values since the last reset (`cdtime_t`, wrapping).
    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// The smallest value since the last reset (`cdtime_t`; 0 when empty).
    pub fn min(&self) -> u64 {
        self.min
    }

    /// The largest value since the last reset (`cdtime_t`; 0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The mean of the values since the last reset (`cdtime_t`, as
    /// collectd's `latency_counter_get_average`; 0 when empty).
    pub fn average(&self) -> u64 {
        if self.num == 0 {
            return 0;
        }
        double_to_cdtime(cdtime_to_double(self.sum) / self.num as f64)
    }

    /// Values per second in the bucket (`lower`, `upper`] (`upper` 0: no
    /// bound) since the last reset; NaN when empty.
    pub fn rate(&self, lower: u64, upper: u64, now: u64) -> f64 {
        if self.num == 0 || (upper != 0 && upper < lower) {
            return f64::NAN;
        }
        if lower == upper {
            return 0.0;
        }
        let lower_bin = lower / self.bin_width;
        if lower_bin >= BINS as u64 {
            return 0.0;
        }
        let mut upper = upper;
        let mut upper_bin = if upper != 0 {
            (upper - 1) / self.bin_width
        } else {
            BINS as u64 - 1
        };
        if upper_bin >= BINS as u64 {
            upper_bin = BINS as u64 - 1;
            upper = 0;
        }
        let mut sum: f64 = (lower_bin..=upper_bin)
            .map(|i| f64::from(self.histogram[i as usize]))
            .sum();
        if lower != 0 {
            let boundary = lower_bin * self.bin_width;
            let ratio = (lower - boundary) as f64 / self.bin_width as f64;
            sum -= ratio * f64::from(self.histogram[lower_bin as usize]);
        }
        if upper != 0 {
            let boundary = (upper_bin + 1) * self.bin_width;
            let ratio = boundary.saturating_sub(upper) as f64 / self.bin_width as f64;
            sum -= ratio * f64::from(self.histogram[upper_bin as usize]);
        }
        sum / cdtime_to_double(now.wrapping_sub(self.start_time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_counter_percentiles_and_rates() {
        const S: u64 = 1 << 30;
        let ms = |m: u64| m * S / 1000;
        let mut lc = LatencyCounter::new(0);
        // (percent, expected cdtime) on 1..=100 ms, one value each.
        for m in 1..=100 {
            lc.add(ms(m));
        }
        for (p, want_ms) in [(50.0, 50.0), (90.0, 90.0), (99.0, 99.0), (1.0, 1.0)] {
            let got = lc.percentile(p) as f64 / S as f64 * 1000.0;
            assert!((got - want_ms).abs() < 1.1, "{p}: {got}");
        }
        // Per second over 2 s: 100 values, 10 of them in (0, 10 ms].
        let r = lc.rate(0, ms(10), 2 * S);
        assert!((r - 5.0).abs() < 0.6, "{r}");
        assert_eq!(lc.rate(0, 0, 2 * S), 0.0, "collectd's Bucket 0 0 quirk");
        assert!((lc.rate(0, 0, S) - 0.0).abs() < f64::EPSILON);
        assert!((lc.rate(ms(50), 0, S) - 50.0).abs() < 1.1);
        // A value past the bins widens them; a reset with small values halves.
        lc.add(5 * S);
        assert_eq!(lc.bin_width(), 1 << 23);
        lc.reset(S);
        lc.add(ms(1));
        lc.reset(2 * S);
        assert_eq!(lc.bin_width(), 1 << 22);
        assert!(lc.rate(0, 0, 3 * S).is_nan() && lc.percentile(50.0) == 0);
        // Zero and "negative" latencies are not counted.
        lc.add(0);
        lc.add(u64::MAX);
        assert_eq!(lc.percentile(50.0), 0);
    }

    #[test]
    fn latency_counter_sum_count_extremes_and_average() {
        let mut lc = LatencyCounter::new(0);
        assert_eq!((lc.count(), lc.sum(), lc.min(), lc.max()), (0, 0, 0, 0));
        assert_eq!(lc.average(), 0);
        for v in [30, 10, 0, 20, 5] {
            lc.add(v);
        }
        assert_eq!((lc.count(), lc.sum(), lc.min(), lc.max()), (4, 65, 5, 30));
        // 65 / 4 = 16.25 cdtime, cut as collectd's cast cuts it.
        assert_eq!(lc.average(), 16);
        lc.reset(1);
        assert_eq!((lc.count(), lc.sum(), lc.min(), lc.max()), (0, 0, 0, 0));
    }
}
