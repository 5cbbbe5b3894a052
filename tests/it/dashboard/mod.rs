//! The operators' dashboard: the page in headless Chromium on the 3-region cluster
//! (`page`), and what keeping and serving its figures costs (`measure`, `#[ignore]`d,
//! run by `scripts/bench.sh`).

mod measure;
mod page;
