//! TODO(owner fills): common exports.
