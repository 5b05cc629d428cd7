//! Fuzzes every parser of homestream-cmaf on the same bytes: the Annex B splitter and AVCC
//! conversion, the SPS parser (as given and behind an SPS header byte), and the box reader
//! descending into every box with every field reader. Checks nothing panics, NAL units never
//! add up to more than the input, and a parsed SPS never has an empty picture.

#![no_main]

use homestream_cmaf::{AvcConfig, Sps, h264, read};
use libfuzzer_sys::fuzz_target;

fn walk(data: &[u8], depth: usize) {
    for b in read::boxes(data) {
        let Ok(b) = b else { return };
        assert!(b.raw.len() <= data.len() && b.body.len() <= b.raw.len());
        let _ = read::read_prft(b.body);
        let _ = read::read_mfhd(b.body);
        let _ = read::read_tfdt(b.body);
        let _ = read::read_tfhd(b.body);
        let _ = read::read_trun(b.body);
        if depth < 16 {
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

fuzz_target!(|data: &[u8]| {
    if let Ok(units) = h264::nal_units(data) {
        assert!(units.map(<[u8]>::len).sum::<usize>() <= data.len());
    }
    let _ = h264::to_avcc(data);
    let _ = h264::contains_idr(data);
    let _ = AvcConfig::from_access_unit(data);
    for sps in [data.to_vec(), [&[0x67], data].concat()] {
        if let Ok(s) = Sps::parse(&sps) {
            assert!(s.width > 0 && s.height > 0);
        }
    }
    walk(data, 0);
});
