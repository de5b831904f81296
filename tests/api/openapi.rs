//! `/openapi.json`: an OpenAPI 3.1 document listing every route of the contract with its
//! methods and resource schemas, whose every documented operation the router really serves.

use std::collections::BTreeSet;

use crate::helpers::TestApp;
use crate::helpers::bodies::ErrorBody;
use axum::http::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

/// The contract's routes and the methods each answers.
const CONTRACT: &[(&str, &[&str])] = &[
    ("/health", &["get"]),
    ("/live", &["get"]),
    ("/ready", &["get"]),
    ("/users", &["get", "post"]),
    ("/users/{id}", &["get", "put", "delete"]),
    ("/users/bulk", &["post"]),
    ("/urls", &["get", "post"]),
    ("/urls/bulk", &["post"]),
    ("/urls/{id}", &["get", "put", "delete"]),
    ("/urls/{id}/qr", &["get"]),
    ("/tags", &["get"]),
    ("/urls/{id}/events", &["get"]),
    ("/urls/{id}/stats", &["get"]),
    ("/urls/{id}/stats/{dimension}", &["get"]),
    ("/urls/{id}/clicks.csv", &["get"]),
    ("/urls/{short_code}/redirect", &["get"]),
    ("/{short_code}", &["get", "post"]),
    ("/events", &["get", "post"]),
];

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    app.get("/openapi.json").await.expect(StatusCode::OK)
}

/// The HTTP methods documented on one path item.
fn methods_of(item: &Value) -> BTreeSet<String> {
    item.as_object()
        .unwrap()
        .keys()
        .filter(|key| HTTP_METHODS.contains(&key.as_str()))
        .cloned()
        .collect()
}

/// The property names of a component schema.
fn properties_of(document: &Value, schema: &str) -> BTreeSet<String> {
    let properties = &document["components"]["schemas"][schema]["properties"];
    properties
        .as_object()
        .unwrap_or_else(|| {
            panic!(
                "schema {schema} has no properties: {}",
                document["components"]["schemas"][schema]
            )
        })
        .keys()
        .cloned()
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

#[sqlx::test]
async fn document_is_openapi_3_1_listing_every_route_with_its_methods(pool: PgPool) {
    let app = TestApp::new(pool);
    let response = app.get("/openapi.json").await;
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        response.headers
    );
    let document = document(&app).await;
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi version {version:?}");
    let paths = document["paths"].as_object().expect("paths is an object");
    for (path, methods) in CONTRACT {
        let item = paths.get(*path).unwrap_or_else(|| {
            panic!(
                "{path} is not documented; documented: {:?}",
                paths.keys().collect::<Vec<_>>()
            )
        });
        assert_eq!(methods_of(item), names(methods), "methods of {path}");
        for method in *methods {
            let responses = item[*method]["responses"].as_object();
            assert!(
                responses.is_some_and(|r| !r.is_empty()),
                "{method} {path} documents no responses"
            );
        }
    }
}

#[sqlx::test]
async fn resource_schemas_have_exactly_the_contract_fields(pool: PgPool) {
    let app = TestApp::new(pool);
    let document = document(&app).await;
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    for schema in ["User", "Link", "Event", "ErrorBody"] {
        assert!(
            schemas.contains_key(schema),
            "{schema} missing from {:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
    let link = [
        "id",
        "user_id",
        "short_code",
        "original_url",
        "title",
        "is_active",
        "expires_at",
        "created_at",
        "updated_at",
        "max_visits",
        "visits_left",
        "expired_url",
        "redirect_status",
        "forward_query",
        "tags",
        "preview",
        "protected",
        "rules",
        "variants",
        "destination",
    ];
    assert_eq!(properties_of(&document, "Link"), names(&link));
    assert_eq!(
        properties_of(&document, "User"),
        names(&["id", "username", "email", "created_at"])
    );
    let event = [
        "id",
        "url_id",
        "user_id",
        "event_type",
        "timestamp",
        "details",
        "actor",
    ];
    assert_eq!(properties_of(&document, "Event"), names(&event));
    let error = &schemas["ErrorBody"];
    assert!(
        properties_of(&document, "ErrorBody").contains("error"),
        "{error}"
    );
    let required = error["required"].as_array().cloned().unwrap_or_default();
    assert!(
        required.contains(&Value::from("error")),
        "ErrorBody.error is required: {error}"
    );
}

/// Every `$ref` string anywhere under `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, item) in fields {
                match item {
                    Value::String(target) if key == "$ref" => found.push(target.clone()),
                    _ => references(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[sqlx::test]
async fn every_schema_reference_resolves(pool: PgPool) {
    let app = TestApp::new(pool);
    let document = document(&app).await;
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(!found.is_empty(), "the document references no schemas");
    for target in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external reference {target}"));
        assert!(
            document.pointer(pointer).is_some(),
            "dangling reference {target}"
        );
    }
}

#[sqlx::test]
async fn every_documented_operation_is_routed(pool: PgPool) {
    let app = TestApp::new(pool);
    // What the router answers when nothing matches, to tell it from a resource's 404.
    let unrouted = app
        .get("/no/such/route")
        .await
        .expect_error(StatusCode::NOT_FOUND);
    assert_eq!(unrouted.error, "no such route");

    let document = document(&app).await;
    let mut operations = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        let path = template
            .replace("{id}", "1")
            .replace("{short_code}", "abc1234")
            .replace("{dimension}", "country")
            .replace("{delivery_id}", "1");
        assert!(!path.contains('{'), "unknown placeholder in {template}");
        for method in methods_of(item) {
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app.raw(verb, &path, Some("application/json"), "{}").await;
            operations += 1;
            assert_ne!(
                response.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {template} is documented but not routed"
            );
            if response.status == StatusCode::NOT_FOUND && !response.body.is_empty() {
                let body = response.body::<ErrorBody>();
                assert_ne!(
                    body.error, "no such route",
                    "{method} {template} is documented but not routed"
                );
            }
        }
    }
    let contract_operations: usize = CONTRACT.iter().map(|(_, methods)| methods.len()).sum();
    assert!(
        operations >= contract_operations,
        "{operations} operations documented"
    );
}

/// The scope each documented operation needs; `None` for the public ones.
const SCOPES: &[(&str, &str, Option<&str>)] = &[
    ("/health", "get", None),
    ("/{short_code}", "get", None),
    ("/{short_code}", "post", None),
    ("/urls/{short_code}/redirect", "get", None),
    ("/urls/bulk", "post", Some("write")),
    ("/urls/{id}/qr", "get", Some("read")),
    ("/tags", "get", Some("read")),
    ("/urls", "get", Some("read")),
    ("/urls", "post", Some("write")),
    ("/urls/{id}", "delete", Some("write")),
    ("/events", "post", Some("write")),
    ("/users", "get", Some("read")),
    ("/users", "post", Some("admin")),
    ("/users/{id}", "put", Some("admin")),
    ("/users/bulk", "post", Some("admin")),
];

#[sqlx::test]
async fn the_document_states_which_operations_need_a_key_of_which_scope(pool: PgPool) {
    let app = TestApp::new(pool);
    let document = document(&app).await;
    let scheme = &document["components"]["securitySchemes"]["api_key"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    for (path, method, scope) in SCOPES {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        let security = &operation["security"];
        let responses = &operation["responses"];
        match scope {
            None => {
                assert!(security.is_null(), "{method} {path} is public: {security}");
                // A public operation's only 401 is a protected link's, never a key's.
                let unauthorized = responses["401"]["description"].as_str().unwrap_or("");
                assert!(
                    responses["401"].is_null() || unauthorized.contains("password"),
                    "{method} {path}: {unauthorized}"
                );
            }
            Some(scope) => {
                assert_eq!(
                    security,
                    &serde_json::json!([{"api_key": [scope]}]),
                    "{method} {path}"
                );
                let statuses: &[&str] = if *method == "post" {
                    &["401", "403", "429"]
                } else {
                    &["401", "403"]
                };
                for status in statuses {
                    assert_eq!(
                        responses[status]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} documents its {status}"
                    );
                }
            }
        }
    }
}

/// The list parameters are query parameters, optional, with the domain's own bounds (the
/// attributes in src/http/list.rs spell the numbers, so this pins them to the constants).
#[sqlx::test]
async fn list_parameters_are_optional_query_parameters_with_the_domains_bounds(pool: PgPool) {
    use shortener_domain::{MAX_PAGE, MAX_PER_PAGE};
    let app = TestApp::new(pool);
    let document = document(&app).await;
    for path in ["/urls", "/users", "/events", "/urls/{id}/events"] {
        let parameters = document["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap();
        let find = |name: &str| {
            parameters
                .iter()
                .find(|parameter| parameter["name"] == name)
                .unwrap_or_else(|| panic!("{path} documents {name}"))
        };
        for parameter in parameters.iter().filter(|p| p["name"] != "id") {
            assert_eq!(parameter["in"], "query", "{path}: {parameter}");
            assert_eq!(parameter["required"], false, "{path}: {parameter}");
        }
        assert_eq!(find("page")["schema"]["minimum"], 1);
        assert_eq!(find("page")["schema"]["maximum"], MAX_PAGE);
        assert_eq!(find("per_page")["schema"]["maximum"], MAX_PER_PAGE);
        assert_eq!(find("after")["schema"]["minimum"], 0);
    }
    for path in ["/urls/{id}", "/users/{id}"] {
        for method in ["get", "put", "delete"] {
            let operation = &document["paths"][path][method];
            assert_eq!(operation["parameters"][0]["schema"]["minimum"], 1);
            assert!(operation["responses"]["400"].is_object(), "{method} {path}");
        }
    }
    for (path, method) in [
        ("/urls", "post"),
        ("/urls/{id}", "put"),
        ("/users/bulk", "post"),
    ] {
        assert!(
            document["paths"][path][method]["responses"]["413"].is_object(),
            "{method} {path} documents its body limit"
        );
    }
}
