//! TODO(owner fills): plugin exports.
