//! Generates the HTTP client from `spec/stream-downloads.json` with progenitor.
//!
//! The output goes to `$OUT_DIR/generated.rs` and is included by `src/generated.rs`; it is
//! never checked in. Editing the spec and running `cargo build` regenerates it.

use std::{env, fs, path::Path, process::ExitCode};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};

const SPEC: &str = "spec/stream-downloads.json";

/// Schemas whose generated type is replaced by a hand-written one, because the
/// hand-written type enforces what the generator drops (patterns) or accepts what real
/// answers send beyond the schema (unknown states, codes sent as strings).
const REPLACEMENTS: &[(&str, &str, &[TypeImpl])] = &[
    (
        "AccountId",
        "crate::ids::AccountId",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
    (
        "VideoId",
        "crate::ids::VideoId",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
    (
        "DownloadType",
        "crate::download::DownloadType",
        &[TypeImpl::Display, TypeImpl::FromStr, TypeImpl::Default],
    ),
    (
        "DownloadStatus",
        "crate::download::DownloadStatus",
        &[TypeImpl::Display],
    ),
    ("ErrorCode", "crate::error::ErrorCode", &[]),
];

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    match generate() {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: cannot generate the client from {SPEC}: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn generate() -> Result<(), String> {
    let text = fs::read_to_string(SPEC).map_err(|e| format!("cannot read it: {e}"))?;
    let spec: openapiv3::OpenAPI =
        serde_json::from_str(&text).map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        .with_inner_type(
            "crate::transport::Exchange"
                .parse()
                .map_err(|e| format!("{e}"))?,
        )
        // The transport (timeouts, body limit, credentials) lives in our own hooks.
        .with_hooks(HooksMode::Expected);
    for (schema, rust_type, impls) in REPLACEMENTS {
        settings.with_replacement(schema, rust_type, impls.iter().copied());
    }

    let tokens = Generator::new(&settings)
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor rejected it: {e}"))?;
    let file = syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    let code = prettyplease::unparse(&file);

    let out = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?;
    fs::write(Path::new(&out).join("generated.rs"), code)
        .map_err(|e| format!("cannot write the generated code: {e}"))
}
