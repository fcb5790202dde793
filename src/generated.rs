//! The client progenitor generates from `spec/stream-downloads.json` at build time. Private:
//! only the facade calls it, and none of its types reach a caller.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    unused_imports,
    private_interfaces,
    clippy::all,
    clippy::pedantic
)]

include!(concat!(env!("OUT_DIR"), "/generated.rs"));
