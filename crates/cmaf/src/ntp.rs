//! Wall-clock time as a 64-bit NTP timestamp (RFC 5905 §6: seconds since 1900-01-01 in the
//! high 32 bits, a binary fraction of a second in the low 32), the format of `prft`'s
//! `ntp_timestamp` (ISO/IEC 14496-12 §8.16.5).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from 1900-01-01 (NTP's epoch) to 1970-01-01 (Unix's).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The NTP timestamp of `t`. Seconds wrap modulo 2^32 (NTP era 1 starts 2036-02-07);
/// times before 1900 give 0.
pub fn ntp_from_system_time(t: SystemTime) -> u64 {
    let (secs, nanos): (i128, u32) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (i128::from(d.as_secs()), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let (s, n) = (-i128::from(d.as_secs()), d.subsec_nanos());
            if n > 0 {
                (s - 1, 1_000_000_000 - n)
            } else {
                (s, 0)
            }
        }
    };
    let ntp_secs = secs + i128::from(NTP_UNIX_OFFSET);
    if ntp_secs < 0 {
        return 0;
    }
    let frac = (u64::from(nanos) << 32) / 1_000_000_000;
    (((ntp_secs as u64) & 0xffff_ffff) << 32) | frac
}

/// The wall-clock time of an NTP timestamp. As RFC 4330 §3 suggests, seconds with the top bit
/// clear are read as era 1, so the timestamps [`ntp_from_system_time`] writes
/// read back as they were written (to the nanosecond): from 1968-01-20 03:14:08 UTC (Unix
/// -61505152) up to 2104-02-26 09:42:24 (Unix 4233462144, exclusive).
pub fn system_time_from_ntp(ntp: u64) -> SystemTime {
    let secs = ntp >> 32;
    let frac = ntp & 0xffff_ffff;
    let secs_1900 = if secs & 0x8000_0000 == 0 {
        secs + (1 << 32)
    } else {
        secs
    };
    // Rounded up, so that nanoseconds survive the round trip through the 2^-32 s fraction.
    let nanos = ((frac * 1_000_000_000).div_ceil(1 << 32)) as u32;
    let t = if secs_1900 >= NTP_UNIX_OFFSET {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs_1900 - NTP_UNIX_OFFSET))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(NTP_UNIX_OFFSET - secs_1900))
    };
    t.and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
        .unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_epoch_is_ntp_2208988800() {
        assert_eq!(ntp_from_system_time(UNIX_EPOCH), 2_208_988_800 << 32);
        let half = UNIX_EPOCH + Duration::from_millis(500);
        assert_eq!(
            ntp_from_system_time(half),
            (2_208_988_800 << 32) | 0x8000_0000
        );
    }

    #[test]
    fn round_trips_to_the_nanosecond_across_the_2036_wrap() {
        for unix in [
            1_764_619_200u64, // 2025-12-01
            2_085_978_495,    // 2036-02-07 06:28:15, the last second of era 0
            2_085_978_496,    // the first second of era 1
            4_000_000_000,    // 2096
        ] {
            for nanos in [0, 1, 123_456_789, 999_999_999] {
                let t = UNIX_EPOCH + Duration::new(unix, nanos);
                assert_eq!(
                    system_time_from_ntp(ntp_from_system_time(t)),
                    t,
                    "{unix}.{nanos}"
                );
            }
        }
    }

    #[test]
    fn before_1900_is_zero() {
        let t = UNIX_EPOCH - Duration::from_secs(NTP_UNIX_OFFSET + 1);
        assert_eq!(ntp_from_system_time(t), 0);
    }
}
