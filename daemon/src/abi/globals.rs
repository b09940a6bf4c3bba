//! TODO(owner fills): globals exports.
