//! The shape of the local cluster: its regions, the emulated one-way delay of every
//! link, and which links a set of partitions cuts. Pure data; starts nothing.
//!
//! A link is an ordered pair `from` → `to`: the connections `from`'s instances open
//! to `to`'s internal API (forwarded writes, peer lookups, `from` following `to`'s
//! relay log), both directions of their traffic. Cutting `iad` → `lhr` leaves
//! `lhr` → `iad` up: lhr still forwards to iad and follows iad's log, iad hears
//! nothing from lhr.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub const REGIONS: [&str; 3] = ["iad", "lhr", "nrt"];

/// The emulated one-way delay between two regions (either order).
pub fn delay_ms(a: &str, b: &str) -> u64 {
    match (a.min(b), a.max(b)) {
        ("iad", "lhr") => 40,
        ("iad", "nrt") => 80,
        ("lhr", "nrt") => 120,
        other => panic!("no link {other:?}"),
    }
}

/// `name` as one of [`REGIONS`].
pub fn region(name: &str) -> Option<&'static str> {
    REGIONS.iter().copied().find(|r| *r == name)
}

/// Every ordered pair of distinct regions.
pub fn links() -> impl Iterator<Item = (&'static str, &'static str)> {
    REGIONS
        .iter()
        .flat_map(|&f| REGIONS.iter().map(move |&t| (f, t)))
        .filter(|(f, t)| f != t)
}

/// What is cut: whole regions (every link to and from them) and single links.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partitions {
    pub regions: BTreeSet<String>,
    pub links: BTreeSet<(String, String)>,
}

impl Partitions {
    /// Cuts every link to and from `region`.
    pub fn partition(&mut self, region: &str) {
        self.regions.insert(region.to_owned());
    }

    /// Ends `region`'s partition and every single-link cut touching it; links to a
    /// region that is partitioned itself stay cut.
    pub fn heal(&mut self, region: &str) {
        self.regions.remove(region);
        self.links.retain(|(f, t)| f != region && t != region);
    }

    /// Cuts the link `from` → `to` only.
    pub fn cut(&mut self, from: &str, to: &str) {
        self.links.insert((from.to_owned(), to.to_owned()));
    }

    /// Ends the single-link cut `from` → `to` (it stays cut while either end is
    /// partitioned as a region).
    pub fn mend(&mut self, from: &str, to: &str) {
        self.links.remove(&(from.to_owned(), to.to_owned()));
    }

    pub fn is_cut(&self, from: &str, to: &str) -> bool {
        self.regions.contains(from)
            || self.regions.contains(to)
            || self.links.contains(&(from.to_owned(), to.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty() && self.links.is_empty()
    }

    /// `lhr`, `iad->nrt`, … (for status lines).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.regions.iter().cloned().collect();
        parts.extend(self.links.iter().map(|(f, t)| format!("{f}->{t}")));
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_link_cuts_combine() {
        let mut p = Partitions::default();
        p.partition("lhr");
        p.cut("iad", "nrt");
        assert!(p.is_cut("iad", "lhr") && p.is_cut("lhr", "nrt") && p.is_cut("iad", "nrt"));
        assert!(!p.is_cut("nrt", "iad"), "one direction only");
        p.mend("iad", "nrt");
        assert!(!p.is_cut("iad", "nrt"));
        p.cut("iad", "lhr");
        p.mend("iad", "lhr");
        assert!(p.is_cut("iad", "lhr"), "lhr is still partitioned");
        p.cut("nrt", "iad");
        p.heal("lhr");
        assert!(!p.is_cut("iad", "lhr"));
        assert!(p.is_cut("nrt", "iad"), "a cut not touching lhr stays");
        p.heal("iad");
        assert!(p.is_empty());
        assert_eq!(links().count(), 6);
        assert_eq!(delay_ms("nrt", "lhr"), 120);
    }
}
