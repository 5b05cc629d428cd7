//! Microphones by friendly name (the API lands in the next commits).
