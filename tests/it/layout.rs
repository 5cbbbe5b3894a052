//! The layout of the tests themselves: every Rust file under `tests/` belongs to the
//! one test crate. With `autotests = false` a new `tests/foo.rs` would silently not be
//! built, and a file under `tests/it/` that no `mod` declares would silently not be
//! compiled; both fail here. Reads files only.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read tests dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file that must declare `file` as a module, and the module's name.
fn parent(it: &Path, file: &Path) -> (PathBuf, String) {
    let (dir, name) = if file.file_name().is_some_and(|n| n == "mod.rs") {
        let dir = file.parent().expect("dir");
        (
            dir.parent().expect("parent dir"),
            dir.file_name().expect("name"),
        )
    } else {
        (file.parent().expect("dir"), file.file_stem().expect("stem"))
    };
    let decl = if dir == it {
        dir.join("main.rs")
    } else {
        dir.join("mod.rs")
    };
    (decl, name.to_string_lossy().into_owned())
}

#[test]
fn every_rust_file_under_tests_is_a_module_of_the_one_test_crate() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let it = tests.join("it");
    let mut files = Vec::new();
    rust_files(&tests, &mut files);
    let mut stray = Vec::new();
    for f in files.iter().filter(|f| **f != it.join("main.rs")) {
        if !f.starts_with(&it) {
            stray.push(format!("{} is outside tests/it/", f.display()));
            continue;
        }
        let (decl, name) = parent(&it, f);
        let text = std::fs::read_to_string(&decl).unwrap_or_default();
        let declared = text.lines().any(|l| {
            let l = l.trim().trim_start_matches("pub ");
            l == format!("mod {name};")
        });
        if !declared {
            stray.push(format!(
                "{} is not declared in {}",
                f.display(),
                decl.display()
            ));
        }
    }
    assert!(files.len() > 60, "found only {} files", files.len());
    assert!(
        stray.is_empty(),
        "not part of the test crate:\n{}",
        stray.join("\n")
    );
}
