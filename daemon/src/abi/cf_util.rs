//! TODO(owner fills): cf_util exports.
