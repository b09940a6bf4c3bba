//! rcollectd's engine rules, knowing nothing of the collectd C ABI.
//!
//! Everything here is safe Rust: the few system calls the rules need (the
//! clock, the calendar) sit in [`sys`], the one module allowed `unsafe`. The
//! daemon crate is the collectd ABI facade on top: it converts these types
//! to and from their C layouts and makes every call through a plugin's
//! function pointer.

#![deny(unsafe_code)]

pub mod config;
pub mod counter;
pub mod ident;
pub mod meta;
pub mod sys;
#[doc(hidden)]
pub mod testgen;
pub mod time;
pub mod types_db;
pub mod work_queue;
