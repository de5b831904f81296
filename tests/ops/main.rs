//! The operations suites, one binary apart from the API suite: the native stack
//! (3 replicas behind Nginx, a replica SIGKILLed under load), alert delivery to Discord,
//! e-mail and PagerDuty sinks, and every dashboard and rule expression against the running
//! stack. The tests that start the stack are `#[ignore]`d so that a plain `cargo test`
//! stays fast; `scripts/test` runs them with `cargo test --test ops -- --ignored`.

mod alert_sinks;
mod alerts;
mod http;
mod native_stack;
mod promql;
mod promql_extract;
mod stack;
