//! Fencing and takeover (filled in below).
