//! Sizes in bytes as people write and read them: `512M`, `2G`, `1.5GiB` (every unit is
//! a power of 1024, as in systemd's `MemoryMax=` and Slurm's `--mem`), and `213M` in a
//! table.

/// The accepted forms, for error messages.
pub(crate) const FORMS: &str = "a number of bytes, or a number with K, M, G or T (powers of 1024; KB, KiB and the like mean the same), e.g. 512M, 2G, 1.5G";

/// `text` as a number of bytes.
pub(crate) fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || format!("invalid size '{text}': write {FORMS}");
    let power = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        "t" | "tb" | "tib" => 4,
        _ => return Err(bad()),
    };
    let n: f64 = number.parse().map_err(|_| bad())?;
    let bytes = n * 1024f64.powi(power);
    // A fraction of a byte is not a size; 16 EiB and more do not fit.
    if !bytes.is_finite() || bytes >= u64::MAX as f64 || (power == 0 && n.fract() != 0.0) {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// `bytes` in three significant figures or so: `900K`, `213M`, `1.5G`.
pub(crate) fn short(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 10.0 || (v * 10.0).round() % 10.0 == 0.0 {
        format!("{v:.0}{}", UNITS[unit])
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_written() {
        assert_eq!(parse("512"), Ok(512));
        assert_eq!(parse("512M"), Ok(512 << 20));
        assert_eq!(parse("2G"), Ok(2 << 30));
        assert_eq!(parse("2 GiB"), Ok(2 << 30));
        assert_eq!(parse("1.5g"), Ok(3 << 29));
        assert_eq!(parse("64kb"), Ok(64 << 10));
        for bad in ["lots", "", "2X", "-1G", "1.5", "1e3", "G", "99999999999T"] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.contains("invalid size") && e.contains("512M"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn sizes_as_shown() {
        assert_eq!(short(900), "900B");
        assert_eq!(short(900 << 10), "900K");
        assert_eq!(short(213 << 20), "213M");
        assert_eq!(short(3 << 29), "1.5G");
        assert_eq!(short(2 << 30), "2G");
    }
}
