//! How successful answers decode: both result shapes, unknown statuses, missing and extra
//! fields, the many forms of a deletion's result, and 2XX answers that break the contract.

mod common;

use cloudflare_stream::{DownloadStatus, DownloadType, Error, MAX_EXCERPT_BYTES};
use common::{Op, answer, client, video};
use httpmock::MockServer;

const K01_KEYED: &str = include_str!("fixtures/k01_keyed.json");
const K01_FLAT: &str = include_str!("fixtures/k01_flat.json");
const K02_QUEUED: &str = include_str!("fixtures/k02_queued.json");
const K03_NO_URL: &str = include_str!("fixtures/k03_no_url.json");
const K03_NULL_URL: &str = include_str!("fixtures/k03_null_url_extra_key.json");
const BOTH: &str = common::BOTH_DOWNLOADS;

const DEFAULT_MP4: &str = "https://customer-test123.cloudflarestream.com/fedcba9876543210fedcba9876543210/downloads/default.mp4";
const AUDIO_M4A: &str = "https://customer-test123.cloudflarestream.com/fedcba9876543210fedcba9876543210/downloads/audio.m4a";

fn contract(err: Error) -> Box<cloudflare_stream::ContractError> {
    match err {
        Error::Contract(c) => c,
        other => panic!("expected a contract error, got {other:?}"),
    }
}

// K01

#[tokio::test]
async fn keyed_create_result_gives_the_default_download() {
    for op in [Op::Create(DownloadType::Default), Op::CreateDefault] {
        let server = MockServer::start_async().await;
        let mock = answer(&server, op, 200, K01_KEYED).await;
        let client = client(&server);

        let download = match op {
            Op::CreateDefault => client.create_default_download(&video()).await,
            _ => {
                client
                    .create_download(&video(), DownloadType::Default)
                    .await
            }
        }
        .unwrap_or_else(|e| panic!("{op:?}: {e}"));

        assert_eq!(download.status(), &DownloadStatus::InProgress, "{op:?}");
        assert_eq!(download.percent_complete(), 75.0, "{op:?}");
        assert_eq!(download.url().map(|u| u.as_str()), Some(DEFAULT_MP4));
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn flat_create_result_gives_the_default_download() {
    for op in [Op::CreateDefault, Op::Create(DownloadType::Default)] {
        let server = MockServer::start_async().await;
        let mock = answer(&server, op, 200, K01_FLAT).await;
        let client = client(&server);

        let download = match op {
            Op::CreateDefault => client.create_default_download(&video()).await,
            _ => {
                client
                    .create_download(&video(), DownloadType::Default)
                    .await
            }
        }
        .unwrap_or_else(|e| panic!("{op:?}: {e}"));

        assert_eq!(download.status(), &DownloadStatus::Ready, "{op:?}");
        assert_eq!(download.percent_complete(), 0.0, "{op:?}");
        assert_eq!(download.url().map(|u| u.as_str()), Some(DEFAULT_MP4));
        mock.assert_calls_async(1).await;
    }
}

/// The flat shape is the `default` download; it is never taken for the audio one.
#[tokio::test]
async fn flat_result_is_not_taken_for_the_audio_download() {
    let op = Op::Create(DownloadType::Audio);
    let server = MockServer::start_async().await;
    answer(&server, op, 200, K01_FLAT).await;

    let err = client(&server)
        .create_download(&video(), DownloadType::Audio)
        .await
        .unwrap_err();

    let c = contract(err);
    assert_eq!(c.status(), 200);
    assert_eq!(c.field(), "result.audio");
    assert_eq!(c.value(), "missing");
    assert_eq!(c.body_excerpt(), K01_FLAT);
}

#[tokio::test]
async fn typed_create_returns_the_download_of_its_type() {
    let server = MockServer::start_async().await;
    answer(&server, Op::Create(DownloadType::Audio), 200, BOTH).await;

    let audio = client(&server)
        .create_download(&video(), DownloadType::Audio)
        .await
        .unwrap();

    assert_eq!(audio.status(), &DownloadStatus::InProgress);
    assert_eq!(audio.percent_complete(), 42.5);
    assert_eq!(audio.url().map(|u| u.as_str()), Some(AUDIO_M4A));
}

// K02

#[tokio::test]
async fn undocumented_status_is_kept_as_other() {
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, K02_QUEUED).await;

    let downloads = client(&server).list_downloads(&video()).await.unwrap();

    let download = downloads.default_download().expect("default is present");
    assert_eq!(
        download.status(),
        &DownloadStatus::Other("queued".to_owned())
    );
    assert_eq!(download.status().as_str(), "queued");
    assert_eq!(download.status().to_string(), "queued");
    assert!(!download.status().is_finished());
    assert_eq!(download.percent_complete(), 0.0);
    assert_eq!(download.url(), None);
    assert_eq!(downloads.audio(), None);
}

#[tokio::test]
async fn undocumented_status_decodes_on_create_too() {
    let server = MockServer::start_async().await;
    answer(&server, Op::CreateDefault, 200, K02_QUEUED).await;

    let download = client(&server)
        .create_default_download(&video())
        .await
        .unwrap();

    assert_eq!(
        download.status(),
        &DownloadStatus::Other("queued".to_owned())
    );
    assert_eq!(download.percent_complete(), 0.0);
}

// K03

#[tokio::test]
async fn absent_url_decodes_as_none() {
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, K03_NO_URL).await;

    let downloads = client(&server).list_downloads(&video()).await.unwrap();

    let download = downloads.get(DownloadType::Default).unwrap();
    assert_eq!(download.status(), &DownloadStatus::InProgress);
    assert_eq!(download.percent_complete(), 12.5);
    assert_eq!(download.url(), None);
}

#[tokio::test]
async fn null_url_and_extra_keys_decode() {
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, K03_NULL_URL).await;

    let downloads = client(&server).list_downloads(&video()).await.unwrap();

    let download = downloads.get(DownloadType::Default).unwrap();
    assert_eq!(download.status(), &DownloadStatus::Error);
    assert!(download.status().is_finished());
    assert_eq!(download.percent_complete(), 0.0);
    assert_eq!(download.url(), None);
}

#[tokio::test]
async fn extra_keys_in_the_envelope_and_result_decode() {
    let body = r#"{"result":{"default":{"status":"ready","percentComplete":100,"url":"https://videodelivery.net/fedcba9876543210fedcba9876543210/downloads/default.mp4","size":1234},"thumbnail":{"status":"ready"}},"success":true,"errors":[],"messages":[],"result_info":{"count":1}}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;

    let downloads = client(&server).list_downloads(&video()).await.unwrap();

    let download = downloads.default_download().unwrap();
    assert_eq!(download.status(), &DownloadStatus::Ready);
    assert_eq!(download.percent_complete(), 100.0);
    assert_eq!(
        download.url().map(|u| u.as_str()),
        Some("https://videodelivery.net/fedcba9876543210fedcba9876543210/downloads/default.mp4")
    );
    assert_eq!(downloads.audio(), None);
}

#[tokio::test]
async fn missing_messages_and_errors_decode() {
    let body = r#"{"result":{"default":{"status":"ready","percentComplete":100,"url":"https://customer-test123.cloudflarestream.com/v/downloads/default.mp4"}},"success":true,"messages":null}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;

    let downloads = client(&server).list_downloads(&video()).await.unwrap();

    assert_eq!(
        downloads.default_download().unwrap().status(),
        &DownloadStatus::Ready
    );
}

// Lists

#[tokio::test]
async fn list_with_both_downloads() {
    let server = MockServer::start_async().await;
    let mock = answer(&server, Op::List, 200, BOTH).await;

    let downloads = client(&server).list_downloads(&video()).await.unwrap();

    assert!(!downloads.is_empty());
    let default = downloads.default_download().unwrap();
    assert_eq!(default.status(), &DownloadStatus::Ready);
    assert_eq!(default.percent_complete(), 100.0);
    assert_eq!(default.url().map(|u| u.as_str()), Some(DEFAULT_MP4));
    let audio = downloads.audio().unwrap();
    assert_eq!(audio.status(), &DownloadStatus::InProgress);
    assert_eq!(audio.percent_complete(), 42.5);
    assert_eq!(audio.url().map(|u| u.as_str()), Some(AUDIO_M4A));
    assert_eq!(downloads.get(DownloadType::Audio), Some(audio));
    assert_eq!(downloads.get(DownloadType::Default), Some(default));
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn list_with_no_downloads_is_empty() {
    let body = r#"{"result":{},"success":true,"errors":[],"messages":[]}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;

    let downloads = client(&server).list_downloads(&video()).await.unwrap();

    assert!(downloads.is_empty());
    assert_eq!(downloads.default_download(), None);
    assert_eq!(downloads.audio(), None);
}

// K04

#[tokio::test]
async fn every_form_of_a_deletion_result_is_success() {
    let bodies = [
        r#"{"result":"ok","success":true,"errors":[],"messages":[]}"#,
        r#"{"result":null,"success":true,"errors":[],"messages":[]}"#,
        r#"{"success":true,"errors":[],"messages":[]}"#,
        r#"{"success":true,"errors":[],"messages":[],"result":{}}"#,
        r#"{"success":true}"#,
    ];
    for body in bodies {
        for op in [
            Op::DeleteDefault,
            Op::Delete(DownloadType::Default),
            Op::Delete(DownloadType::Audio),
        ] {
            let server = MockServer::start_async().await;
            let mock = answer(&server, op, 200, body).await;

            let result = op.call(&client(&server), &video()).await;

            assert!(result.is_ok(), "{op:?} answered {body}: {result:?}");
            mock.assert_calls_async(1).await;
        }
    }
}

// K05

#[tokio::test]
async fn percent_complete_out_of_range_is_a_contract_error() {
    for value in ["150", "-3", "100.5", "-0.01"] {
        let body = format!(
            r#"{{"result":{{"default":{{"status":"inprogress","percentComplete":{value}}}}},"success":true,"errors":[],"messages":[]}}"#
        );
        for op in [
            Op::List,
            Op::Create(DownloadType::Default),
            Op::CreateDefault,
        ] {
            let server = MockServer::start_async().await;
            answer(&server, op, 200, &body).await;

            let err = op.call(&client(&server), &video()).await.unwrap_err();

            assert!(!err.is_retryable());
            assert_eq!(err.status(), Some(200));
            let c = contract(err);
            assert_eq!(c.field(), "result.default.percentComplete", "{op:?}");
            assert_eq!(c.value(), value, "{op:?}");
            assert_eq!(c.body_excerpt(), body, "{op:?}");
            let shown = c.to_string();
            assert!(shown.contains("result.default.percentComplete"), "{shown}");
            assert!(shown.contains(value), "{shown}");
        }
    }
}

#[tokio::test]
async fn out_of_range_audio_is_named_as_audio() {
    let body = r#"{"result":{"default":{"status":"inprogress","percentComplete":100},"audio":{"status":"inprogress","percentComplete":-3}},"success":true,"errors":[],"messages":[]}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;

    let c = contract(client(&server).list_downloads(&video()).await.unwrap_err());

    assert_eq!(c.field(), "result.audio.percentComplete");
    assert_eq!(c.value(), "-3");
    assert_eq!(c.body_excerpt(), body);
}

#[tokio::test]
async fn out_of_range_in_the_flat_shape_is_a_contract_error() {
    let body = r#"{"result":{"percentComplete":150,"status":"inprogress"},"success":true,"errors":[],"messages":[]}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::CreateDefault, 200, body).await;

    let c = contract(
        client(&server)
            .create_default_download(&video())
            .await
            .unwrap_err(),
    );

    assert!(c.field().ends_with(".percentComplete"), "{}", c.field());
    assert_eq!(c.value(), "150");
    assert_eq!(c.body_excerpt(), body);
}

#[tokio::test]
async fn url_that_is_not_absolute_is_a_contract_error() {
    for value in [
        "not a uri",
        "/fedcba9876543210fedcba9876543210/downloads/default.mp4",
        "downloads/default.mp4",
        "",
        "mailto:dev@example.test",
    ] {
        let body = format!(
            r#"{{"result":{{"default":{{"status":"ready","percentComplete":100,"url":"{value}"}}}},"success":true,"errors":[],"messages":[]}}"#
        );
        for op in [
            Op::List,
            Op::Create(DownloadType::Default),
            Op::CreateDefault,
        ] {
            let server = MockServer::start_async().await;
            answer(&server, op, 200, &body).await;

            let err = op.call(&client(&server), &video()).await.unwrap_err();

            let c = contract(err);
            assert_eq!(c.status(), 200);
            assert_eq!(c.field(), "result.default.url", "{op:?} {value:?}");
            assert_eq!(c.value(), value, "{op:?}");
            assert_eq!(c.body_excerpt(), body, "{op:?}");
        }
    }
}

#[tokio::test]
async fn contract_error_keeps_a_bounded_excerpt_of_a_long_body() {
    let padding = "x".repeat(4 * MAX_EXCERPT_BYTES);
    let body = format!(
        r#"{{"result":{{"default":{{"status":"ready","percentComplete":150}}}},"success":true,"errors":[],"messages":[],"padding":"{padding}"}}"#
    );
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, &body).await;

    let c = contract(client(&server).list_downloads(&video()).await.unwrap_err());

    assert_eq!(c.value(), "150");
    let excerpt = c.body_excerpt();
    assert!(
        excerpt.len() <= MAX_EXCERPT_BYTES + '…'.len_utf8(),
        "{}",
        excerpt.len()
    );
    assert!(excerpt.ends_with('…'));
    assert!(body.starts_with(excerpt.trim_end_matches('…')));
}

#[tokio::test]
async fn wrongly_typed_fields_are_contract_errors_not_panics() {
    let bodies = [
        r#"{"result":{"default":{"status":"ready","percentComplete":"100"}},"success":true}"#,
        r#"{"result":{"default":{"status":7,"percentComplete":100}},"success":true}"#,
        r#"{"result":[],"success":true}"#,
        r#"{"success":true}"#,
        r#"[]"#,
        "not json",
    ];
    for body in bodies {
        let server = MockServer::start_async().await;
        answer(&server, Op::List, 200, body).await;

        let err = client(&server).list_downloads(&video()).await.unwrap_err();

        let c = contract(err);
        assert_eq!(c.status(), 200, "{body}");
        assert_eq!(c.field(), "body", "{body}");
        assert_eq!(c.value(), "not the expected envelope", "{body}");
        assert_eq!(c.body_excerpt(), body);
    }
}

// K07

#[tokio::test]
async fn any_2xx_with_a_good_body_is_success() {
    for status in [201, 202] {
        let server = MockServer::start_async().await;
        let mock = answer(
            &server,
            Op::Create(DownloadType::Default),
            status,
            K01_KEYED,
        )
        .await;

        let download = client(&server)
            .create_download(&video(), DownloadType::Default)
            .await
            .unwrap_or_else(|e| panic!("HTTP {status}: {e}"));

        assert_eq!(download.status(), &DownloadStatus::InProgress);
        assert_eq!(download.percent_complete(), 75.0);
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn created_flat_result_and_accepted_deletion_are_success() {
    let server = MockServer::start_async().await;
    answer(&server, Op::CreateDefault, 201, K01_FLAT).await;
    let download = client(&server)
        .create_default_download(&video())
        .await
        .unwrap();
    assert_eq!(download.status(), &DownloadStatus::Ready);

    let ok = r#"{"result":"ok","success":true,"errors":[],"messages":[]}"#;
    let server = MockServer::start_async().await;
    let mock = answer(&server, Op::Delete(DownloadType::Audio), 202, ok).await;
    client(&server)
        .delete_download(&video(), DownloadType::Audio)
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
}

/// Codes below the schema's minimum, and codes sent as a whole float or a numeric string,
/// all decode to their number.
#[tokio::test]
async fn error_codes_decode_whatever_their_form() {
    let body = r#"{"success":false,"errors":[{"code":971,"message":"a"},{"code":10000.0,"message":"b"},{"code":"9109","message":"c"}],"messages":[],"result":null}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 403, body).await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();
    let api = err.api_error().expect("an API error");
    assert_eq!(api.codes().collect::<Vec<_>>(), [971, 10000, 9109]);
}
