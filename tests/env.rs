//! `Client::from_env`: the variables Cloudflare's tools use, read from the process
//! environment.
//!
//! Changing the environment while another thread reads it is undefined behaviour, so these
//! tests live in a binary of their own and each holds one lock for its whole body: every
//! read of the environment in this process (the client's included) happens under it.

mod common;

use std::sync::{Mutex, MutexGuard};

use cloudflare_stream::{Client, Error, IdProblem};
use common::{ACCOUNT, EMAIL, Op, TOKEN, api_root, video};
use httpmock::MockServer;

static ENV: Mutex<()> = Mutex::new(());

const VARIABLES: [&str; 6] = [
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_EMAIL",
    "CLOUDFLARE_API_KEY",
    "CLOUDFLARE_API_USER_SERVICE_KEY",
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_BASE_URL",
];

/// Takes the lock every test holds for its whole body.
fn lock() -> MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sets exactly the given Cloudflare variables, clearing the others. The base URL is always
/// set, so no client built here can aim anywhere but the local server.
fn set_environment(_lock: &MutexGuard<'static, ()>, base_url: &str, pairs: &[(&str, &str)]) {
    for name in VARIABLES {
        // SAFETY: every test of this binary holds `ENV` for its whole body, so no other
        // thread of this process reads or writes the environment meanwhile.
        unsafe { std::env::remove_var(name) };
    }
    // SAFETY: as above.
    unsafe { std::env::set_var("CLOUDFLARE_BASE_URL", base_url) };
    for (name, value) in pairs {
        // SAFETY: as above.
        unsafe { std::env::set_var(name, value) };
    }
}

#[test]
fn bad_account_id_in_the_environment_is_rejected_before_any_request() {
    let env = lock();
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(599);
    });
    set_environment(
        &env,
        &api_root(&server),
        &[
            ("CLOUDFLARE_API_TOKEN", TOKEN),
            ("CLOUDFLARE_ACCOUNT_ID", "0123?x=1"),
        ],
    );

    let err = Client::from_env().unwrap_err();

    let Error::InvalidId(invalid) = &err else {
        panic!("expected an invalid id, got {err:?}")
    };
    assert_eq!(invalid.argument(), "account id");
    assert_eq!(
        invalid.problem(),
        &IdProblem::InvalidChar {
            ch: '?',
            position: 4
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid account id: character 4 is '?'; only ASCII letters and digits are allowed"
    );
    any.assert_calls(0);
}

#[test]
fn missing_account_id_is_a_config_error() {
    let env = lock();
    let server = MockServer::start();
    set_environment(&env, &api_root(&server), &[("CLOUDFLARE_API_TOKEN", TOKEN)]);

    let err = Client::from_env().unwrap_err();

    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid configuration: CLOUDFLARE_ACCOUNT_ID is not set"
    );
}

#[test]
fn email_without_key_is_a_config_error() {
    let env = lock();
    let server = MockServer::start();
    set_environment(
        &env,
        &api_root(&server),
        &[
            ("CLOUDFLARE_EMAIL", EMAIL),
            ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT),
        ],
    );

    let err = Client::from_env().unwrap_err();

    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid configuration: CLOUDFLARE_EMAIL is set but CLOUDFLARE_API_KEY is not"
    );
}

#[test]
fn malformed_token_is_named_by_its_variable_and_not_echoed() {
    let env = lock();
    let server = MockServer::start();
    set_environment(
        &env,
        &api_root(&server),
        &[
            ("CLOUDFLARE_API_TOKEN", "SECRET TOKEN"),
            ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT),
        ],
    );

    let err = Client::from_env().unwrap_err();

    assert_eq!(
        err.to_string(),
        "invalid configuration: CLOUDFLARE_API_TOKEN: the API token contains whitespace"
    );
    assert!(!format!("{err:?}").contains("SECRET"));
}

#[test]
fn no_credentials_is_a_config_error() {
    let env = lock();
    let server = MockServer::start();
    set_environment(
        &env,
        &api_root(&server),
        &[("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)],
    );

    let err = Client::from_env().unwrap_err();

    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("invalid configuration: no credentials"),
        "{err}"
    );
}

#[test]
fn a_complete_environment_gives_a_working_client() {
    let env = lock();
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(Op::List.method())
            .path(Op::List.path())
            .header("authorization", "Bearer TEST_TOKEN");
        then.status(200).body(common::BOTH_DOWNLOADS);
    });
    set_environment(
        &env,
        &api_root(&server),
        &[
            ("CLOUDFLARE_API_TOKEN", TOKEN),
            ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT),
        ],
    );

    let client = Client::from_env().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let downloads = runtime.block_on(client.list_downloads(&video())).unwrap();

    assert_eq!(client.base_url(), api_root(&server));
    assert_eq!(client.account_id().as_str(), ACCOUNT);
    assert!(downloads.audio().is_some());
    mock.assert_calls(1);
}
