//! TODO(owner fills).
