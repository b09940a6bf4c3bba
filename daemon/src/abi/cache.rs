//! TODO(owner fills): cache exports.
