//! The hostile table: for every route, requests with garbage in the path, the query, the
//! headers and the body.

use super::*;
use crate::helpers::FileForm;

/// Garbage in every part of every route of the contract.
pub(super) fn hostile_table(fixture: &Fixture) -> Vec<Case> {
    let (user, link, code) = (fixture.user_id, fixture.url_id, &fixture.short_code);
    let long = "x".repeat(100 * 1024);
    // The `http` crate refuses URIs of 64 KiB or more.
    let long_in_uri = "x".repeat(60_000);
    let mut cases = Vec::new();

    // Ids in paths.
    let ids = [
        "99999999999999999999",
        "-99999999999999999999",
        "9223372036854775807",
        "-9223372036854775808",
        "-1",
        "0",
        "abc",
        "1.5",
        "1e3",
        "0x10",
        "+1",
        "%201",
        "%F0%9F%98%80",
        "%00",
        "1%00",
        "%FF",
        "%25",
        "%2F",
        "null",
        "true",
    ];
    let long_id = "9".repeat(1000);
    for id in ids.iter().copied().chain([long_id.as_str()]) {
        for template in ["/users/{}", "/urls/{}", "/urls/{}/events", "/urls/{}/stats"] {
            cases.push(Case::new(Method::GET, template.replace("{}", id)));
        }
        cases.push(Case::json(
            Method::PUT,
            format!("/users/{id}"),
            r#"{"username":"x"}"#,
        ));
        cases.push(Case::json(
            Method::PUT,
            format!("/urls/{id}"),
            r#"{"title":"x"}"#,
        ));
        cases.push(Case::new(Method::DELETE, format!("/users/{id}")));
        cases.push(Case::new(Method::DELETE, format!("/urls/{id}")));
    }

    // Short codes in paths.
    let long_code = "a".repeat(10_000);
    let codes = [
        "%00",
        "abc%00def",
        "%FF",
        "abc%FFdef",
        "%F0%9F%98%80",
        "%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80",
        "%2F",
        "%2E%2E",
        "..",
        "x",
        "null",
        "%25%25%25",
        "abc%20def",
        long_code.as_str(),
    ];
    let real_with_nul = format!("{code}%00");
    for code in codes.iter().copied().chain([real_with_nul.as_str()]) {
        for method in [Method::GET, Method::HEAD] {
            cases.push(Case::new(method.clone(), format!("/{code}")));
            cases.push(Case::new(method, format!("/urls/{code}/redirect")));
        }
    }
    // Hostile headers on a real redirect: obs-text and very long referrers and agents.
    let obs_text = HeaderValue::from_bytes(b"\xff\xfe garbage \x80").unwrap();
    let long_header = HeaderValue::from_str(&"r".repeat(64 * 1024)).unwrap();
    for value in [obs_text.clone(), long_header.clone()] {
        cases.push(
            Case::new(Method::GET, format!("/{code}"))
                .with_header(header::REFERER, value.clone())
                .with_header(header::USER_AGENT, value.clone()),
        );
        cases.push(
            Case::new(Method::GET, "/users")
                .with_header(HeaderName::from_static("x-request-id"), value.clone()),
        );
    }

    // Query strings.
    let queries = [
        "/users?page=1&page=2".to_owned(),
        "/users?per_page=10&per_page=20".to_owned(),
        "/users?per_page=99999999999999999999".to_owned(),
        "/users?page=4294967295&per_page=1000".to_owned(),
        "/users?page=4294967296".to_owned(),
        "/users?page=%00".to_owned(),
        "/users?page=%FF".to_owned(),
        "/users?page=1%00".to_owned(),
        "/users?%00=%00".to_owned(),
        "/users?&&==&=".to_owned(),
        "/users?page[]=1".to_owned(),
        "/users?page=%F0%9F%98%80".to_owned(),
        "/urls?user_id=%FF".to_owned(),
        "/urls?user_id=%00".to_owned(),
        "/urls?user_id=99999999999999999999".to_owned(),
        "/urls?user_id=-9223372036854775808".to_owned(),
        "/urls?user_id=1&user_id=2".to_owned(),
        "/urls?user_id=1.5".to_owned(),
        "/urls?is_active=%00".to_owned(),
        "/urls?is_active=maybe".to_owned(),
        "/urls?is_active=true&is_active=false".to_owned(),
        "/events?event_type=%00".to_owned(),
        "/events?event_type=a%00b".to_owned(),
        "/events?event_type=%FF".to_owned(),
        "/events?event_type=%F0%9F%98%80".to_owned(),
        "/events?event_type=%C0%80".to_owned(),
        format!("/events?event_type={long_in_uri}"),
        "/events?url_id=%F0%9F%98%80".to_owned(),
        "/events?url_id=99999999999999999999".to_owned(),
        "/events?url_id=1.5".to_owned(),
        "/events?user_id=true".to_owned(),
        "/events?user_id=%00".to_owned(),
        "/events?url_id=1&url_id=2&event_type=a&event_type=b".to_owned(),
        format!("/urls/{link}/events?page=0"),
        format!("/urls/{link}/events?per_page=%00"),
        format!("/urls/{link}/events?page=1&page=2"),
        format!("/urls/{link}/stats?days=%00"),
        "/health?x=%00".to_owned(),
        "/ready?%FF".to_owned(),
        "/openapi.json?%FF=%00".to_owned(),
    ];
    for path in queries {
        cases.push(Case::new(Method::GET, path));
    }

    // Fields of every JSON body.
    let routes: [(Method, String, Value, &[&str]); 5] = [
        (
            Method::POST,
            "/users".to_owned(),
            json!({"username": "bob", "email": "bob@example.com"}),
            &["username", "email"],
        ),
        (
            Method::PUT,
            format!("/users/{user}"),
            json!({}),
            &["username", "email"],
        ),
        (
            Method::POST,
            "/urls".to_owned(),
            json!({"original_url": "https://example.com/b"}),
            &[
                "original_url",
                "url",
                "user_id",
                "title",
                "short_code",
                "expires_at",
            ],
        ),
        (
            Method::PUT,
            format!("/urls/{link}"),
            json!({}),
            &["original_url", "title", "is_active", "expires_at"],
        ),
        (
            Method::POST,
            "/events".to_owned(),
            json!({"url_id": link, "event_type": "custom"}),
            &["url_id", "user_id", "event_type", "details"],
        ),
    ];
    let values = hostile_values();
    for (method, path, base, fields) in &routes {
        for field in *fields {
            for value in &values {
                let body = with_raw_field(base, field, value);
                cases.push(Case::json(method.clone(), path.clone(), body));
            }
        }
        // Whole bodies.
        let base_text = base.to_string();
        let inner = base_text.trim_start_matches('{').trim_end_matches('}');
        let sep = if inner.is_empty() { "" } else { "," };
        let bodies: Vec<Vec<u8>> = vec![
            format!(
                "{{{inner}{sep}\"unknown\":{{\"deep\":[1,2,{{}}]}},\"id\":5,\"created_at\":\"x\"}}"
            )
            .into_bytes(),
            format!(r#"{{"username":"a","username":"b","title":"t","title":"u"{sep}{inner}}}"#)
                .into_bytes(),
            format!("{{{inner}{sep}\"{long}\":1}}").into_bytes(),
            format!("{{{inner}{sep}\"k\u{0}\":1}}").into_bytes(),
            format!("\u{feff}{base_text}").into_bytes(),
            [
                b"{\"title\":\"\xff\xfe\"".as_slice(),
                sep.as_bytes(),
                inner.as_bytes(),
                b"}",
            ]
            .concat(),
            "[".repeat(10_000).into_bytes(),
            "{\"a\":".repeat(10_000).into_bytes(),
            format!("{base_text}{base_text}").into_bytes(),
            format!("{base_text} trailing").into_bytes(),
            b"\0".to_vec(),
        ];
        for body in bodies {
            cases.push(Case::json(method.clone(), path.clone(), body));
        }
        for content_type in [
            "application/json; charset=utf-16",
            "APPLICATION/JSON",
            "application/problem+json",
            "application/json; charset=é",
            "multipart/form-data",
            "",
            ";;;",
        ] {
            cases.push(Case::typed(
                method.clone(),
                path.clone(),
                content_type,
                base_text.clone(),
            ));
        }
    }

    // The bulk upload.
    cases.push(Case::new(Method::POST, "/users/bulk"));
    cases.push(Case::typed(
        Method::POST,
        "/users/bulk",
        "text/csv",
        "username,email\na,a@x.com\n",
    ));
    cases.push(Case::typed(
        Method::POST,
        "/users/bulk",
        "multipart/form-data",
        "garbage",
    ));
    cases.push(Case::typed(
        Method::POST,
        "/users/bulk",
        "multipart/form-data; boundary=zzz",
        "--zzz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated",
    ));
    cases.push(Case::json(
        Method::POST,
        "/users/bulk",
        r#"{"file":"username,email"}"#,
    ));
    let csvs: Vec<(&str, Vec<u8>)> = vec![
        ("file", Vec::new()),
        ("file", b"username,email\n".to_vec()),
        ("other", b"username,email\nbulk,bulk@example.com\n".to_vec()),
        ("file", b"name,mail\nx,y\n".to_vec()),
        ("file", b"username,email\n\0,nul\0@example.com\n".to_vec()),
        ("file", b"username,email\nnul,nul\0@example.com\n".to_vec()),
        (
            "file",
            b"username,email\n\xff\xfe,bad@example.com\n".to_vec(),
        ),
        ("file", b"\xff\xfe\x00u\x00s\x00e\x00r".to_vec()),
        (
            "file",
            b"username,email\n\"unterminated,x@example.com\n".to_vec(),
        ),
        (
            "file",
            format!("username,email\n{long},long@example.com\n").into_bytes(),
        ),
        (
            "file",
            format!("username,email\nlong,{long}@example.com\n").into_bytes(),
        ),
        (
            "file",
            b"username,email\n\xF0\x9F\x98\x80,emoji@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email\n99999999999999999999,a,huge@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email\n-1,a,negative@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email\n1.5,a,float@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email\n1,a,existing@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email,created_at\n,a,t1@example.com,-262143-01-01 00:00:00\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email,created_at\n,a,t2@example.com,+262142-12-31 23:59:59\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email,created_at\n,a,t3@example.com,not a time\n".to_vec(),
        ),
        ("file", b"username,email\na,b,c,d\n\n,,\n".to_vec()),
        (
            "file",
            b"username,email\na,dup@example.com\nb,DUP@example.com\n".to_vec(),
        ),
        (
            "file",
            b"username,email,username\na,x@example.com,b\n".to_vec(),
        ),
    ];
    for (field, csv) in csvs {
        let form = FileForm::new(field);
        cases.push(Case::typed(
            Method::POST,
            "/users/bulk",
            &form.content_type,
            form.around(csv),
        ));
    }

    // Methods and paths nobody routes.
    let odd_method = Method::from_bytes(b"FROB").unwrap();
    for (method, path) in [
        (Method::OPTIONS, "/users".to_owned()),
        (Method::PATCH, format!("/urls/{link}")),
        (Method::TRACE, "/".to_owned()),
        (Method::DELETE, "/events".to_owned()),
        (Method::PUT, "/health".to_owned()),
        (Method::POST, "/live".to_owned()),
        (Method::POST, format!("/{code}")),
        (odd_method, "/users".to_owned()),
        (Method::GET, "/".to_owned()),
        (Method::GET, "//".to_owned()),
        (Method::GET, "/users/".to_owned()),
        (Method::GET, format!("/users/{user}/")),
        (Method::GET, format!("/users/{user}/extra")),
        (Method::GET, format!("/urls/{link}/events/extra")),
        (Method::GET, "/%2e%2e/%2e%2e/etc/passwd".to_owned()),
        (Method::GET, format!("/users/{user}/../..")),
        (Method::GET, format!("/{long_in_uri}")),
        (Method::GET, format!("/a/{long_in_uri}/b")),
    ] {
        cases.push(Case::new(method, path));
    }
    cases
}
