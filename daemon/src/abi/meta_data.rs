//! TODO(owner fills): meta_data exports.
