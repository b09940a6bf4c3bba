//! What collectd's `plugin_dispatch_values` checks and fills in when a
//! plugin hands over a value list, before the value cache sees it: a type,
//! at least one value, a known data set with as many sources; the time
//! (now) and interval (the plugin's, else the global one) when unset; and
//! whether the value list can go on exactly as it was handed over.
//!
//! [`Offered`] is a borrowed view of the value list; the daemon builds it
//! from a `value_list_t` without copying anything.

use crate::cache::{format_name, Fields};
use crate::time::cdtime_t;

/// A value list as a plugin handed it over.
#[derive(Debug, Clone, Copy)]
pub struct Offered<'a> {
    /// Host, plugin, plugin instance, type, type instance.
    pub fields: Fields<'a>,
    /// Its time; 0 when the plugin left it unset.
    pub time: cdtime_t,
    /// Its interval; 0 when the plugin left it unset.
    pub interval: cdtime_t,
    /// How many values it carries (0 also when it has no values at all).
    pub values: usize,
}

/// Why a value list is refused (and counted as invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No type, or no values.
    Invalid,
    /// Its type is unknown because no data set is known at all.
    NoDataSets,
    /// Its type is unknown.
    UnknownType,
    /// Its data set has `sources` data sources, a different number than it
    /// has values.
    ValueCount {
        /// The data set's number of sources.
        sources: usize,
    },
}

impl<'a> Offered<'a> {
    /// The type field.
    pub fn type_name(&self) -> &'a [u8] {
        self.fields[3]
    }

    /// collectd's checks, in its order: a type and values, a data set for
    /// the type (found by `lookup`; `any_known` tells whether any data set
    /// is known at all, for the message), as many values as it has sources
    /// (`sources`). Gives the data set back.
    pub fn check<D>(
        &self,
        lookup: impl FnOnce(&[u8]) -> Option<D>,
        sources: impl FnOnce(&D) -> usize,
        any_known: impl FnOnce() -> bool,
    ) -> Result<D, Refused> {
        if self.type_name().is_empty() || self.values == 0 {
            return Err(Refused::Invalid);
        }
        let Some(ds) = lookup(self.type_name()) else {
            return Err(if any_known() {
                Refused::UnknownType
            } else {
                Refused::NoDataSets
            });
        };
        match sources(&ds) {
            n if n == self.values => Ok(ds),
            n => Err(Refused::ValueCount { sources: n }),
        }
    }

    /// The time to record: the plugin's, else `now`.
    pub fn time_or(&self, now: cdtime_t) -> cdtime_t {
        if self.time == 0 {
            now
        } else {
            self.time
        }
    }

    /// The interval to record: the value list's, else the interval of the
    /// plugin that dispatched it (`plugin`, 0 when none), else `global`
    /// (collectd's `plugin_get_interval`).
    pub fn interval_or(&self, plugin: cdtime_t, global: cdtime_t) -> cdtime_t {
        match (self.interval, plugin) {
            (0, 0) => global,
            (0, p) => p,
            (i, _) => i,
        }
    }

    /// Whether the value list goes on as it was handed over: it has a host
    /// (else the global one is filled in), no field holds a `/` (else it
    /// is escaped), and nothing may change or observe it before the cache
    /// (`watched`: a `PreCacheChain`, a cache-event callback).
    pub fn as_sent(&self, watched: bool) -> bool {
        !watched && !self.fields[0].is_empty() && !self.fields.iter().any(|f| f.contains(&b'/'))
    }
}

impl Refused {
    /// collectd's log line for the refusal of `vl`, and whether it is an
    /// error (else info, as collectd logs an unknown type).
    pub fn message(&self, vl: &Offered<'_>) -> (bool, String) {
        let ident = || String::from_utf8_lossy(&format_name(vl.fields)).into_owned();
        let type_name = String::from_utf8_lossy(vl.type_name());
        match *self {
            Refused::Invalid => (
                true,
                format!(
                    "plugin_dispatch_values: Invalid value list from plugin {}.",
                    String::from_utf8_lossy(vl.fields[1])
                ),
            ),
            Refused::NoDataSets => (
                true,
                "plugin_dispatch_values: No data sets registered. Could the types database be \
                 read? Check your `TypesDB' setting!"
                    .to_owned(),
            ),
            Refused::UnknownType => (
                false,
                format!(
                    "plugin_dispatch_values: Dataset not found: {type_name} (from \"{}\"), check your types.db!",
                    ident()
                ),
            ),
            Refused::ValueCount { sources } => (
                true,
                format!(
                    "plugin_dispatch_values: <{}> ds->type = {type_name}: (ds->ds_num = {sources}) != (vl->values_len = {})",
                    ident(),
                    vl.values
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered<'a>(fields: Fields<'a>, values: usize) -> Offered<'a> {
        Offered {
            fields,
            time: 0,
            interval: 0,
            values,
        }
    }

    const CPU: Fields<'static> = [b"h", b"cpu", b"0", b"cpu", b"idle"];

    /// Known types with their numbers of sources.
    type Known<'a> = &'a [(&'a [u8], usize)];

    #[test]
    fn checks_run_in_collectds_order() {
        // (fields, values, known types, result)
        let cases: &[(Fields<'_>, usize, Known<'_>, Result<usize, Refused>)] = &[
            (CPU, 1, &[(b"cpu", 1)], Ok(1)),
            (
                [b"h", b"cpu", b"", b"", b""],
                1,
                &[(b"cpu", 1)],
                Err(Refused::Invalid),
            ),
            (CPU, 0, &[(b"cpu", 1)], Err(Refused::Invalid)),
            (CPU, 0, &[], Err(Refused::Invalid)),
            (CPU, 1, &[], Err(Refused::NoDataSets)),
            (CPU, 1, &[(b"load", 3)], Err(Refused::UnknownType)),
            (
                CPU,
                2,
                &[(b"cpu", 1)],
                Err(Refused::ValueCount { sources: 1 }),
            ),
        ];
        for (fields, values, known, want) in cases {
            let got = offered(*fields, *values).check(
                |t| known.iter().find(|(n, _)| *n == t).map(|(_, s)| *s),
                |s| *s,
                || !known.is_empty(),
            );
            assert_eq!(got, *want, "{fields:?} with {values} values");
        }
    }

    #[test]
    fn unset_time_and_interval_are_filled_in() {
        let mut o = offered(CPU, 1);
        assert_eq!(o.time_or(77), 77);
        // (value list's, plugin's, global) -> recorded
        for (own, plugin, global, want) in
            [(0, 0, 10, 10), (0, 5, 10, 5), (3, 5, 10, 3), (3, 0, 10, 3)]
        {
            o.interval = own;
            assert_eq!(
                o.interval_or(plugin, global),
                want,
                "{own} {plugin} {global}"
            );
        }
        o.time = 9;
        assert_eq!(o.time_or(77), 9);
    }

    #[test]
    fn only_a_complete_unwatched_value_list_goes_on_as_sent() {
        for (fields, watched, want) in [
            (CPU, false, true),
            (CPU, true, false),
            ([b"" as &[u8], b"cpu", b"0", b"cpu", b"idle"], false, false),
            ([b"h", b"cpu", b"a/b", b"cpu", b"idle"], false, false),
            ([b"h/x", b"cpu", b"", b"cpu", b""], false, false),
        ] {
            assert_eq!(
                offered(fields, 1).as_sent(watched),
                want,
                "{fields:?} {watched}"
            );
        }
    }

    #[test]
    fn refusals_are_logged_with_collectds_lines() {
        let o = offered(CPU, 2);
        assert_eq!(
            Refused::ValueCount { sources: 1 }.message(&o),
            (
                true,
                "plugin_dispatch_values: <h/cpu-0/cpu-idle> ds->type = cpu: (ds->ds_num = 1) != (vl->values_len = 2)"
                    .to_owned()
            )
        );
        assert_eq!(
            Refused::UnknownType.message(&o),
            (
                false,
                "plugin_dispatch_values: Dataset not found: cpu (from \"h/cpu-0/cpu-idle\"), check your types.db!"
                    .to_owned()
            )
        );
        assert_eq!(
            Refused::Invalid.message(&o).1,
            "plugin_dispatch_values: Invalid value list from plugin cpu."
        );
        assert!(Refused::NoDataSets
            .message(&o)
            .1
            .contains("Check your `TypesDB' setting!"));
    }
}
