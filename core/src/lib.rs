//! rcollectd's engine rules, knowing nothing of the collectd C ABI.
//!
//! Everything here is safe Rust, as the lints in the crate's Cargo.toml
//! enforce: the few libc calls the rules need (the clock, the calendar,
//! printf's number formats) sit in [`sys`], the one module that may. The
//! daemon crate is the collectd ABI facade on top: it converts these types
//! to and from their C layouts and makes every call through a plugin's
//! function pointer.

pub mod cache;
pub mod config;
pub mod counter;
pub mod dispatch;
pub mod filter;
pub mod ident;
pub mod meta;
pub mod outputs;
pub mod registry;
pub mod schedule;
pub mod sync;
pub mod sys;
#[doc(hidden)]
pub mod testgen;
pub mod time;
pub mod types_db;
pub mod work_queue;
