//! What the caller hands in: ids that would change a request's route, malformed
//! credentials and configuration, and secrets that must never show in `Debug` or `Display`.

mod common;

use cloudflare_stream::{
    AccountId, Client, ConfigError, Credentials, DownloadType, Error, IdProblem, InvalidId,
    RetryPolicy, VideoId,
};
use common::{
    ACCOUNT, EMAIL, GLOBAL_KEY, Op, SERVICE_KEY, TOKEN, VIDEO, answer, api_root, catch_all, client,
    client_for, token, video,
};
use httpmock::MockServer;

// K13

/// Each malformed id of K13 (and a few of the same kind), with the problem it must be
/// reported as.
fn bad_ids() -> Vec<(String, IdProblem)> {
    use IdProblem::{Empty, InvalidChar, TooLong};
    vec![
        (
            "fedcba98/../../x".into(),
            InvalidChar {
                ch: '/',
                position: 8,
            },
        ),
        (
            "..".into(),
            InvalidChar {
                ch: '.',
                position: 0,
            },
        ),
        (
            ".".into(),
            InvalidChar {
                ch: '.',
                position: 0,
            },
        ),
        (
            "a\\b".into(),
            InvalidChar {
                ch: '\\',
                position: 1,
            },
        ),
        (format!("{VIDEO}f"), TooLong { len: 33 }),
        ("".into(), Empty),
        (
            "0123?x=1".into(),
            InvalidChar {
                ch: '?',
                position: 4,
            },
        ),
        (
            "%2e%2e".into(),
            InvalidChar {
                ch: '%',
                position: 0,
            },
        ),
        (
            "fedcba98#x".into(),
            InvalidChar {
                ch: '#',
                position: 8,
            },
        ),
        (
            "fedcba98 x".into(),
            InvalidChar {
                ch: ' ',
                position: 8,
            },
        ),
        (
            "fedcba98\n".into(),
            InvalidChar {
                ch: '\n',
                position: 8,
            },
        ),
        (
            "ｆedcba98".into(),
            InvalidChar {
                ch: 'ｆ',
                position: 0,
            },
        ),
        ("a".repeat(100), TooLong { len: 100 }),
    ]
}

fn assert_names_argument_and_reason(err: &InvalidId, argument: &str, problem: &IdProblem) {
    assert_eq!(err.argument(), argument);
    assert_eq!(err.problem(), problem);
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("invalid {argument}: ")),
        "{shown}"
    );
    assert!(shown.ends_with(&problem.to_string()), "{shown}");
    // The same text once wrapped in the crate's error.
    assert_eq!(Error::from(err.clone()).to_string(), shown);
}

#[test]
fn malformed_video_ids_are_rejected_naming_the_argument_and_reason() {
    for (input, problem) in bad_ids() {
        let err = VideoId::new(&input).unwrap_err();
        assert_names_argument_and_reason(&err, "video id", &problem);
        assert_eq!(input.parse::<VideoId>().unwrap_err(), err, "{input:?}");
        assert_eq!(VideoId::try_from(input.as_str()).unwrap_err(), err);
        assert_eq!(VideoId::try_from(input.clone()).unwrap_err(), err);
        let json = serde_json::to_string(&input).unwrap();
        let serde_err = serde_json::from_str::<VideoId>(&json).unwrap_err();
        assert!(
            serde_err.to_string().contains(&err.to_string()),
            "{serde_err}"
        );
    }
}

#[test]
fn malformed_account_ids_are_rejected_naming_the_argument_and_reason() {
    for (input, problem) in bad_ids() {
        let err = AccountId::new(&input).unwrap_err();
        assert_names_argument_and_reason(&err, "account id", &problem);
        assert_eq!(input.parse::<AccountId>().unwrap_err(), err, "{input:?}");
    }
    let err = AccountId::new("0123?x=1").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid account id: character 4 is '?'; only ASCII letters and digits are allowed"
    );
}

#[test]
fn reasons_read_as_documented() {
    assert_eq!(
        VideoId::new("").unwrap_err().to_string(),
        "invalid video id: it is empty"
    );
    assert_eq!(
        VideoId::new(&format!("{VIDEO}f")).unwrap_err().to_string(),
        "invalid video id: it has 33 characters, more than 32"
    );
    assert_eq!(
        VideoId::new("fedcba98/../../x").unwrap_err().to_string(),
        "invalid video id: character 8 is '/'; only ASCII letters and digits are allowed"
    );
}

#[test]
fn real_ids_are_accepted_unchanged() {
    for id in [
        VIDEO,
        ACCOUNT,
        "ea95132c15732412d22c1476fa83f27a",
        "A",
        "Z9",
    ] {
        assert_eq!(VideoId::new(id).unwrap().as_str(), id);
        assert_eq!(AccountId::new(id).unwrap().to_string(), id);
    }
}

/// A bad id cannot become a `VideoId`, so no operation can be called with it: the server
/// sees nothing. The valid id beside them proves the server would have counted a request.
#[tokio::test]
async fn malformed_ids_never_reach_the_server() {
    let server = MockServer::start_async().await;
    let any = catch_all(&server).await;
    let client = client(&server);

    for (input, _) in bad_ids() {
        for op in Op::ALL {
            if let Ok(video) = VideoId::new(&input) {
                let _ = op.call(&client, &video).await;
            }
        }
    }
    any.assert_calls_async(0).await;

    let err = client.list_downloads(&video()).await.unwrap_err();
    assert_eq!(err.status(), Some(599));
    any.assert_calls_async(1).await;
}

// Credentials and configuration

#[test]
fn malformed_credentials_are_config_errors() {
    let cases: Vec<(Result<Credentials, ConfigError>, &str)> = vec![
        (Credentials::api_token(""), "the API token is empty"),
        (
            Credentials::api_token(" "),
            "the API token contains whitespace",
        ),
        (
            Credentials::api_token("TEST TOKEN"),
            "the API token contains whitespace",
        ),
        (
            Credentials::api_token("TEST_TOKEN\n"),
            "the API token contains whitespace",
        ),
        (
            Credentials::api_token("TEST_TOKEN\r\nX-Injected: 1"),
            "the API token contains whitespace",
        ),
        (
            Credentials::api_token("TEST\u{7}TOKEN"),
            "the API token contains a control character",
        ),
        (
            Credentials::api_token("TEST\0TOKEN"),
            "the API token contains a control character",
        ),
        (
            Credentials::api_token("TEST_TOKEN\u{7f}"),
            "the API token contains a control character",
        ),
        (
            Credentials::api_token("TÉST_TOKEN"),
            "the API token contains a non-ASCII character",
        ),
        (Credentials::global_key(EMAIL, ""), "the API key is empty"),
        (
            Credentials::global_key("", GLOBAL_KEY),
            "the email is empty",
        ),
        (
            Credentials::global_key("dev", GLOBAL_KEY),
            "the email has no '@'",
        ),
        (
            Credentials::global_key(EMAIL, "TEST GLOBAL KEY"),
            "the API key contains whitespace",
        ),
        (
            Credentials::global_key("dev@example.test\n", GLOBAL_KEY),
            "the email contains whitespace",
        ),
        (
            Credentials::user_service_key(""),
            "the user service key is empty",
        ),
        (
            Credentials::user_service_key("v1.0-\u{1b}[31m"),
            "the user service key contains a control character",
        ),
    ];
    for (result, reason) in cases {
        let err = result.unwrap_err();
        assert_eq!(err.to_string(), format!("invalid configuration: {reason}"));
        assert_eq!(
            Error::from(err).to_string(),
            format!("invalid configuration: {reason}")
        );
    }
}

#[test]
fn config_errors_never_echo_the_credential() {
    for err in [
        Credentials::api_token("SECRET TOKEN").unwrap_err(),
        Credentials::api_token("SECRET\u{7}TOKEN").unwrap_err(),
        Credentials::global_key(EMAIL, "SECRET KEY").unwrap_err(),
        Credentials::user_service_key("SECRET\tKEY").unwrap_err(),
    ] {
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(!format!("{err:?}").contains("SECRET"), "{err:?}");
    }
}

#[tokio::test]
async fn the_builder_needs_credentials_and_an_account() {
    let server = MockServer::start_async().await;
    let root = api_root(&server);

    let no_credentials = Client::builder()
        .account_id(common::account())
        .base_url(&root)
        .build()
        .unwrap_err();
    let no_account = Client::builder()
        .credentials(token())
        .base_url(&root)
        .build()
        .unwrap_err();

    assert!(matches!(no_credentials, Error::Config(_)));
    assert_eq!(
        no_credentials.to_string(),
        "invalid configuration: no credentials were given"
    );
    assert!(matches!(no_account, Error::Config(_)));
    assert_eq!(
        no_account.to_string(),
        "invalid configuration: no account id was given"
    );
}

#[tokio::test]
async fn unusable_base_urls_are_config_errors_that_do_not_echo_them() {
    let server = MockServer::start_async().await;
    let addr = server.address();
    for (url, reason) in [
        (
            format!("http://user:SECRET@{addr}/client/v4"),
            "the base URL must not contain user info",
        ),
        (
            format!("ftp://{addr}/client/v4"),
            "the base URL is not an http or https URL",
        ),
        (
            format!("http://{addr}/client/v4?key=SECRET"),
            "the base URL must not have a query or fragment",
        ),
        (
            format!("http://{addr}/client/v4#SECRET"),
            "the base URL must not have a query or fragment",
        ),
    ] {
        let err = Client::builder()
            .credentials(token())
            .account_id(common::account())
            .base_url(&url)
            .build()
            .unwrap_err();

        assert!(matches!(err, Error::Config(_)), "{url}: {err:?}");
        assert_eq!(err.to_string(), format!("invalid configuration: {reason}"));
        assert!(!format!("{err:?}").contains("SECRET"));
    }
}

#[tokio::test]
async fn a_trailing_slash_on_the_base_url_is_ignored() {
    let server = MockServer::start_async().await;
    let mock = answer(&server, Op::List, 200, common::BOTH_DOWNLOADS).await;
    let root = format!("{}/", api_root(&server));

    let client = client_for(&root, token(), RetryPolicy::none());

    assert_eq!(client.base_url(), api_root(&server));
    assert_eq!(client.account_id().as_str(), ACCOUNT);
    client.list_downloads(&video()).await.unwrap();
    mock.assert_calls_async(1).await;
}

// Secrets

#[test]
fn debug_of_credentials_hides_the_secret() {
    for (credentials, shown, secret) in [
        (
            Credentials::api_token(TOKEN).unwrap(),
            "Credentials::ApiToken(<redacted>)",
            TOKEN,
        ),
        (
            Credentials::global_key(EMAIL, GLOBAL_KEY).unwrap(),
            "Credentials::GlobalKey(<redacted>)",
            GLOBAL_KEY,
        ),
        (
            Credentials::user_service_key(SERVICE_KEY).unwrap(),
            "Credentials::UserServiceKey(<redacted>)",
            SERVICE_KEY,
        ),
    ] {
        assert_eq!(format!("{credentials:?}"), shown);
        assert_eq!(format!("{credentials:#?}"), shown);
        assert!(!format!("{:?}", credentials.clone()).contains(secret));
    }
}

#[tokio::test]
async fn debug_of_client_and_builder_hides_the_secret() {
    let server = MockServer::start_async().await;
    for (credentials, secret) in [
        (Credentials::api_token(TOKEN).unwrap(), TOKEN),
        (
            Credentials::global_key(EMAIL, GLOBAL_KEY).unwrap(),
            GLOBAL_KEY,
        ),
        (
            Credentials::user_service_key(SERVICE_KEY).unwrap(),
            SERVICE_KEY,
        ),
    ] {
        let builder = Client::builder()
            .credentials(credentials.clone())
            .account_id(common::account())
            .base_url(api_root(&server));
        let builder_debug = format!("{builder:?}");
        let client = client_for(&api_root(&server), credentials, RetryPolicy::none());
        let client_debug = format!("{client:?} {client:#?}");

        for debug in [&builder_debug, &client_debug] {
            assert!(!debug.contains(secret), "{debug}");
            assert!(debug.contains("<redacted>"), "{debug}");
            assert!(debug.contains(ACCOUNT), "{debug}");
        }
        assert!(client_debug.contains(&api_root(&server)), "{client_debug}");
    }
}

/// The credentials of each scheme, the secret among them, and a text a careless server
/// might echo it in.
fn schemes() -> [(Credentials, &'static str); 3] {
    [
        (Credentials::api_token(TOKEN).unwrap(), TOKEN),
        (
            Credentials::global_key(EMAIL, GLOBAL_KEY).unwrap(),
            GLOBAL_KEY,
        ),
        (
            Credentials::user_service_key(SERVICE_KEY).unwrap(),
            SERVICE_KEY,
        ),
    ]
}

fn assert_hidden(err: &Error, secret: &str) {
    let debug = format!("{err:?}");
    let shown = err.to_string();
    assert!(!debug.contains(secret), "{debug}");
    assert!(!shown.contains(secret), "{shown}");
}

#[tokio::test]
async fn secrets_echoed_in_failures_are_redacted() {
    for (credentials, secret) in schemes() {
        let envelope = format!(
            r#"{{"success":false,"errors":[{{"code":10000,"message":"key {secret} is not valid"}}],"messages":[{{"code":1,"message":"sent {secret}"}}]}}"#
        );
        let html = format!("<html><body>request header: {secret}</body></html>");
        let not_envelope = format!(r#"{{"echo":"{secret}"}}"#);
        for (status, body) in [
            (403, envelope.as_str()),
            (200, envelope.as_str()),
            (502, html.as_str()),
            (500, not_envelope.as_str()),
            (200, not_envelope.as_str()),
        ] {
            let server = MockServer::start_async().await;
            answer(&server, Op::List, status, body).await;
            let client = client_for(&api_root(&server), credentials.clone(), RetryPolicy::none());

            let err = client.list_downloads(&video()).await.unwrap_err();

            assert_hidden(&err, secret);
            let debug = format!("{err:?}");
            assert!(debug.contains("[redacted]"), "{status}: {debug}");
        }
    }
}

/// The optional fields of a message are server text like the message itself.
#[tokio::test]
async fn secrets_echoed_in_message_details_are_redacted() {
    for (credentials, secret) in schemes() {
        let body = format!(
            r#"{{"success":false,"errors":[{{"code":10000,"message":"denied","documentation_url":"https://example.test/{secret}","source":{{"pointer":"/{secret}"}}}}]}}"#
        );
        let server = MockServer::start_async().await;
        answer(&server, Op::List, 403, &body).await;
        let client = client_for(&api_root(&server), credentials.clone(), RetryPolicy::none());

        let err = client.list_downloads(&video()).await.unwrap_err();

        let e = err.api_error().expect("an API error");
        assert_eq!(
            e.errors()[0].documentation_url.as_deref(),
            Some("https://example.test/[redacted]")
        );
        assert_eq!(e.errors()[0].source_pointer.as_deref(), Some("/[redacted]"));
        assert_hidden(&err, secret);
    }
}

/// A 2XX answer that breaks the contract keeps the offending value and a body excerpt;
/// neither may carry a secret the server echoed.
#[tokio::test]
async fn secrets_echoed_in_contract_violations_are_redacted() {
    for (credentials, secret) in schemes() {
        let bodies = [
            format!(
                r#"{{"result":{{"default":{{"status":"ready","percentComplete":150}}}},"success":true,"echo":"{secret}"}}"#
            ),
            format!(
                r#"{{"result":{{"default":{{"status":"ready","percentComplete":100,"url":"/{secret}"}}}},"success":true}}"#
            ),
        ];
        for body in &bodies {
            let server = MockServer::start_async().await;
            answer(&server, Op::List, 200, body).await;
            let client = client_for(&api_root(&server), credentials.clone(), RetryPolicy::none());

            let err = client.list_downloads(&video()).await.unwrap_err();

            let Error::Contract(c) = &err else {
                panic!("expected a contract error, got {err:?}")
            };
            assert!(!c.value().contains(secret), "{}", c.value());
            assert!(!c.body_excerpt().contains(secret), "{}", c.body_excerpt());
            assert_hidden(&err, secret);
        }
    }
}

#[tokio::test]
async fn transport_errors_carry_no_secret() {
    // A port that was just free: nothing listens there, so the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);

    for (credentials, secret) in schemes() {
        let client = client_for(
            &format!("http://{addr}/client/v4"),
            credentials,
            RetryPolicy::none(),
        );

        let err = client
            .create_download(&video(), DownloadType::Audio)
            .await
            .unwrap_err();

        let Error::Transport(t) = &err else {
            panic!("expected a transport error, got {err:?}")
        };
        assert_eq!(t.kind(), cloudflare_stream::TransportKind::Connect);
        assert!(err.is_retryable());
        assert_hidden(&err, secret);
    }
}
