//! Golden tests, moonfire-nvr style: the init segment and a fragment of each track are walked
//! box by box with the crate's reader and every field is asserted against ISO/IEC 14496-12;
//! then a digest of the whole output pins every byte, so that any change is seen (and
//! [`FORMAT_VERSION`] bumped on purpose).

use bytes::Bytes;
use homestream_cmaf::read::{self, Cursor, Mp4Box};
use homestream_cmaf::{
    AvcConfig, Codec, FORMAT_VERSION, Fragmenter, OpusConfig, Sample, Track, init_segment,
    mime_type, ntp_from_system_time,
};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn tracks() -> Vec<Track> {
    let avc = AvcConfig::new(
        &fixture("x264-baseline-1280x720.sps"),
        &fixture("x264-baseline-1280x720.pps"),
    )
    .unwrap();
    vec![
        Track {
            id: 1,
            codec: Codec::H264(avc),
        },
        Track {
            id: 2,
            codec: Codec::Opus(OpusConfig::new(2, 312).unwrap()),
        },
    ]
}

/// The boxes directly inside `data`, all of which must parse.
fn children(data: &[u8]) -> Vec<Mp4Box<'_>> {
    read::boxes(data).collect::<Result<_, _>>().unwrap()
}

fn names(bs: &[Mp4Box<'_>]) -> Vec<String> {
    bs.iter().map(|b| b.name()).collect()
}

fn one<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> Mp4Box<'a> {
    read::find(data, path)
        .unwrap()
        .unwrap_or_else(|| panic!("no {path:?}"))
}

/// Reads a FullBox body: checks version and flags, returns a cursor after them.
fn full<'a>(b: &Mp4Box<'a>, version: u8, flags: u32) -> Cursor<'a> {
    let mut c = Cursor::new(b.body);
    assert_eq!(
        c.full_box_header().unwrap(),
        (version, flags),
        "{}",
        b.name()
    );
    c
}

const UNITY_MATRIX: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];

#[test]
fn init_segment_fields() {
    let tracks = tracks();
    let init = init_segment(&tracks).unwrap();
    let top = children(&init);
    assert_eq!(names(&top), ["ftyp", "moov"]);

    // ftyp §4.3
    let mut c = Cursor::new(top[0].body);
    assert_eq!(c.bytes(4, "major").unwrap(), b"iso6");
    assert_eq!(c.u32("minor").unwrap(), 0);
    assert_eq!(c.rest(), b"iso6cmfc");

    let moov = children(top[1].body);
    assert_eq!(
        names(&moov),
        ["mvhd", "trak", "trak", "mvex"],
        "no mehd: live"
    );

    // mvhd §8.2.2, version 0
    let mut c = full(&moov[0], 0, 0);
    assert_eq!(c.u32("creation_time").unwrap(), 0);
    assert_eq!(c.u32("modification_time").unwrap(), 0);
    assert_eq!(c.u32("timescale").unwrap(), 1000);
    assert_eq!(c.u32("duration").unwrap(), 0);
    assert_eq!(c.u32("rate").unwrap(), 0x10000);
    assert_eq!(c.u16("volume").unwrap(), 0x100);
    assert_eq!(c.bytes(10, "reserved").unwrap(), [0; 10]);
    for m in UNITY_MATRIX {
        assert_eq!(c.u32("matrix").unwrap(), m);
    }
    assert_eq!(c.bytes(24, "pre_defined").unwrap(), [0; 24]);
    assert_eq!(c.u32("next_track_ID").unwrap(), 3);
    assert_eq!(c.remaining(), 0);

    for (trak, (id, timescale)) in moov[1..3].iter().zip([(1, 90_000), (2, 48_000)]) {
        let is_audio = id == 2;
        let kids = children(trak.body);
        assert_eq!(names(&kids), ["tkhd", "mdia"]);

        // tkhd §8.3.2, version 0, flags enabled | in_movie
        let mut c = full(&kids[0], 0, 3);
        assert_eq!(c.u32("creation_time").unwrap(), 0);
        assert_eq!(c.u32("modification_time").unwrap(), 0);
        assert_eq!(c.u32("track_ID").unwrap(), id);
        assert_eq!(c.u32("reserved").unwrap(), 0);
        assert_eq!(c.u32("duration").unwrap(), 0);
        assert_eq!(c.bytes(8, "reserved").unwrap(), [0; 8]);
        assert_eq!(c.u16("layer").unwrap(), 0);
        assert_eq!(c.u16("alternate_group").unwrap(), 0);
        assert_eq!(c.u16("volume").unwrap(), if is_audio { 0x100 } else { 0 });
        assert_eq!(c.u16("reserved").unwrap(), 0);
        for m in UNITY_MATRIX {
            assert_eq!(c.u32("matrix").unwrap(), m);
        }
        let (w, h) = if is_audio { (0, 0) } else { (1280, 720) };
        assert_eq!(c.u32("width").unwrap(), w << 16);
        assert_eq!(c.u32("height").unwrap(), h << 16);
        assert_eq!(c.remaining(), 0);

        let mdia = children(kids[1].body);
        assert_eq!(names(&mdia), ["mdhd", "hdlr", "minf"]);
        // mdhd §8.4.2
        let mut c = full(&mdia[0], 0, 0);
        assert_eq!(c.u64("times").unwrap(), 0);
        assert_eq!(c.u32("timescale").unwrap(), timescale);
        assert_eq!(c.u32("duration").unwrap(), 0);
        assert_eq!(c.u16("language").unwrap(), 0x55c4, "und");
        assert_eq!(c.u16("pre_defined").unwrap(), 0);
        assert_eq!(c.remaining(), 0);
        // hdlr §8.4.3
        let mut c = full(&mdia[1], 0, 0);
        assert_eq!(c.u32("pre_defined").unwrap(), 0);
        let handler: &[u8] = if is_audio { b"soun" } else { b"vide" };
        assert_eq!(c.bytes(4, "handler_type").unwrap(), handler);
        assert_eq!(c.rest(), [0; 13], "reserved + empty name");

        let minf = children(mdia[2].body);
        let header = if is_audio { "smhd" } else { "vmhd" };
        assert_eq!(names(&minf), [header, "dinf", "stbl"]);
        let mut c = full(&minf[0], 0, if is_audio { 0 } else { 1 });
        assert_eq!(
            c.rest(),
            if is_audio {
                &[0u8; 4][..]
            } else {
                &[0u8; 8][..]
            }
        );
        c.bytes(c.remaining(), "rest").unwrap();
        // dinf/dref §8.7.1-2: one self-contained url entry.
        let dref = one(minf[1].body, &[b"dref"]);
        let mut c = full(&dref, 0, 0);
        assert_eq!(c.u32("entry_count").unwrap(), 1);
        let entries = children(c.rest());
        assert_eq!(names(&entries), ["url "]);
        full(&entries[0], 0, 1);

        let stbl = children(minf[2].body);
        assert_eq!(names(&stbl), ["stsd", "stts", "stsc", "stsz", "stco"]);
        for empty in &stbl[1..] {
            let mut c = full(empty, 0, 0);
            if empty.fourcc == *b"stsz" {
                assert_eq!(c.u32("sample_size").unwrap(), 0);
            }
            assert_eq!(c.u32("count").unwrap(), 0, "{}", empty.name());
            assert_eq!(c.remaining(), 0);
        }
        let mut c = full(&stbl[0], 0, 0);
        assert_eq!(c.u32("entry_count").unwrap(), 1);
        let entry = children(c.rest());
        assert_eq!(entry.len(), 1);
        let mut c = Cursor::new(entry[0].body);
        assert_eq!(c.bytes(6, "reserved").unwrap(), [0; 6]);
        assert_eq!(c.u16("data_reference_index").unwrap(), 1);
        if is_audio {
            check_opus_entry(&entry[0], c);
        } else {
            check_avc1_entry(&entry[0], c);
        }
    }

    // mvex §8.8.1: a trex per track, defaults all left to the fragments.
    let trexes = children(moov[3].body);
    assert_eq!(names(&trexes), ["trex", "trex"]);
    for (trex, id) in trexes.iter().zip([1, 2]) {
        let mut c = full(trex, 0, 0);
        assert_eq!(c.u32("track_ID").unwrap(), id);
        assert_eq!(c.u32("default_sample_description_index").unwrap(), 1);
        assert_eq!(c.bytes(12, "defaults").unwrap(), [0; 12]);
        assert_eq!(c.remaining(), 0);
    }

    assert_eq!(
        mime_type(&tracks),
        r#"video/mp4; codecs="avc1.42C01F,opus""#
    );
    assert_eq!(mime_type(&tracks[1..]), r#"audio/mp4; codecs="opus""#);
}

fn check_avc1_entry(entry: &Mp4Box<'_>, mut c: Cursor<'_>) {
    assert_eq!(entry.name(), "avc1");
    assert_eq!(c.bytes(16, "pre_defined + reserved").unwrap(), [0; 16]);
    assert_eq!(c.u16("width").unwrap(), 1280);
    assert_eq!(c.u16("height").unwrap(), 720);
    assert_eq!(c.u32("horizresolution").unwrap(), 0x0048_0000);
    assert_eq!(c.u32("vertresolution").unwrap(), 0x0048_0000);
    assert_eq!(c.u32("reserved").unwrap(), 0);
    assert_eq!(c.u16("frame_count").unwrap(), 1);
    assert_eq!(c.bytes(32, "compressorname").unwrap(), [0; 32]);
    assert_eq!(c.u16("depth").unwrap(), 0x18);
    assert_eq!(c.u16("pre_defined").unwrap(), 0xffff);
    let kids = children(c.rest());
    assert_eq!(names(&kids), ["avcC"]);
    let sps = fixture("x264-baseline-1280x720.sps");
    let pps = fixture("x264-baseline-1280x720.pps");
    let mut want = vec![1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, sps.len() as u8];
    want.extend_from_slice(&sps);
    want.extend_from_slice(&[1, 0, pps.len() as u8]);
    want.extend_from_slice(&pps);
    assert_eq!(kids[0].body, &want[..], "baseline: no high-profile tail");
}

fn check_opus_entry(entry: &Mp4Box<'_>, mut c: Cursor<'_>) {
    assert_eq!(entry.name(), "Opus");
    assert_eq!(c.u64("reserved").unwrap(), 0);
    assert_eq!(c.u16("channelcount").unwrap(), 2);
    assert_eq!(c.u16("samplesize").unwrap(), 16);
    assert_eq!(c.u32("pre_defined + reserved").unwrap(), 0);
    assert_eq!(c.u32("samplerate").unwrap(), 48_000 << 16);
    let kids = children(c.rest());
    assert_eq!(names(&kids), ["dOps"]);
    let mut d = Cursor::new(kids[0].body);
    assert_eq!(d.u8("Version").unwrap(), 0);
    assert_eq!(d.u8("OutputChannelCount").unwrap(), 2);
    assert_eq!(d.u16("PreSkip").unwrap(), 312);
    assert_eq!(d.u32("InputSampleRate").unwrap(), 48_000);
    assert_eq!(d.u16("OutputGain").unwrap(), 0);
    assert_eq!(d.u8("ChannelMappingFamily").unwrap(), 0);
    assert_eq!(d.remaining(), 0);
}

fn captured() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_764_619_200, 250_000_000)
}

fn video_samples() -> Vec<Sample> {
    vec![
        Sample {
            duration: 3000,
            data: Bytes::from_static(&[0, 0, 0, 3, 0x65, 0x88, 0x84]),
            is_sync: true,
        },
        Sample {
            duration: 3003,
            data: Bytes::from_static(&[0, 0, 0, 2, 0x41, 0x9a]),
            is_sync: false,
        },
    ]
}

#[test]
fn fragment_fields() {
    let mut f = Fragmenter::new();
    assert_eq!(f.next_sequence_number(), 1);
    let samples = video_samples();
    let frag = f.fragment(1, 5_000_000_000, &samples, captured()).unwrap();
    assert_eq!(f.next_sequence_number(), 2);
    let top = children(&frag);
    assert_eq!(names(&top), ["prft", "moof", "mdat"]);

    // prft §8.16.5, version 1
    let prft = read::read_prft(top[0].body).unwrap();
    assert_eq!(top[0].raw.len(), 32);
    assert_eq!(prft.flags, 0);
    assert_eq!(prft.reference_track_id, 1);
    assert_eq!(prft.ntp_timestamp, ntp_from_system_time(captured()));
    assert_eq!(prft.ntp_timestamp >> 32, 1_764_619_200 + 2_208_988_800);
    assert_eq!(prft.ntp_timestamp & 0xffff_ffff, 0x4000_0000, "0.25 s");
    assert_eq!(prft.wall_clock(), captured());
    assert_eq!(prft.media_time, 5_000_000_000);
    full(&top[0], 1, 0);

    let moof = &top[1];
    assert_eq!(names(&children(moof.body)), ["mfhd", "traf"]);
    assert_eq!(read::read_mfhd(one(moof.body, &[b"mfhd"]).body).unwrap(), 1);
    let traf = one(moof.body, &[b"traf"]);
    assert_eq!(names(&children(traf.body)), ["tfhd", "tfdt", "trun"]);

    let tfhd_box = one(traf.body, &[b"tfhd"]);
    full(&tfhd_box, 0, 0x02_0000);
    let tfhd = read::read_tfhd(tfhd_box.body).unwrap();
    assert_eq!(tfhd.track_id, 1);
    assert_eq!(tfhd.base_data_offset, None);
    assert_eq!(tfhd.sample_description_index, None);
    assert_eq!(tfhd.default_sample_flags, None);

    let tfdt = one(traf.body, &[b"tfdt"]);
    full(&tfdt, 1, 0);
    assert_eq!(read::read_tfdt(tfdt.body).unwrap(), 5_000_000_000);

    let trun_box = one(traf.body, &[b"trun"]);
    full(&trun_box, 0, 0x000701);
    let trun = read::read_trun(trun_box.body).unwrap();
    assert_eq!(trun.first_sample_flags, None);
    assert_eq!(trun.samples.len(), 2);
    let want = [(3000, 7, 0x0200_0000), (3003, 6, 0x0101_0000)];
    for (s, (d, n, fl)) in trun.samples.iter().zip(want) {
        assert_eq!((s.duration, s.size, s.flags), (Some(d), Some(n), Some(fl)));
        assert_eq!(s.composition_time_offset, None);
    }
    // default-base-is-moof: the offset counts from the moof's first byte to the first sample.
    let data_offset = trun.data_offset.unwrap() as usize;
    assert_eq!(moof.offset + data_offset, top[2].offset + 8);
    assert_eq!(
        &frag[moof.offset + data_offset..][..7],
        &samples[0].data[..]
    );
    let mut mdat = samples[0].data.to_vec();
    mdat.extend_from_slice(&samples[1].data);
    assert_eq!(top[2].body, &mdat[..]);

    // The number runs across tracks.
    let audio = [Sample {
        duration: 960,
        data: Bytes::from_static(&[0xfc, 1, 2]),
        is_sync: true,
    }];
    let frag2 = f.fragment(2, 48_000, &audio, captured()).unwrap();
    assert_eq!(
        read::read_mfhd(one(&frag2, &[b"moof", b"mfhd"]).body).unwrap(),
        2
    );
    let tfhd = read::read_tfhd(one(&frag2, &[b"moof", b"traf", b"tfhd"]).body).unwrap();
    assert_eq!(tfhd.track_id, 2);
    let prft = read::read_prft(one(&frag2, &[b"prft"]).body).unwrap();
    assert_eq!((prft.reference_track_id, prft.media_time), (2, 48_000));
}

#[test]
fn refused_fragments_use_no_sequence_number() {
    let mut f = Fragmenter::new();
    assert!(f.fragment(1, 0, &[], captured()).is_err());
    assert_eq!(f.next_sequence_number(), 1);
}

#[test]
fn init_refuses_bad_track_lists() {
    let mut t = tracks();
    assert!(init_segment(&[]).is_err());
    t[1].id = 1;
    assert!(init_segment(&t).is_err(), "repeated id");
    t[1].id = 0;
    assert!(init_segment(&t).is_err(), "id 0");
}

/// Any change to these bytes must be deliberate: explain it in the commit and bump
/// FORMAT_VERSION.
#[test]
fn digest_of_init_and_fragments() {
    let mut out = init_segment(&tracks()).unwrap().to_vec();
    let mut f = Fragmenter::new();
    out.extend_from_slice(&f.fragment(1, 0, &video_samples(), captured()).unwrap());
    let audio = [Sample {
        duration: 960,
        data: Bytes::from_static(&[0xfc, 0xff, 0xfe]),
        is_sync: true,
    }];
    out.extend_from_slice(&f.fragment(2, 0, &audio, captured()).unwrap());
    let digest: String = Sha256::digest(&out)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        (FORMAT_VERSION, out.len(), digest.as_str()),
        (
            1,
            1364,
            "3ed8110619a3fe84a381a07d00903f3c6860ccf2d88731d12e0d11f1c984fc0c"
        )
    );
}
