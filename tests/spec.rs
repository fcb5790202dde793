//! Binds the facade to `spec/stream-downloads.json`: the operations, their routes, the id
//! limits and the enums the spec declares must be exactly what the facade implements and
//! sends. An edit to one side without the other fails here.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use cloudflare_stream::{DownloadStatus, DownloadType, MAX_ID_LEN};
use common::{ACCOUNT, BOTH_DOWNLOADS, Op, VIDEO, catch_all, client, video};
use httpmock::MockServer;
use serde_json::Value;

const SPEC: &str = include_str!("../spec/stream-downloads.json");

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("the spec is JSON")
}

/// One operation as the spec declares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SpecOp {
    method: String,
    template: String,
    operation_id: String,
}

fn operations(spec: &Value) -> Vec<SpecOp> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut ops = Vec::new();
    for (template, item) in spec["paths"].as_object().expect("paths is an object") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push(SpecOp {
                    method: method.to_ascii_uppercase(),
                    template: template.clone(),
                    operation_id: op["operationId"]
                        .as_str()
                        .expect("every operation has an operationId")
                        .to_owned(),
                });
            }
        }
    }
    ops.sort();
    ops
}

/// The facade method that implements each operation id, as calls for each value of
/// `{download_type}` the route takes.
fn facade_calls(operation_id: &str) -> Vec<Op> {
    match operation_id {
        "list_downloads" => vec![Op::List],
        "create_download" => vec![Op::CreateDefault],
        "delete_download" => vec![Op::DeleteDefault],
        "create_typed_download" => DownloadType::ALL.map(Op::Create).to_vec(),
        "delete_typed_download" => DownloadType::ALL.map(Op::Delete).to_vec(),
        other => panic!("the facade implements no operation {other}"),
    }
}

/// The path of the server URL the spec declares, such as `/client/v4`.
fn server_path(spec: &Value) -> String {
    let url = spec["servers"][0]["url"].as_str().expect("a server URL");
    let url = url::Url::parse(url).expect("the server URL parses");
    url.path().trim_end_matches('/').to_owned()
}

fn expand(template: &str, download_type: Option<DownloadType>) -> String {
    let path = template
        .replace("{account_id}", ACCOUNT)
        .replace("{identifier}", VIDEO);
    match download_type {
        Some(t) => path.replace("{download_type}", t.as_str()),
        None => {
            assert!(!path.contains('{'), "unexpanded parameter in {path}");
            path
        }
    }
}

#[test]
fn the_spec_declares_exactly_the_five_operations() {
    let spec = spec();
    let expected = [
        (
            "DELETE",
            "/accounts/{account_id}/stream/{identifier}/downloads",
            "delete_download",
        ),
        (
            "DELETE",
            "/accounts/{account_id}/stream/{identifier}/downloads/{download_type}",
            "delete_typed_download",
        ),
        (
            "GET",
            "/accounts/{account_id}/stream/{identifier}/downloads",
            "list_downloads",
        ),
        (
            "POST",
            "/accounts/{account_id}/stream/{identifier}/downloads",
            "create_download",
        ),
        (
            "POST",
            "/accounts/{account_id}/stream/{identifier}/downloads/{download_type}",
            "create_typed_download",
        ),
    ]
    .map(|(method, template, id)| SpecOp {
        method: method.to_owned(),
        template: template.to_owned(),
        operation_id: id.to_owned(),
    });

    assert_eq!(operations(&spec), expected);
    assert_eq!(server_path(&spec), "/client/v4");
    assert_eq!(
        spec["servers"][0]["url"],
        cloudflare_stream::DEFAULT_BASE_URL
    );
}

#[test]
fn every_operation_declares_200_and_4xx_and_the_posts_an_empty_json_body() {
    let spec = spec();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let responses: BTreeSet<&str> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                responses,
                BTreeSet::from(["200", "4XX"]),
                "{method} {template}"
            );
            let body = &op["requestBody"];
            if method == "post" {
                assert_eq!(body["required"], true, "{template}");
                assert_eq!(
                    body["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/EmptyBody"
                );
            } else {
                assert!(body.is_null(), "{method} {template} has no body");
            }
        }
    }
    let empty = &spec["components"]["schemas"]["EmptyBody"];
    assert_eq!(empty["type"], "object");
    assert_eq!(empty["additionalProperties"], false);
    assert_eq!(empty["properties"], serde_json::json!({}));
}

/// Each spec operation, called through the facade, hits the route the spec declares and
/// nothing else.
#[tokio::test]
async fn each_facade_method_requests_the_route_the_spec_declares() {
    let spec = spec();
    let root = server_path(&spec);
    for op in operations(&spec) {
        for call in facade_calls(&op.operation_id) {
            let download_type = match call {
                Op::Create(t) | Op::Delete(t) => Some(t),
                _ => None,
            };
            let path = format!("{root}{}", expand(&op.template, download_type));
            let server = MockServer::start_async().await;
            let route = server
                .mock_async(|when, then| {
                    when.method(op.method.as_str()).path(path.as_str());
                    then.status(200)
                        .header("content-type", "application/json")
                        .body(BOTH_DOWNLOADS);
                })
                .await;
            let any = catch_all(&server).await;

            call.call(&client(&server), &video())
                .await
                .unwrap_or_else(|e| panic!("{op:?} via {call:?}: {e}"));

            route.assert_calls_async(1).await;
            any.assert_calls_async(0).await;
            // The tests' own table of routes agrees with the spec.
            assert_eq!(call.path(), path, "{op:?}");
            assert_eq!(call.method().to_string(), op.method, "{op:?}");
        }
    }
}

#[test]
fn id_schemas_match_the_id_types() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    for name in ["AccountId", "VideoId"] {
        let schema = &schemas[name];
        assert_eq!(schema["type"], "string", "{name}");
        assert_eq!(
            schema["maxLength"].as_u64(),
            Some(MAX_ID_LEN as u64),
            "{name}"
        );
        assert_eq!(
            schema["pattern"],
            format!("^[0-9A-Za-z]{{1,{MAX_ID_LEN}}}$"),
            "{name}"
        );
        let example = schema["example"].as_str().unwrap();
        assert_eq!(example.len(), MAX_ID_LEN, "{name}");
    }
    assert!(
        cloudflare_stream::AccountId::new(schemas["AccountId"]["example"].as_str().unwrap())
            .is_ok()
    );
    assert!(
        cloudflare_stream::VideoId::new(schemas["VideoId"]["example"].as_str().unwrap()).is_ok()
    );

    // Both paths take the ids through these schemas.
    for (template, item) in spec["paths"].as_object().unwrap() {
        let params: BTreeMap<&str, &str> = item["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert_eq!(p["in"], "path");
                assert_eq!(p["required"], true);
                (
                    p["name"].as_str().unwrap(),
                    p["schema"]["$ref"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            params["account_id"], "#/components/schemas/AccountId",
            "{template}"
        );
        assert_eq!(
            params["identifier"], "#/components/schemas/VideoId",
            "{template}"
        );
        if template.ends_with("{download_type}") {
            assert_eq!(params["download_type"], "#/components/schemas/DownloadType");
            assert_eq!(params.len(), 3);
        } else {
            assert_eq!(params.len(), 2);
        }
    }
}

#[test]
fn download_type_enum_matches_download_type_all() {
    let spec = spec();
    let schema = &spec["components"]["schemas"]["DownloadType"];
    let names: Vec<&str> = schema["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();

    assert_eq!(names, DownloadType::ALL.map(DownloadType::as_str));
    assert_eq!(schema["default"], DownloadType::default().as_str());
    for name in names {
        let parsed: DownloadType = name.parse().unwrap();
        assert_eq!(parsed.as_str(), name);
        assert_eq!(parsed.to_string(), name);
    }
}

#[test]
fn download_status_enum_maps_to_the_known_variants() {
    let spec = spec();
    let values: Vec<&str> = spec["components"]["schemas"]["DownloadStatus"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();

    let statuses: Vec<DownloadStatus> = values.iter().map(|&v| DownloadStatus::from(v)).collect();
    assert_eq!(
        statuses,
        [
            DownloadStatus::Ready,
            DownloadStatus::InProgress,
            DownloadStatus::Error
        ]
    );
    for (status, value) in statuses.iter().zip(&values) {
        assert_eq!(status.as_str(), *value);
        let decoded: DownloadStatus = serde_json::from_value(Value::from(*value)).unwrap();
        assert_eq!(&decoded, status);
    }
}

#[test]
fn the_download_schema_names_the_fields_the_facade_reads() {
    let spec = spec();
    let download = &spec["components"]["schemas"]["Download"];
    let properties: BTreeSet<&str> = download["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();

    assert_eq!(
        properties,
        BTreeSet::from(["percentComplete", "status", "url"])
    );
    assert_eq!(
        download["required"],
        serde_json::json!(["status", "percentComplete"])
    );
    assert_eq!(download["properties"]["percentComplete"]["minimum"], 0);
    assert_eq!(download["properties"]["percentComplete"]["maximum"], 100);
    assert_eq!(download["properties"]["url"]["nullable"], true);
    let keyed: BTreeSet<&str> = spec["components"]["schemas"]["Downloads"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keyed,
        DownloadType::ALL
            .map(DownloadType::as_str)
            .into_iter()
            .collect()
    );
}

#[test]
fn the_spec_offers_the_three_credential_schemes_as_alternatives() {
    let spec = spec();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["api_token"]["type"], "http");
    assert_eq!(schemes["api_token"]["scheme"], "bearer");
    for (name, header) in [
        ("api_email", "X-Auth-Email"),
        ("api_key", "X-Auth-Key"),
        ("user_service_key", "X-Auth-User-Service-Key"),
    ] {
        assert_eq!(schemes[name]["type"], "apiKey", "{name}");
        assert_eq!(schemes[name]["in"], "header", "{name}");
        assert_eq!(schemes[name]["name"], header, "{name}");
    }
    // Three requirement objects: any one of them, not all together.
    assert_eq!(
        spec["security"],
        serde_json::json!([
            {"api_token": []},
            {"api_email": [], "api_key": []},
            {"user_service_key": []}
        ])
    );
}
