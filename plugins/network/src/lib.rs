//! The collectd `network` plugin for rcollectd: sends and receives value
//! lists and notifications in collectd's binary protocol (UDP 25826), with
//! optional HMAC-SHA-256 signing and AES-256-OFB encryption.

pub mod auth;
pub mod codec;
pub mod config;
pub mod plugin;
pub mod receiver;
pub mod sender;
pub mod sock;
pub mod stats;
