//! `Leptos.toml` (read by the binary) must agree with the build settings in
//! `[[workspace.metadata.leptos]]` (read by cargo-leptos).

use std::collections::HashMap;

fn keys(section_header: &str, text: &str) -> HashMap<String, String> {
    let start = text.find(section_header).expect(section_header) + section_header.len();
    let rest = &text[start..];
    let end = rest.find("\n[").unwrap_or(rest.len());
    rest[..end]
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

#[test]
fn leptos_toml_matches_the_build_metadata() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let leptos = std::fs::read_to_string(root.join("Leptos.toml")).unwrap();
    let build = keys("[[workspace.metadata.leptos]]", &cargo);
    let runtime = keys("[package.metadata.leptos]", &leptos);
    for key in [
        "output-name",
        "site-root",
        "site-pkg-dir",
        "site-addr",
        "reload-port",
    ] {
        assert_eq!(build.get(key), runtime.get(key), "{key} differs");
        assert!(runtime.contains_key(key), "{key} missing from Leptos.toml");
    }
}
