//! For tests that check the UI against what the domain and the server can
//! send: their source files, with the test modules taken out.

use std::path::{Path, PathBuf};

/// `(path, text)` of every `.rs` file under the given folders of the
/// workspace (`domain/src`, …), test modules removed.
pub fn sources(folders: &[&str]) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = folders.iter().map(|f| root.join(f)).collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), without_tests(&text)));
            }
        }
    }
    out
}

/// The text without each `#[cfg(test)]` item (up to its closing brace, or
/// its `;`), wherever in the file it stands.
pub fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let mut depth = 0;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn test_items_are_taken_out_wherever_they_stand() {
    let text = "a\n#[cfg(test)]\nmod t { fn x() { \"in\" } }\nb \"out\"\n#[cfg(test)]\nuse y;\nc";
    assert_eq!(without_tests(text), "a\n\nb \"out\"\n\nc");
}
