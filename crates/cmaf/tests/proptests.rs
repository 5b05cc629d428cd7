//! Properties: no parser panics on any bytes; what the writer writes, the reader reads back.

use bytes::Bytes;
use homestream_cmaf::read::{self, Mp4Box};
use homestream_cmaf::{
    AvcConfig, Fragmenter, Sample, Sps, h264, ntp_from_system_time, system_time_from_ntp,
};
use proptest::prelude::*;
use std::time::{Duration, UNIX_EPOCH};

/// Walks every box it can, descending into every box as if it were a container, and feeds
/// every body to every field reader.
fn walk(data: &[u8], depth: usize) {
    for b in read::boxes(data) {
        let Ok(b): Result<Mp4Box<'_>, _> = b else {
            return;
        };
        let _ = read::read_prft(b.body);
        let _ = read::read_mfhd(b.body);
        let _ = read::read_tfdt(b.body);
        let _ = read::read_tfhd(b.body);
        if let Ok(t) = read::read_trun(b.body) {
            assert!(t.samples.len() <= b.body.len().max(1 << 16));
        }
        if depth < 8 {
            // Every box as a container, and the boxes that hold children after fields
            // (stsd/dref after entry_count, avc1 and Opus after their sample entry fields).
            walk(b.body, depth + 1);
            let skip = match &b.fourcc {
                b"stsd" | b"dref" => 8,
                b"avc1" => 78,
                b"Opus" => 28,
                _ => continue,
            };
            walk(b.body.get(skip..).unwrap_or(&[]), depth + 1);
        }
    }
}

proptest! {
    #[test]
    fn h264_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Sps::parse(&data);
        let mut sps = vec![0x67];
        sps.extend_from_slice(&data);
        let _ = Sps::parse(&sps);
        if let Ok(units) = h264::nal_units(&data) {
            let total: usize = units.map(<[u8]>::len).sum();
            prop_assert!(total <= data.len());
        }
        let _ = h264::to_avcc(&data);
        let _ = h264::contains_idr(&data);
        let _ = AvcConfig::from_access_unit(&data);
    }

    #[test]
    fn sps_shaped_input_never_panics(
        profile in prop::sample::select(vec![66u8, 77, 100, 110, 122, 244]),
        rest in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut sps = vec![0x67, profile, 0, 31];
        sps.extend_from_slice(&rest);
        if let Ok(s) = Sps::parse(&sps) {
            prop_assert!(s.width > 0 && s.height > 0);
        }
    }

    #[test]
    fn box_reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        walk(&data, 0);
    }

    #[test]
    fn box_reader_never_panics_on_plausible_headers(
        boxes in proptest::collection::vec(
            (0u32..64, prop::sample::select(vec![*b"moof", *b"traf", *b"trun", *b"prft", *b"tfhd"]),
             proptest::collection::vec(any::<u8>(), 0..48)),
            0..6),
    ) {
        let mut data = Vec::new();
        for (size, fourcc, body) in boxes {
            data.extend_from_slice(&size.to_be_bytes());
            data.extend_from_slice(&fourcc);
            data.extend_from_slice(&body);
        }
        walk(&data, 0);
    }

    #[test]
    fn annex_b_round_trips(
        nals in proptest::collection::vec(proptest::collection::vec(1u8..=255, 1..32), 1..8),
        four in proptest::collection::vec(any::<bool>(), 8),
    ) {
        let mut au = Vec::new();
        for (i, nal) in nals.iter().enumerate() {
            if four[i] { au.push(0); }
            au.extend_from_slice(&[0, 0, 1]);
            au.extend_from_slice(nal);
        }
        let got: Vec<&[u8]> = h264::nal_units(&au).unwrap().collect();
        let want: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn fragments_read_back(
        track_id in 1u32..,
        base in any::<u64>(),
        samples in proptest::collection::vec(
            (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..40), any::<bool>()), 1..10),
        secs in 0u64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
    ) {
        let samples: Vec<Sample> = samples
            .into_iter()
            .map(|(duration, data, is_sync)| Sample { duration, data: Bytes::from(data), is_sync })
            .collect();
        let captured = UNIX_EPOCH + Duration::new(secs, nanos);
        let mut f = Fragmenter::new();
        let frag = f.fragment(track_id, base, &samples, captured).unwrap();
        let prft = read::read_prft(read::find(&frag, &[b"prft"]).unwrap().unwrap().body).unwrap();
        prop_assert_eq!(prft.reference_track_id, track_id);
        prop_assert_eq!(prft.media_time, base);
        prop_assert_eq!(prft.wall_clock(), captured);
        let traf = read::find(&frag, &[b"moof", b"traf"]).unwrap().unwrap();
        prop_assert_eq!(read::read_tfdt(read::find(traf.body, &[b"tfdt"]).unwrap().unwrap().body).unwrap(), base);
        prop_assert_eq!(read::read_tfhd(read::find(traf.body, &[b"tfhd"]).unwrap().unwrap().body).unwrap().track_id, track_id);
        let trun = read::read_trun(read::find(traf.body, &[b"trun"]).unwrap().unwrap().body).unwrap();
        let moof = read::find(&frag, &[b"moof"]).unwrap().unwrap();
        let mut at = moof.offset + trun.data_offset.unwrap() as usize;
        prop_assert_eq!(trun.samples.len(), samples.len());
        for (got, want) in trun.samples.iter().zip(&samples) {
            prop_assert_eq!(got.duration, Some(want.duration));
            prop_assert_eq!(got.size, Some(want.data.len() as u32));
            prop_assert_eq!(got.flags.map(|f| f & 0x0001_0000 == 0), Some(want.is_sync));
            prop_assert_eq!(&frag[at..at + want.data.len()], &want.data[..]);
            at += want.data.len();
        }
        prop_assert_eq!(at, frag.len(), "mdat ends the fragment");
    }

    #[test]
    fn ntp_round_trips_from_1968_to_2104_exactly_at_the_ends(secs in -61_505_152i64..4_233_462_144, nanos in 0u32..1_000_000_000) {
        let t = if secs >= 0 {
            UNIX_EPOCH + Duration::new(secs as u64, nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(u64::from(nanos))
        };
        prop_assert_eq!(system_time_from_ntp(ntp_from_system_time(t)), t);
    }

    #[test]
    fn ntp_reader_never_panics(ntp in any::<u64>()) {
        let _ = system_time_from_ntp(ntp);
    }
}
