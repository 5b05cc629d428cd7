//! The crate's one error type.

/// What can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HlsError {
    /// A playlist line this parser does not accept.
    #[error("playlist line {line:?}: {why}")]
    Syntax {
        /// The offending line (cut to 120 characters).
        line: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A playlist or configuration that breaks a rule of RFC 8216bis.
    #[error("{0}")]
    Invalid(String),
}

impl HlsError {
    pub(crate) fn syntax(line: &str, why: &'static str) -> HlsError {
        HlsError::Syntax {
            line: line.chars().take(120).collect(),
            why,
        }
    }
}
