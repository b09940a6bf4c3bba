//! TODO(owner fills): heap exports.
