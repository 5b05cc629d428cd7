//! The funnel: fetch a throttled remote resource over many parallel range connections and
//! serve it to a local player (or write it to a file) while the player seeks freely.

pub mod cli;
