//! The schemas of a link's `rules` and `variants` (`shortener_domain::targeting`), from
//! the domain's names and limits: bodies are read as the domain's own types, and these
//! state what those accept.

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat,
    Type,
};
use utoipa::openapi::{RefOr, Schema};

use super::{NO_NUL, TargetUrlText};
use shortener_domain::{
    BROWSER_NAMES, DEVICE_NAMES, MAX_RULES, MAX_VARIANTS, MAX_WEIGHT, MIN_VARIANTS, OS_NAMES,
};
use shortener_domain::{MAX_CONDITION_VALUES, MAX_QUERY_CONDITIONS, MAX_QUERY_TEXT_CHARS};
use std::borrow::Cow;
use utoipa::{PartialSchema, ToSchema};

/// One string of `values`, or a list of 1 to [`MAX_CONDITION_VALUES`] of them.
fn one_or_many(value: ObjectBuilder, description: &str) -> RefOr<Schema> {
    let value: RefOr<Schema> = value.into();
    OneOfBuilder::new()
        .item(value.clone())
        .item(
            ArrayBuilder::new()
                .items(value)
                .min_items(Some(1))
                .max_items(Some(MAX_CONDITION_VALUES)),
        )
        .description(Some(description))
        .into()
}

fn named(names: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.iter().copied()))
}

fn patterned(pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

fn instant(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some(description))
}

fn query_text() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_QUERY_TEXT_CHARS))
        .pattern(Some(NO_NUL))
}

fn conditions() -> ObjectBuilder {
    let query_values = one_or_many(query_text(), "The parameter's value, or any of several");
    ObjectBuilder::new()
        .description(Some(
            "Each condition present must hold (none: the rule always holds). Names are \
             compared without case or spaces.",
        ))
        .property(
            "device",
            one_or_many(named(DEVICE_NAMES), "The visitor's device class"),
        )
        .property(
            "os",
            one_or_many(named(OS_NAMES), "The visitor's OS family"),
        )
        .property(
            "browser",
            one_or_many(named(BROWSER_NAMES), "The visitor's browser"),
        )
        .property(
            "country",
            one_or_many(
                patterned("^[A-Za-z]{2}$"),
                "ISO 3166-1 alpha-2 codes: the country of the visitor's address (GEOIP_DB; \
                 behind TRUSTED_PROXIES, the client's address in X-Forwarded-For). With no \
                 database, or an address it does not know, no country condition holds.",
            ),
        )
        .property(
            "language",
            one_or_many(
                patterned("^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"),
                "The visitor's preferred language (the heaviest entry of Accept-Language): \
                 `en` holds for `en`, `en-US` and `en-GB`; `en-GB` only for `en-GB`.",
            ),
        )
        .property(
            "query",
            ObjectBuilder::new()
                .property_names(Some(query_text().min_length(Some(1))))
                .additional_properties(Some(AdditionalProperties::RefOr(query_values)))
                .min_properties(Some(1))
                .max_properties(Some(MAX_QUERY_CONDITIONS))
                .description(Some(
                    "Parameters of the visitor's query string, each with the value it must \
                     have (compared decoded).",
                )),
        )
        .property("after", instant("From this time on (inclusive)."))
        .property("before", instant("Until this time (exclusive)."))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

schema!(
    /// A link's targeting rules ([`shortener_domain::parse_rules`]).
    TargetingRules,
    "TargetingRules",
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .property("if", conditions())
                .required("if")
                .property("url", TargetUrlText::schema())
                .required("url")
                .additional_properties(Some(AdditionalProperties::FreeForm(false))),
        )
        .max_items(Some(MAX_RULES))
        .description(Some(
            "In order: the first rule whose conditions all hold sends the visitor to its \
             `url`; when none holds, the link's split, else its own target. The answer is \
             recorded with the click (`rules.N`) and counted in the `variant` dimension.",
        ))
        .into()
);

/// One variant of a split.
fn variant() -> ObjectBuilder {
    ObjectBuilder::new()
        .property("url", TargetUrlText::schema())
        .required("url")
        .property(
            "weight",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(MAX_WEIGHT))
                .description(Some("Relative: 70 and 30 send 70% and 30%.")),
        )
        .required("weight")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

schema!(
    /// A link's split ([`shortener_domain::parse_variants`]): none (`[]`), or 2 to 10
    /// variants.
    TargetingVariants,
    "TargetingVariants",
    OneOfBuilder::new()
        .item(ArrayBuilder::new().items(variant()).max_items(Some(0)))
        .item(
            ArrayBuilder::new()
                .items(variant())
                .min_items(Some(MIN_VARIANTS))
                .max_items(Some(MAX_VARIANTS)),
        )
        .description(Some(
            "A/B split: none (`[]`), or 2 to 10 variants. Each visitor not sent elsewhere \
             by a rule goes to one variant, in proportion to the weights, and keeps it: the \
             choice is a keyed hash of the visitor's address, user agent and the link \
             (VISITOR_KEY; no cookie), the same on every replica and every day. `[]` (or \
             `null` on update) removes the split. The answer is recorded with the click \
             (`variants.N`).",
        ))
        .into()
);
