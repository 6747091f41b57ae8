//! Split-view proof tests.
