//! Traffic through Nginx for the queries to see: seeded requests of every kind, then a
//! trickle until the checks pass.

use super::*;

/// Users and links created, links followed (302), unknown (404) and expired (410) codes,
/// an unknown path, a rejected body, and the list endpoints; returns the live codes and
/// how many requests were sent.
pub(super) fn seed_traffic(entry: SocketAddr) -> (Vec<String>, usize) {
    let client = Client::for_stack(entry);
    let mut sent = 0;
    let mut send = |method: &str, path: &str, body: Option<&str>| {
        sent += 1;
        client
            .request(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path} through nginx: {e}"))
    };
    let user = send(
        "POST",
        "/users",
        Some(&format!(
            r#"{{"username": "promql", "email": "promql-{}@example.com"}}"#,
            std::process::id()
        )),
    );
    assert_eq!(user.status, 201, "POST /users: {}", user.text());
    let user_id = serde_json::from_slice::<Value>(&user.body).unwrap()["id"].clone();
    let mut links = Vec::new();
    for i in 0..LINKS {
        let body =
            json!({"original_url": format!("https://example.com/promql/{i}"), "user_id": user_id});
        let created = send("POST", "/urls", Some(&body.to_string()));
        assert_eq!(created.status, 201, "POST /urls: {}", created.text());
        let link: Value = serde_json::from_slice(&created.body).unwrap();
        links.push((
            link["id"].clone(),
            link["short_code"].as_str().unwrap().to_owned(),
        ));
    }
    for (id, code) in &links {
        assert_eq!(send("GET", &format!("/{code}"), None).status, 302);
        assert_eq!(
            send("GET", &format!("/urls/{code}/redirect"), None).status,
            302
        );
        assert_eq!(send("GET", &format!("/urls/{id}"), None).status, 200);
        assert_eq!(send("GET", &format!("/urls/{id}/stats"), None).status, 200);
    }
    let (expired_id, expired) = links.pop().unwrap();
    let past = r#"{"expires_at": "2001-01-01T00:00:00Z"}"#;
    assert_eq!(
        send("PUT", &format!("/urls/{expired_id}"), Some(past)).status,
        200
    );
    assert_eq!(send("GET", &format!("/{expired}"), None).status, 410);
    for path in [
        "/urls",
        "/users",
        "/events",
        "/live",
        "/nosuchcode1",
        "/no/such/route",
    ] {
        send("GET", path, None);
    }
    assert_eq!(
        send("POST", "/urls", Some(r#"{"original_url": "hello"}"#)).status,
        400
    );
    let codes = links.into_iter().map(|(_, code)| code).collect();
    (codes, sent)
}

/// Redirects, a few unknown codes and list pages, every 20 ms until `stop`; the count sent.
pub(super) fn trickle(entry: SocketAddr, codes: &[String], stop: &AtomicBool) -> usize {
    let client = Client::for_stack(entry);
    let mut sent = 0;
    while !stop.load(Ordering::SeqCst) {
        let path = match sent % 10 {
            7 => format!("/nosuch{sent}"),
            9 => "/urls?limit=5".to_owned(),
            _ => format!("/{}", codes[sent % codes.len()]),
        };
        let _ = client.request("GET", &path, None);
        sent += 1;
        thread::sleep(Duration::from_millis(20));
    }
    sent
}
