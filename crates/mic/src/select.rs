//! Choosing a device and a capture configuration: pure functions over what the audio system
//! reported, so they are tested without a sound card.

use crate::{MicError, MicId, MicInfo};

/// Index in `devices` of the one `which` names.
///
/// - [`MicId::Default`]: the device marked default, else the first one.
/// - [`MicId::Name`]: the device with exactly that name, else exactly that id; else the only one
///   whose name contains it, ignoring case. Several such devices are [`MicError::Ambiguous`]; none is
///   [`MicError::NotFound`], which lists every device so the user can pick one.
pub fn choose(devices: &[MicInfo], which: &MicId) -> Result<usize, MicError> {
    let all = || devices.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
    match which {
        MicId::Default => devices
            .iter()
            .position(|d| d.is_default)
            .or(if devices.is_empty() { None } else { Some(0) })
            .ok_or_else(|| MicError::NotFound {
                wanted: "the default microphone".into(),
                available: all(),
            }),
        MicId::Name(name) => {
            if let Some(i) = devices.iter().position(|d| &d.name == name) {
                return Ok(i);
            }
            if let Some(i) = devices.iter().position(|d| &d.id == name) {
                return Ok(i);
            }
            let needle = name.to_lowercase();
            let hits: Vec<usize> = (0..devices.len())
                .filter(|&i| devices[i].name.to_lowercase().contains(&needle))
                .collect();
            match hits.as_slice() {
                [one] => Ok(*one),
                [] => Err(MicError::NotFound {
                    wanted: name.clone(),
                    available: all(),
                }),
                many => Err(MicError::Ambiguous {
                    wanted: name.clone(),
                    matches: many.iter().map(|&i| devices[i].name.clone()).collect(),
                }),
            }
        }
    }
}

/// One capture configuration a device offers (cpal's `SupportedStreamConfigRange`, reduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigRange {
    /// Interleaved channels.
    pub channels: u16,
    /// Lowest sample rate, Hz.
    pub min_rate: u32,
    /// Highest sample rate, Hz.
    pub max_rate: u32,
    /// Whether samples arrive as `f32` (else an integer format we convert).
    pub float: bool,
}

/// The configuration to open and the rate to ask for: 48 kHz whenever offered (then nothing is
/// resampled), the fewest channels (mono, then stereo...), `f32` before integers. Without
/// 48 kHz, the rate nearest above it (downsampling loses nothing we keep), else the highest.
pub fn pick_config(offers: &[ConfigRange]) -> Option<(usize, u32)> {
    let with_rate = |c: &ConfigRange| -> u32 {
        if (c.min_rate..=c.max_rate).contains(&crate::RATE) {
            crate::RATE
        } else if c.min_rate > crate::RATE {
            c.min_rate
        } else {
            c.max_rate
        }
    };
    (0..offers.len())
        .filter(|&i| offers[i].channels > 0 && offers[i].max_rate > 0)
        .min_by_key(|&i| {
            let c = &offers[i];
            let rate = with_rate(c);
            // 48 kHz first; then rates above it (nearest first); then below (highest first).
            let rate_rank = if rate == crate::RATE {
                0
            } else if rate > crate::RATE {
                rate - crate::RATE
            } else {
                1_000_000 + (crate::RATE - rate)
            };
            (rate_rank, c.channels, !c.float)
        })
        .map(|i| (i, with_rate(&offers[i])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices() -> Vec<MicInfo> {
        [
            "HDA Intel PCH: ALC257 Analog",
            "Blue Yeti USB",
            "USB Audio Device",
            "pulse",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| MicInfo {
            name: n.to_string(),
            id: format!("hw:{i}"),
            is_default: i == 3,
            channels: 2,
            sample_rates: vec![44_100..=48_000],
        })
        .collect()
    }

    #[test]
    fn default_is_the_marked_one_else_the_first() {
        let mut d = devices();
        assert_eq!(choose(&d, &MicId::Default), Ok(3));
        d[3].is_default = false;
        assert_eq!(choose(&d, &MicId::Default), Ok(0));
        assert!(matches!(
            choose(&[], &MicId::Default),
            Err(MicError::NotFound { .. })
        ));
    }

    #[test]
    fn exact_then_case_insensitive_substring() {
        let d = devices();
        assert_eq!(choose(&d, &MicId::Name("pulse".into())), Ok(3));
        assert_eq!(choose(&d, &MicId::Name("yeti".into())), Ok(1));
        assert_eq!(choose(&d, &MicId::Name("alc257".into())), Ok(0));
        assert_eq!(choose(&d, &MicId::Name("hw:2".into())), Ok(2));
        // Exact wins even when the name is also a substring of another.
        let mut d2 = d.clone();
        d2[2].name = "Blue Yeti USB (2)".into();
        assert_eq!(choose(&d2, &MicId::Name("Blue Yeti USB".into())), Ok(1));
    }

    #[test]
    fn no_match_names_every_device_and_ambiguity_names_the_candidates() {
        let d = devices();
        let err = choose(&d, &MicId::Name("no-such-mic".into())).unwrap_err();
        let text = err.to_string();
        for dev in &d {
            assert!(text.contains(&dev.name), "{text}");
        }
        let err = choose(&d, &MicId::Name("usb".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"usb\" matches several microphones: \"Blue Yeti USB\", \"USB Audio Device\"; give the whole name"
        );
    }

    #[test]
    fn config_prefers_48k_mono_float() {
        let c = |channels, min_rate, max_rate, float| ConfigRange {
            channels,
            min_rate,
            max_rate,
            float,
        };
        let offers = [
            c(2, 44_100, 44_100, true),
            c(2, 8_000, 96_000, false),
            c(1, 8_000, 96_000, false),
            c(1, 8_000, 96_000, true),
        ];
        assert_eq!(pick_config(&offers), Some((3, 48_000)));
        assert_eq!(pick_config(&offers[..1]), Some((0, 44_100)));
        // Above 48 kHz beats below it.
        assert_eq!(
            pick_config(&[c(1, 16_000, 16_000, true), c(2, 96_000, 192_000, false)]),
            Some((1, 96_000))
        );
        assert_eq!(pick_config(&[]), None);
    }
}
