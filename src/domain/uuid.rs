//! Identifier checks, byte-for-byte the patterns v2 accepted (CONTRACT.md §1.10).
//!
//! Owns: what counts as a valid id. Must not: normalise ids (they are opaque and
//! case-sensitive; storage keys use them exactly as received).

const NIL: &str = "00000000-0000-0000-0000-000000000000";
const MAX: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// `8-4-4-4-12` hex groups, any case.
pub fn is_loose_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    b.iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => is_hex(c),
    })
}

/// RFC 9562 strict (version nibble 1–8, variant 8/9/a/b), plus the nil and max UUIDs.
/// The max UUID is matched in lower case only, as zod 4 did.
pub fn is_strict_uuid(s: &str) -> bool {
    if s == NIL || s == MAX {
        return true;
    }
    if !is_loose_uuid(s) {
        return false;
    }
    let b = s.as_bytes();
    matches!(b[14], b'1'..=b'8') && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_accepts_the_contract_examples() {
        assert!(is_strict_uuid("223e4567-e89b-12d3-a456-426614174001"));
        assert!(is_strict_uuid(NIL));
        assert!(is_strict_uuid(MAX));
        assert!(is_strict_uuid("6F1C0000-0000-4000-8000-00000000000A"));
    }

    #[test]
    fn strict_rejects_bad_version_variant_and_shape() {
        assert!(!is_strict_uuid("223e4567-e89b-02d3-a456-426614174001"));
        assert!(!is_strict_uuid("223e4567-e89b-12d3-c456-426614174001"));
        assert!(!is_strict_uuid("223e4567e89b12d3a456426614174001"));
        assert!(!is_strict_uuid("not-a-uuid"));
        assert!(!is_strict_uuid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"));
        assert!(!is_strict_uuid(""));
    }

    #[test]
    fn loose_only_checks_shape() {
        assert!(is_loose_uuid("223e4567-e89b-02d3-c456-426614174001"));
        assert!(!is_loose_uuid("223e4567-e89b-02d3-c456-42661417400g"));
        assert!(!is_loose_uuid("223e4567-e89b-02d3-c456"));
    }
}
