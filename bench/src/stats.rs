//! Median and spread of repeated measurements: shared machines are noisy,
//! so every figure the benchmarks print is the median of several rounds with
//! its min–max beside it.

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median (mean of the two middle samples for an even count).
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub n: usize,
}

/// Summarises the finite samples; `None` if there are none.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    })
}

/// Ratio a/b of two medians; `None` when b is zero or either is missing.
pub fn ratio(a: Option<Summary>, b: Option<Summary>) -> Option<f64> {
    let (a, b) = (a?, b?);
    if b.median == 0.0 {
        return None;
    }
    Some(a.median / b.median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_count_median_and_spread() {
        let s = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.0);
        assert_eq!((s.min, s.max, s.n), (1.0, 3.0, 3));
    }

    #[test]
    fn even_count_median_is_mean_of_middle() {
        let s = summarize(&[4.0, 1.0, 3.0, 10.0]).unwrap();
        assert_eq!(s.median, 3.5);
        assert_eq!((s.min, s.max), (1.0, 10.0));
    }

    #[test]
    fn non_finite_samples_are_ignored() {
        let s = summarize(&[f64::NAN, 5.0, f64::INFINITY]).unwrap();
        assert_eq!((s.median, s.n), (5.0, 1));
        assert!(summarize(&[]).is_none());
        assert!(summarize(&[f64::NAN]).is_none());
    }

    #[test]
    fn ratio_of_medians() {
        let a = summarize(&[1.0, 2.0, 3.0]);
        let b = summarize(&[4.0, 4.0, 4.0]);
        assert_eq!(ratio(a, b), Some(0.5));
        assert_eq!(ratio(a, summarize(&[0.0])), None);
        assert_eq!(ratio(None, b), None);
    }
}
