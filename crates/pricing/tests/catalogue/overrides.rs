//! User override files: adding models, replacing prices, precedence, and
//! clear errors that name the file.

use super::{assert_usd, at, catalogue};
use pricing::PricingError;
use std::path::PathBuf;
use usage::TokenCounts;

/// A file unique to this test process, removed when dropped.
struct TempFile(PathBuf);

impl std::ops::Deref for TempFile {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `text` to a temporary file named `name`.
fn write(name: &str, text: &str) -> TempFile {
    let path =
        std::env::temp_dir().join(format!("apex-pricing-test-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    TempFile(path)
}

fn million_in_and_out() -> TokenCounts {
    TokenCounts {
        input_uncached: 1_000_000,
        output: 1_000_000,
        ..Default::default()
    }
}

#[test]
fn toml_file_adds_models_to_existing_and_new_providers() {
    let path = write(
        "add.toml",
        r#"
[[models]]
provider = "openai"
id = "ft:gpt-4o-mini:acme"
match = { starts_with = "ft:gpt-4o-mini:acme" }
prices = { input_mtok = 0.3, cache_read_mtok = 0.15, output_mtok = 1.2 }

[[models]]
provider = "acme-cloud"
provider_name = "Acme Cloud"
id = "acme-large"
context_window = 32000
[models.prices]
input_mtok = 1
output_mtok = 2
requests_kcount = 0.5
"#,
    );
    let c = catalogue().with_overrides(&path).unwrap();
    assert_eq!(c.override_files(), std::slice::from_ref(&path.0));

    let ft = c.resolve(None, "ft:gpt-4o-mini:acme:7x9").unwrap();
    assert_eq!(c.info(ft).provider_id, "openai");
    // 1M in x 0.3 + 1M out x 1.2 = $1.50.
    assert_usd(
        c.cost(ft, at(2025, 1, 1, 0, 0), &million_in_and_out(), 1)
            .total(),
        1.5,
    );

    // New provider: found by hint, and without hint (override models come first).
    let acme = c.resolve(Some("acme-cloud"), "acme-large").unwrap();
    assert_eq!(c.resolve(None, "ACME-large"), Some(acme));
    let info = c.info(acme);
    assert_eq!(
        (info.provider_name, info.context_window),
        ("Acme Cloud", Some(32_000))
    );
    // 1M x 1 + 1M x 2 + 0.5 / 1000 per request x 2 calls = $3.001.
    assert_usd(
        c.cost(acme, at(2025, 1, 1, 0, 0), &million_in_and_out(), 2)
            .total(),
        3.001,
    );
    assert!(c.models_of_provider("acme-cloud").contains(&acme));

    // The embedded catalogue is untouched.
    assert_eq!(catalogue().resolve(None, "acme-large"), None);
}

#[test]
fn json_file_overrides_an_existing_model_with_dated_prices() {
    let path = write(
        "override.json",
        r#"{"models": [{
            "provider": "openai",
            "id": "gpt-4o",
            "prices": [
                {"prices": {"input_mtok": 2.0, "cache_read_mtok": 1.0, "output_mtok": 8.0}},
                {"constraint": {"start_date": "2026-01-01"}, "prices": {"input_mtok": 1.0, "output_mtok": 4.0}}
            ]
        }]}"#,
    );
    let base = catalogue();
    let before = base.resolve(None, "gpt-4o").unwrap();
    let c = base.clone().with_overrides(&path).unwrap();
    let m = c.resolve(None, "gpt-4o-2024-08-06").unwrap();
    // Same entry (its match rule is kept), new prices.
    assert_eq!(m, before);
    assert_eq!(c.info(m).model_id, "gpt-4o");
    let tokens = million_in_and_out();
    assert_usd(c.cost(m, at(2025, 6, 1, 0, 0), &tokens, 1).total(), 10.0);
    assert_usd(c.cost(m, at(2026, 1, 1, 0, 0), &tokens, 1).total(), 5.0);
    // The original catalogue still has the shipped price (2.5 + 10).
    assert_usd(
        base.cost(before, at(2025, 6, 1, 0, 0), &tokens, 1).total(),
        12.5,
    );
}

#[test]
fn override_rules_take_precedence_over_catalogue_rules() {
    let path = write(
        "precedence.toml",
        r#"
[[models]]
provider = "anthropic"
id = "our-sonnet-deal"
match = { starts_with = "claude-sonnet-4" }
prices = { input_mtok = 1.5, cache_write_mtok = 1.875, cache_write_1h_mtok = 3.0, cache_read_mtok = 0.15, output_mtok = 7.5 }
"#,
    );
    let c = catalogue().with_overrides(&path).unwrap();
    let m = c
        .resolve(Some("anthropic"), "claude-sonnet-4-20250514")
        .unwrap();
    assert_eq!(c.info(m).model_id, "our-sonnet-deal");
    // 1-hour writes use the override's cache_write_1h_mtok: 1M x 3.0.
    let tokens = TokenCounts {
        cache_write_1h: 1_000_000,
        ..Default::default()
    };
    assert_usd(c.cost(m, at(2025, 1, 1, 0, 0), &tokens, 1).cache_write, 3.0);
}

#[test]
fn native_toml_dates_are_accepted() {
    let path = write(
        "dates.toml",
        r#"
[[models]]
provider = "openai"
id = "gpt-4o"
[[models.prices]]
prices = { input_mtok = 2.5, output_mtok = 10 }
[[models.prices]]
constraint = { start_date = 2030-01-01 }
prices = { input_mtok = 1, output_mtok = 1 }
"#,
    );
    let c = catalogue().with_overrides(&path).unwrap();
    let m = c.resolve(None, "gpt-4o").unwrap();
    assert_usd(
        c.cost(m, at(2030, 1, 1, 0, 0), &million_in_and_out(), 1)
            .total(),
        2.0,
    );
}

#[test]
fn malformed_files_give_errors_naming_the_file() {
    let bad_json = write(
        "broken.json",
        r#"{"models": [{"provider": "openai", "id": "x", "prices": }]}"#,
    );
    let err = catalogue().with_overrides(&bad_json).unwrap_err();
    assert!(matches!(err, PricingError::OverrideJson { .. }), "{err:?}");
    assert!(err.to_string().contains("broken.json"), "{err}");

    let typo = write(
        "typo.toml",
        "[[models]]\nprovider = \"openai\"\nid = \"gpt-4o\"\nprices = { input_mtoks = 1 }\n",
    );
    let err = catalogue().with_overrides(&typo).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("typo.toml") && msg.contains("unknown price field `input_mtoks`"),
        "{msg}"
    );

    let unknown_key = write("key.toml", "[[modles]]\nprovider = \"openai\"\n");
    let err = catalogue().with_overrides(&unknown_key).unwrap_err();
    assert!(
        matches!(err, PricingError::OverrideToml { .. }) && err.to_string().contains("key.toml"),
        "{err}"
    );

    let bad_regex = write(
        "regex.json",
        r#"{"models":[{"provider":"openai","id":"x","match":{"regex":"("},"prices":{"input_mtok":1}}]}"#,
    );
    let err = catalogue().with_overrides(&bad_regex).unwrap_err();
    assert!(
        err.to_string().contains("regex.json") && err.to_string().contains("invalid match regex"),
        "{err}"
    );

    let negative = write(
        "negative.json",
        r#"{"models":[{"provider":"openai","id":"x","prices":{"input_mtok":-2}}]}"#,
    );
    let err = catalogue().with_overrides(&negative).unwrap_err();
    assert!(
        err.to_string().contains("negative.json") && err.to_string().contains("`input_mtok`"),
        "{err}"
    );

    let missing = std::env::temp_dir().join("apex-pricing-tests-no-such-file.toml");
    let err = catalogue().with_overrides(&missing).unwrap_err();
    assert!(
        matches!(err, PricingError::OverrideRead { .. })
            && err.to_string().contains("no-such-file.toml"),
        "{err}"
    );
}

#[test]
fn malformed_catalogue_json_is_an_error() {
    assert!(matches!(
        pricing::Catalogue::from_json("[{\"id\": 1}]"),
        Err(PricingError::Catalogue(_))
    ));
    let c = pricing::Catalogue::from_json("[]")
        .unwrap()
        .with_snapshot_date("2020-01-01");
    assert_eq!(c.snapshot_date(), "2020-01-01");
    assert_eq!(c.resolve(None, "gpt-4o"), None);
}
