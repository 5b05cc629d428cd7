//! Byte sizes with binary suffixes (`8M`, `512K`, `1G`), which every size option accepts.
//!
//! Hand-written because it is ten lines and the crates that do it pull in float formatting we do not
//! want; `K`, `M`, `G`, `T` are powers of 1024 (an optional trailing `B`/`iB` is accepted).

/// Parses `8M`, `512K`, `1G`, `4096`, `1.5M` into bytes. Refuses zero, negatives and overflow.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    let body = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (num, mult) = match body.chars().last() {
        Some('K') => (&body[..body.len() - 1], 1u64 << 10),
        Some('M') => (&body[..body.len() - 1], 1u64 << 20),
        Some('G') => (&body[..body.len() - 1], 1u64 << 30),
        Some('T') => (&body[..body.len() - 1], 1u64 << 40),
        _ => (body, 1u64),
    };
    let num = num.trim();
    let bad = || format!("invalid size {s:?} (expected e.g. 8M, 512K, 1G or a byte count)");
    let bytes = if let Ok(n) = num.parse::<u64>() {
        n.checked_mul(mult).ok_or_else(bad)?
    } else {
        let f: f64 = num.parse().map_err(|_| bad())?;
        if !f.is_finite() || f < 0.0 {
            return Err(bad());
        }
        let v = f * mult as f64;
        if v >= u64::MAX as f64 {
            return Err(bad());
        }
        v as u64
    };
    if bytes == 0 {
        return Err(format!("invalid size {s:?}: must be greater than zero"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn suffixes() {
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2MB"), Ok(2 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1.5M"), Ok(3 << 19));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "M",
            "-1M",
            "0",
            "0K",
            "1X",
            "abc",
            "99999999999999T",
            "1e400",
            "nan",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }
}
