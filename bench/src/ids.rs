//! Identifiers: RFC 9562 version-4 UUIDs (version nibble 4, variant 10xx), as the
//! v2 API's strict UUID check requires.

/// A fresh random v4 UUID in lowercase hyphenated form.
pub fn uuid_v4() -> String {
    let mut v = fastrand::u128(..);
    v = (v & !(0xF << 76)) | (0x4 << 76); // version 4
    v = (v & !(0x3 << 62)) | (0x2 << 62); // variant 10
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn strict_rfc9562() {
        for _ in 0..1000 {
            let u = super::uuid_v4();
            let b = u.as_bytes();
            assert_eq!(u.len(), 36);
            assert_eq!(b[14], b'4');
            assert!(matches!(b[19], b'8' | b'9' | b'a' | b'b'));
            assert_eq!((b[8], b[13], b[18], b[23]), (b'-', b'-', b'-', b'-'));
        }
    }
}
