//! Noise suppression (placeholder until the next commit).
