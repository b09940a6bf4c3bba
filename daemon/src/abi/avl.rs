//! TODO(owner fills): avl exports.
