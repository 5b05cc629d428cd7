//! With real cpal on whatever machine runs the tests (CI has no sound card): enumeration must
//! not panic, and asking for a device that does not exist names the ones that do.
#![cfg(feature = "cpal")]

use homestream_mic::{MicError, MicId, list, open};

#[test]
fn list_returns_without_panicking() {
    match list() {
        Ok(devices) => eprintln!("{} input devices: {devices:#?}", devices.len()),
        // No audio system at all is an error, not a panic.
        Err(e) => eprintln!("list: {e}"),
    }
}

#[test]
fn an_unknown_name_lists_what_exists() {
    let names: Vec<String> = list()
        .map(|d| d.into_iter().map(|i| i.name).collect())
        .unwrap_or_default();
    match open(&MicId::Name("no-such-mic".into())) {
        Err(MicError::NotFound { wanted, available }) => {
            assert_eq!(wanted, "no-such-mic");
            assert_eq!(available, names);
            let text = MicError::NotFound {
                wanted,
                available: available.clone(),
            }
            .to_string();
            for n in &available {
                assert!(text.contains(n.as_str()), "{text}");
            }
        }
        Err(MicError::Backend { .. }) if names.is_empty() => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// ALSA's `null` device (in alsa-lib's default configuration even without a sound card)
/// captures silence: the whole path from cpal's callback to chunks runs for real.
#[test]
fn the_null_device_delivers_timestamped_chunks() {
    let Some(null) = list()
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.id == "null")
    else {
        eprintln!("no ALSA null device here; nothing to capture from");
        return;
    };
    let mic = open(&MicId::Name(null.id.clone())).expect("open the null device");
    assert_eq!(mic.name(), null.name);
    let mut chunks = Vec::new();
    let start = std::time::Instant::now();
    while chunks.len() < 10 && start.elapsed() < std::time::Duration::from_secs(5) {
        if let Some(c) = mic
            .next_chunk(std::time::Duration::from_millis(500))
            .unwrap()
        {
            chunks.push(c);
        }
    }
    assert_eq!(
        chunks.len(),
        10,
        "chunks in 5 s from {:?}",
        mic.device_format()
    );
    for pair in chunks.windows(2) {
        assert_eq!(pair[0].samples.len(), homestream_mic::CHUNK_SAMPLES);
        assert!(pair[0].samples.iter().all(|&s| s == 0.0));
        assert!(pair[1].captured > pair[0].captured, "timestamps go forward");
    }
    eprintln!(
        "null device: {:?}, dropped {}",
        mic.device_format(),
        mic.dropped()
    );
}
