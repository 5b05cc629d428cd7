//! Opus in ISOBMFF: the `Opus` sample entry and its `dOps` box ("Encapsulation of Opus in ISO
//! Base Media File Format", version 0.6.8, §4.3.1 and §4.3.2), codec string `opus`.
//!
//! Unlike Ogg's `OpusHead` (RFC 7845 §5.1, little-endian), `dOps` is big-endian and has no
//! magic signature. Only mapping family 0 (mono or stereo, no mapping table) is written: that
//! is what a live microphone gives and what every MSE implementation that plays Opus takes.

use crate::CmafError;
use crate::write::write_box;
use bytes::{BufMut, BytesMut};

/// Opus samples are always timed at 48 kHz, whatever the input rate (RFC 7845 §4).
pub const OPUS_TIMESCALE: u32 = 48_000;

/// An Opus track's decoder configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    /// Output channels: 1 or 2 (mapping family 0).
    pub channels: u8,
    /// Samples (at 48 kHz) the decoder drops at the start: the encoder's lookahead
    /// (libopus reports it as `OPUS_GET_LOOKAHEAD`, 312 at 48 kHz by default).
    pub pre_skip: u16,
}

impl OpusConfig {
    /// A mono or stereo configuration; other channel counts need a mapping table.
    pub fn new(channels: u8, pre_skip: u16) -> Result<OpusConfig, CmafError> {
        if !(1..=2).contains(&channels) {
            return Err(CmafError::Unsupported {
                field: "Opus channel count (mapping family 0 is 1 or 2)",
                value: u64::from(channels),
            });
        }
        Ok(OpusConfig { channels, pre_skip })
    }

    /// The codec parameter for MSE: `opus`, the sample entry's fourcc in lower case, which
    /// is how Chromium and Firefox name it in `isTypeSupported`.
    pub fn codec_string(&self) -> &'static str {
        "opus"
    }

    /// Appends the `Opus` sample entry, `dOps` inside.
    pub(crate) fn write_sample_entry(&self, buf: &mut BytesMut) {
        write_box(buf, b"Opus", |buf| {
            // AudioSampleEntry, ISO/IEC 14496-12 §12.2.3.2.
            buf.put_slice(&[0; 6]); // SampleEntry reserved
            buf.put_u16(1); // data_reference_index
            buf.put_slice(&[0; 8]); // reserved[2]
            buf.put_u16(u16::from(self.channels)); // channelcount
            buf.put_u16(16); // samplesize
            buf.put_u16(0); // pre_defined
            buf.put_u16(0); // reserved
            buf.put_u32(OPUS_TIMESCALE << 16); // samplerate, 16.16 fixed point
            write_box(buf, b"dOps", |buf| {
                buf.put_u8(0); // Version
                buf.put_u8(self.channels); // OutputChannelCount
                buf.put_u16(self.pre_skip); // PreSkip
                buf.put_u32(48_000); // InputSampleRate (informational)
                buf.put_i16(0); // OutputGain, Q7.8 dB
                buf.put_u8(0); // ChannelMappingFamily 0: no table follows
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_entry_bytes() {
        let mut buf = BytesMut::new();
        OpusConfig::new(2, 312)
            .unwrap()
            .write_sample_entry(&mut buf);
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 0, 0, 0x37, b'O', b'p', b'u', b's', // size 55
            0, 0, 0, 0, 0, 0, 0, 1, // reserved, data_reference_index 1
            0, 0, 0, 0, 0, 0, 0, 0, // reserved
            0, 2, 0, 16, 0, 0, 0, 0, // channelcount 2, samplesize 16, pre_defined, reserved
            0xbb, 0x80, 0, 0, // samplerate 48000.0
            0, 0, 0, 0x13, b'd', b'O', b'p', b's', // size 19
            0, 2, 0x01, 0x38, // Version 0, 2 channels, PreSkip 312
            0, 0, 0xbb, 0x80, // InputSampleRate 48000
            0, 0, 0, // OutputGain 0, ChannelMappingFamily 0
        ];
        assert_eq!(&buf[..], want);
    }

    #[test]
    fn more_than_two_channels_is_refused() {
        assert!(OpusConfig::new(0, 0).is_err());
        assert!(OpusConfig::new(3, 0).is_err());
    }
}
