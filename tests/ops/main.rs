//! The operations suites, one binary apart from the API suite: the native stack
//! (3 replicas behind Nginx, a replica SIGKILLed under load), Nginx's edge (body limits,
//! probes kept internal) in front of one replica, alert delivery to Discord, e-mail and
//! PagerDuty sinks, and every dashboard and rule expression against the running stack.
//! The tests that start the stack are `#[ignore]`d so that a plain `cargo test` stays
//! fast; `scripts/test` runs them with `cargo test --test ops -- --ignored`. The quick
//! self-tests of the suites' own helpers (the alert sinks, the PromQL extractor) run in every
//! `cargo test`.
//!
//! The chaos suite (`chaos/`) injects faults into the native stack under load: replicas
//! killed and restarted, Redis killed, PostgreSQL stopped; its tests are `#[ignore]`d like
//! the stack's, and `scripts/chaos` runs them at full length.

mod alert_sinks;
mod alerts;
mod chaos;
mod edge;
mod http;
mod native_stack;
mod promql;
mod stack;
