//! Property tests (proptest) of every parser and validator: arbitrary text never panics,
//! what is accepted meets the rule it was checked against, and what the API writes it
//! reads back. `http` throws generated requests at the real router: only 2xx/4xx, and
//! every error is the JSON shape.

mod http;
mod parsers;
