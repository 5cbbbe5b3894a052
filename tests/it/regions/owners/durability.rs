//! Zero-loss durability (filled in below).
