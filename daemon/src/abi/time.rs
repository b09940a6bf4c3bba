//! TODO(owner fills): time exports.
