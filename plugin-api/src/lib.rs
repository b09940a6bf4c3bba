//! Write collectd 5 plugins in Rust.
//!
//! A plugin built with this crate is a `cdylib` that speaks the collectd 5
//! plugin C ABI, so the same `.so` loads in rcollectd and in collectd 5.12.

pub mod sys;
