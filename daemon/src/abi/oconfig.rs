//! TODO(owner fills): oconfig exports.
