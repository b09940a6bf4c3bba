//! TODO(owner fills): llist exports.
