//! The crate's errors: why an offer is refused, why a session cannot be made.

/// Why an SDP offer (the body of a WHEP `POST`) is refused. Each maps to an HTTP status
/// ([`OfferError::status`]) and its `Display` is the reason sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// No body at all.
    #[error("the request has no SDP offer in its body")]
    Empty,
    /// Larger than any real offer ([`crate::sdp::MAX_OFFER_BYTES`]).
    #[error("the SDP offer is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Bytes received (at least `max + 1`).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not UTF-8 text, or control characters other than CR, LF and tab (RFC 8866 §9: SDP is
    /// text).
    #[error("the SDP offer is not text (byte {at} is {byte:#04x})")]
    NotText {
        /// Offset of the first offending byte.
        at: usize,
        /// That byte.
        byte: u8,
    },
    /// Does not begin with `v=0` (RFC 8866 §5.1).
    #[error("the body is not an SDP session description (it must begin with v=0)")]
    NotSdp,
    /// Too many lines or media sections for a viewer's offer.
    #[error("the SDP offer has {what}; at most {max} are accepted")]
    TooMany {
        /// What was counted (`"1234 lines"`).
        what: String,
        /// The limit.
        max: usize,
    },
    /// No audio or video `m=` section (a data channel alone is nothing to play).
    #[error("the SDP offer has no audio or video media section")]
    NoMedia,
    /// Audio/video sections, but no H.264 video and no Opus audio among their codecs.
    #[error("the SDP offer has neither H.264 video nor Opus audio (offered: {offered})")]
    NoSupportedCodec {
        /// The codec names offered, comma-separated, for the message.
        offered: String,
    },
    /// The supported sections are all `sendonly` or `inactive`: the peer will not receive.
    #[error("the SDP offer does not receive (its H.264/Opus sections are sendonly or inactive)")]
    NotReceiving,
    /// A WHIP offer with no H.264 video section (VP8 only, audio only): publishing needs
    /// H.264, which every output relays as it is.
    #[error(
        "publishing needs an H.264 video track (offered: {offered}); in a browser, prefer H.264 with setCodecPreferences"
    )]
    NoH264Video {
        /// The codec names offered, comma-separated, for the message.
        offered: String,
    },
    /// A WHIP offer whose H.264 section is `recvonly` or `inactive`: the peer will not send.
    #[error("the SDP offer does not send video (its H.264 section is recvonly or inactive)")]
    NotSending,
    /// str0m's parser or negotiation refused it.
    #[error("the SDP offer is malformed: {0}")]
    Malformed(String),
}

impl OfferError {
    /// The HTTP status for this refusal: 413 for size, 400 for what is not SDP, 422 for an
    /// SDP that parses but asks for nothing this server sends.
    pub fn status(&self) -> u16 {
        match self {
            OfferError::TooLarge { .. } => 413,
            OfferError::NoMedia
            | OfferError::NoSupportedCodec { .. }
            | OfferError::NotReceiving
            | OfferError::NoH264Video { .. }
            | OfferError::NotSending => 422,
            _ => 400,
        }
    }
}

/// Why a session could not be made or driven.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The offer was refused.
    #[error(transparent)]
    Offer(#[from] OfferError),
    /// The table is full ([`crate::table::Sessions::new`]'s limit).
    #[error("too many WebRTC sessions ({max}); try again later")]
    Full {
        /// The limit.
        max: usize,
    },
    /// There is no local address to offer as a candidate.
    #[error("no local address to offer as an ICE candidate")]
    NoCandidates,
    /// str0m failed.
    #[error("WebRTC: {0}")]
    Rtc(#[from] str0m::RtcError),
}
