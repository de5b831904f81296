//! Probes: `/health` (dependency report), `/live` (process up), `/ready` (take traffic?).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use shortener_service::app::AppState;
use shortener_service::probes::{self, DatabaseReadiness};

/// The health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `fail`.
    pub status: &'static str,
    /// `ok` or `fail`.
    pub database: &'static str,
    /// The service version.
    pub version: &'static str,
}

fn word(ok: bool) -> &'static str {
    if ok { "ok" } else { "fail" }
}

fn code(ok: bool) -> StatusCode {
    if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// Whether the database answers.
#[utoipa::path(get, path = "/health", tag = "probes",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = probes::database_answers(&state).await;
    let body = Health {
        status: word(database),
        database: word(database),
        version: env!("CARGO_PKG_VERSION"),
    };
    (code(database), Json(body))
}

/// Liveness: 200 while the process serves.
#[utoipa::path(get, path = "/live", tag = "probes", responses((status = 200, body = Object)))]
pub async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` or `fail`.
    pub status: &'static str,
    /// `ok`, `fail` (unreachable) or `pending` (migrations not applied).
    pub database: &'static str,
    /// Whether the process is shutting down.
    pub draining: bool,
}

/// Readiness: 200 when the database answers with every migration applied and the
/// process is not shutting down.
#[utoipa::path(get, path = "/ready", tag = "probes",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let (database, draining) = probes::readiness(&state).await;
    let database = match database {
        DatabaseReadiness::Ready => "ok",
        DatabaseReadiness::Pending => "pending",
        DatabaseReadiness::Unreachable => "fail",
    };
    let ok = !draining && database == "ok";
    let body = Readiness {
        status: word(ok),
        database,
        draining,
    };
    (code(ok), Json(body))
}
