//! The plugin runtime: loading shared objects, the registries of callbacks
//! they register, the thread-local plugin context and logging fan-out.

pub mod builtin;
pub mod ctx;
pub mod loader;
pub mod log;
pub mod register;
pub mod registry;
