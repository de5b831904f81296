//! The page of a password-protected link: a form that posts the password to the link
//! (`POST /{short_code}`), with why it is shown; a plain HTML page, no script.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, LINK_PASSWORD_CHALLENGE};

/// The form, answered with the status of `error` (401 none sent, 403 a wrong one, 429 too
/// many wrong ones) and its message.
pub fn answer(code: &str, error: ApiError) -> Response {
    let status = error.status();
    let retry_after = match &error {
        ApiError::TooManyRequests {
            retry_after_secs, ..
        } => Some(*retry_after_secs),
        _ => None,
    };
    let mut response = (
        status,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        render(code, &error.to_string()),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(LINK_PASSWORD_CHALLENGE),
        );
    }
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The page: `message` above a form posting to `/{code}`.
fn render(code: &str, message: &str) -> String {
    let code = escape(code);
    let message = escape(message);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>Password needed</title></head>\
         <body><form method=\"post\" action=\"/{code}\"><p>{message}</p>\
         <label for=\"password\">Password</label> \
         <input id=\"password\" type=\"password\" name=\"password\" required autofocus \
         autocomplete=\"current-password\"> <button type=\"submit\">Open</button>\
         </form></body></html>\n"
    )
}

/// `text` safe inside an HTML attribute or element (a code is `[A-Za-z0-9_-]`, a
/// message the service's own; escaped all the same).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_posts_the_password_to_the_link() {
        let page = render("abc-12", "wrong <password>");
        assert!(
            page.contains("<form method=\"post\" action=\"/abc-12\">"),
            "{page}"
        );
        assert!(
            page.contains("type=\"password\" name=\"password\""),
            "{page}"
        );
        assert!(page.contains("wrong &lt;password&gt;"), "{page}");
        assert!(!page.contains("<script"), "no script needed");
    }
}
