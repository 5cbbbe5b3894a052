//! An error with its causes, on one line, for logs: `outer: cause: root cause`. A
//! cause whose text its parent already shows (`#[error("…: {0}")]`) is not repeated.
//!
//! Must not: decide what is logged (callers do).

use std::error::Error;

/// `e` and every `source()` below it, joined with `": "`.
pub fn chain(e: &(dyn Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut last = out.clone();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !last.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        cur = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn joins_causes_without_repeating_them() {
        let e = Outer(Middle(std::io::Error::other("refused")));
        assert_eq!(chain(&e), "outer: middle: refused");
    }
}
