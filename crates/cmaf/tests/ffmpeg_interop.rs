//! Interop with ffmpeg as the oracle: a real H.264 stream (x264 via ffmpeg, the fixture in
//! `testdata/`) and real Opus packets (libopus via ffmpeg, into Ogg, read back by a minimal
//! Ogg page reader below) are packaged as init + one fragment per video frame + audio
//! fragments of three packets, interleaved by decode time as the live stream sends them.
//! ffprobe must see both streams with every frame and monotonic timestamps, and ffmpeg must
//! decode every frame without a single error line.

use bytes::Bytes;
use homestream_cmaf::{
    AvcConfig, Codec, Fragmenter, OpusConfig, Sample, Track, h264, init_segment, read,
};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

fn require_ffmpeg() {
    for tool in ["ffmpeg", "ffprobe"] {
        let ok = Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "{tool} is not installed: this interop test needs it. Run `bash scripts/test.sh`, \
             which installs it (Debian: apt-get install ffmpeg)."
        );
    }
}

fn run(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().expect("run ffmpeg/ffprobe");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    (stdout, stderr)
}

/// Groups an Annex B stream into access units: every NAL unit up to and including a coded
/// slice (x264 writes one slice per picture here). Each unit is re-emitted with 4-byte start
/// codes, as openh264 hands them over.
fn access_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut aus = Vec::new();
    let mut cur = Vec::new();
    for nal in h264::nal_units(stream).unwrap() {
        cur.extend_from_slice(&[0, 0, 0, 1]);
        cur.extend_from_slice(nal);
        if matches!(h264::nal_type(nal), Some(h264::NAL_SLICE | h264::NAL_IDR)) {
            aus.push(std::mem::take(&mut cur));
        }
    }
    aus
}

/// The packets of the first logical stream of an Ogg file (RFC 3533 §6: pages of segments;
/// a packet ends at a segment shorter than 255 bytes). Enough for ffmpeg's output; CRCs are
/// not checked.
fn ogg_packets(data: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut cur = Vec::new();
    let mut pos = 0;
    while pos + 27 <= data.len() {
        assert_eq!(&data[pos..pos + 4], b"OggS", "page at {pos}");
        let nsegs = data[pos + 26] as usize;
        let lacing = &data[pos + 27..pos + 27 + nsegs];
        let mut body = pos + 27 + nsegs;
        for &len in lacing {
            cur.extend_from_slice(&data[body..body + len as usize]);
            body += len as usize;
            if len < 255 {
                packets.push(std::mem::take(&mut cur));
            }
        }
        pos = body;
    }
    packets
}

/// Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 §3.1).
fn opus_packet_samples(packet: &[u8]) -> u32 {
    let config = packet[0] >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)], // SILK 10/20/40/60 ms
        12..=15 => [480, 960][usize::from(config % 2)],            // hybrid 10/20 ms
        _ => [120, 240, 480, 960][usize::from(config % 4)],        // CELT 2.5/5/10/20 ms
    };
    let frames = match packet[0] & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(packet[1] & 0x3f),
    };
    frame * frames
}

/// `key=value` fields of ffprobe's compact output lines that start with `section|`.
fn sections<'a>(out: &'a str, section: &str) -> Vec<Vec<(&'a str, &'a str)>> {
    out.lines()
        .filter_map(|l| l.strip_prefix(section)?.strip_prefix('|'))
        .map(|l| l.split('|').filter_map(|kv| kv.split_once('=')).collect())
        .collect()
}

fn field<'a>(fields: &[(&'a str, &'a str)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| *k == key)
        .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
        .1
}

#[test]
fn ffmpeg_reads_and_decodes_every_frame_of_h264_and_opus_fragments() {
    require_ffmpeg();
    let dir = tempfile::tempdir().unwrap();

    // Video: the fixture, 60 frames at 30 fps.
    let stream = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/testsrc-320x240-30fps-baseline-2s.h264"),
    )
    .unwrap();
    let aus = access_units(&stream);
    assert_eq!(aus.len(), 60);
    let avc = AvcConfig::from_access_unit(&aus[0]).unwrap();

    // Audio: 2 s of a 440 Hz tone, encoded by libopus into Ogg.
    let ogg = dir.path().join("tone.ogg");
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .args([
            "sine=frequency=440:sample_rate=48000:duration=2",
            "-ac",
            "2",
            "-c:a",
            "libopus",
            "-b:a",
            "64k",
        ])
        .arg(&ogg));
    let packets = ogg_packets(&std::fs::read(&ogg).unwrap());
    let head = &packets[0];
    assert_eq!(&head[..8], b"OpusHead");
    let channels = head[9];
    let pre_skip = u16::from_le_bytes([head[10], head[11]]);
    assert_eq!(&packets[1][..8], b"OpusTags");
    let audio: Vec<&Vec<u8>> = packets[2..].iter().filter(|p| !p.is_empty()).collect();
    assert!(audio.len() > 90, "{} Opus packets", audio.len());

    let tracks = [
        Track {
            id: 1,
            codec: Codec::H264(avc),
        },
        Track {
            id: 2,
            codec: Codec::Opus(OpusConfig::new(channels, pre_skip).unwrap()),
        },
    ];
    let start = UNIX_EPOCH + Duration::from_secs(1_764_619_200);
    let mut file = init_segment(&tracks).unwrap().to_vec();
    let mut f = Fragmenter::new();
    let (mut vi, mut ai, mut audio_time) = (0usize, 0usize, 0u64);
    let mut fragments = 0;
    // Interleave by decode time in seconds, as a live stream's fragments arrive.
    while vi < aus.len() || ai < audio.len() {
        let video_time = vi as u64 * 3000;
        let video_next =
            vi < aus.len() && (ai >= audio.len() || video_time * 48_000 <= audio_time * 90_000);
        let frag = if video_next {
            let au = &aus[vi];
            let sample = Sample {
                duration: 3000,
                data: h264::to_avcc(au).unwrap(),
                is_sync: h264::contains_idr(au),
            };
            assert_eq!(sample.is_sync, vi % 30 == 0, "frame {vi}");
            let captured = start + Duration::from_nanos(video_time * 1_000_000_000 / 90_000);
            vi += 1;
            f.fragment(1, video_time, &[sample], captured).unwrap()
        } else {
            let base = audio_time;
            let samples: Vec<Sample> = audio[ai..(ai + 3).min(audio.len())]
                .iter()
                .map(|p| Sample {
                    duration: opus_packet_samples(p),
                    data: Bytes::copy_from_slice(p),
                    is_sync: true,
                })
                .collect();
            ai += samples.len();
            audio_time += samples.iter().map(|s| u64::from(s.duration)).sum::<u64>();
            let captured = start + Duration::from_nanos(base * 1_000_000_000 / 48_000);
            f.fragment(2, base, &samples, captured).unwrap()
        };
        // Our own reader agrees with what was asked.
        let prft = read::read_prft(read::find(&frag, &[b"prft"]).unwrap().unwrap().body).unwrap();
        let tfdt = read::find(&frag, &[b"moof", b"traf", b"tfdt"])
            .unwrap()
            .unwrap();
        assert_eq!(prft.media_time, read::read_tfdt(tfdt.body).unwrap());
        file.extend_from_slice(&frag);
        fragments += 1;
    }
    assert_eq!(fragments, 60 + audio.len().div_ceil(3));
    let mp4 = dir.path().join("live.mp4");
    std::fs::write(&mp4, &file).unwrap();

    // Streams, codecs and frame counts.
    let (out, _) = run(Command::new("ffprobe").args([
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "stream=index,codec_name,codec_type,profile,width,height,sample_rate,channels,nb_read_frames",
        "-of",
        "compact",
    ]).arg(&mp4));
    println!("{out}");
    let streams = sections(&out, "stream");
    assert_eq!(streams.len(), 2, "{out}");
    let v = &streams[0];
    assert_eq!(field(v, "codec_name"), "h264");
    assert_eq!(field(v, "profile"), "Constrained Baseline");
    assert_eq!((field(v, "width"), field(v, "height")), ("320", "240"));
    assert_eq!(field(v, "nb_read_frames"), "60");
    let a = &streams[1];
    assert_eq!(field(a, "codec_name"), "opus");
    assert_eq!(field(a, "sample_rate"), "48000");
    assert_eq!(field(a, "channels"), channels.to_string());
    assert_eq!(field(a, "nb_read_frames"), audio.len().to_string());

    // Timestamps: per stream, strictly increasing decode times, in steps of the durations given.
    let (out, _) = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=stream_index,pts,dts,duration,flags",
            "-of",
            "compact",
        ])
        .arg(&mp4));
    let packets = sections(&out, "packet");
    assert_eq!(packets.len(), 60 + audio.len());
    let mut last = [None::<i64>; 2];
    let mut video_dts = Vec::new();
    for p in &packets {
        let i: usize = field(p, "stream_index").parse().unwrap();
        let dts: i64 = field(p, "dts").parse().unwrap();
        if let Some(prev) = last[i] {
            assert!(dts > prev, "stream {i}: dts {dts} after {prev}");
        }
        last[i] = Some(dts);
        if i == 0 {
            assert_eq!(field(p, "pts"), field(p, "dts"), "no reordering");
            assert_eq!(
                field(p, "flags").starts_with('K'),
                video_dts.len() % 30 == 0
            );
            video_dts.push(dts);
        }
    }
    let want: Vec<i64> = (0..60).map(|i| i * 3000).collect();
    assert_eq!(video_dts, want, "video dts in 90 kHz ticks");
    println!(
        "{} packets; first {:?}; last {:?}",
        packets.len(),
        packets.first(),
        packets.last()
    );

    // ffmpeg decodes every frame of both streams, with no error at all.
    let (_, stderr) = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&mp4)
        .args(["-f", "null", "-"]));
    assert_eq!(stderr, "", "ffmpeg reported decode errors");
    let (_, stderr) = run(Command::new("ffmpeg")
        .args(["-v", "info", "-nostats", "-i"])
        .arg(&mp4)
        .args(["-map", "0:v", "-f", "null", "-"]));
    let frames_line = stderr
        .lines()
        .rev()
        .find(|l| l.contains("frame="))
        .unwrap_or_default();
    println!("{frames_line}");
}
