//! The one error type of the crate: every parser returns it instead of panicking.

/// What went wrong, with enough context to find the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmafError {
    /// The bytes hold no Annex B start code (`00 00 01`), so they are not an access unit.
    #[error("no Annex B start code in {len} bytes")]
    NoStartCode {
        /// Length of the input.
        len: usize,
    },
    /// A NAL unit is too short or has the wrong type for what was asked of it.
    #[error("bad NAL unit: {0}")]
    BadNal(&'static str),
    /// A bitstream (an SPS) ended before the field being read.
    #[error("bitstream ended while reading {field}")]
    Truncated {
        /// The syntax element being read.
        field: &'static str,
    },
    /// A field holds a value the spec forbids or this crate does not support.
    #[error("unsupported or invalid {field} = {value}")]
    Unsupported {
        /// The syntax element.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// An access unit lacks a parameter set the init segment needs.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A fragment was asked for with no samples.
    #[error("a fragment needs at least one sample")]
    EmptyFragment,
    /// Sizes or counts do not fit the 32-bit fields of the boxes.
    #[error("{what} of {value} does not fit its box field")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A box is malformed: its size runs past its parent, or a field is missing.
    #[error("bad `{fourcc}` box at offset {offset}: {reason}")]
    BadBox {
        /// The box type, as text.
        fourcc: String,
        /// Offset of the box within the buffer given to the reader.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
}
