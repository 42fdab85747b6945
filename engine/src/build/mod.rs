//! Reducer builder (in progress).
