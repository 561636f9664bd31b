//! Model resolution: direct ids, provider hints, gateway and cloud forms,
//! unknown models.

use super::catalogue;

fn resolved(provider: Option<&str>, model: &str) -> Option<(String, String)> {
    let c = catalogue();
    c.resolve(provider, model).map(|m| {
        let i = c.info(m);
        (i.provider_id.to_owned(), i.model_id.to_owned())
    })
}

fn pair(p: &str, m: &str) -> Option<(String, String)> {
    Some((p.to_owned(), m.to_owned()))
}

#[test]
fn plain_model_strings_resolve_through_provider_model_match() {
    assert_eq!(resolved(None, "gpt-4o"), pair("openai", "gpt-4o"));
    assert_eq!(
        resolved(None, "GPT-4o-2024-11-20"),
        pair("openai", "gpt-4o")
    );
    assert_eq!(
        resolved(None, "claude-3-5-sonnet-20241022"),
        pair("anthropic", "claude-3-5-sonnet")
    );
    assert_eq!(
        resolved(None, "gemini-2.5-flash"),
        pair("google", "gemini-2.5-flash")
    );
    // Vertex's version suffix form is in the catalogue's rules.
    assert_eq!(
        resolved(None, "claude-sonnet-4@20250514"),
        pair("anthropic", "claude-sonnet-4-0")
    );
}

#[test]
fn gateway_prefixed_model_strings_resolve() {
    assert_eq!(resolved(None, "openai/gpt-4o"), pair("openai", "gpt-4o"));
    assert_eq!(
        resolved(None, "anthropic/claude-3-5-sonnet"),
        pair("anthropic", "claude-3-5-sonnet")
    );
    assert_eq!(
        resolved(None, "gemini/gemini-2.5-pro"),
        pair("google", "gemini-2.5-pro")
    );
    assert_eq!(
        resolved(Some("litellm"), "anthropic/claude-3-5-haiku-20241022"),
        pair("anthropic", "claude-3-5-haiku-latest")
    );
    // OpenRouter lists its own `vendor/model` ids: the hint selects them.
    assert_eq!(
        resolved(Some("openrouter"), "anthropic/claude-3.5-sonnet"),
        pair("openrouter", "anthropic/claude-3.5-sonnet")
    );
}

#[test]
fn cloud_provider_forms_resolve() {
    // Bedrock cross-region profile: the aws entry (regional prices).
    assert_eq!(
        resolved(None, "us.anthropic.claude-sonnet-4-20250514-v1:0"),
        pair("aws", "regional.anthropic.claude-sonnet-4-20250514-v1:0")
    );
    assert_eq!(
        resolved(Some("bedrock"), "anthropic.claude-3-5-sonnet-20241022-v2:0"),
        pair("aws", "regional.anthropic.claude-3-5-sonnet-20241022-v2:0")
    );
    // Vertex resource path.
    assert_eq!(
        resolved(
            None,
            "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro"
        ),
        pair("google", "gemini-2.5-pro")
    );
    assert_eq!(
        resolved(Some("vertex_ai"), "gemini-2.5-pro"),
        pair("google", "gemini-2.5-pro")
    );
    // Azure has no gpt-4o entry of its own: its fallback provider (openai) prices it.
    assert_eq!(resolved(Some("azure"), "gpt-4o"), pair("openai", "gpt-4o"));
}

#[test]
fn unknown_models_are_not_resolved() {
    let c = catalogue();
    assert_eq!(c.resolve(None, "made-up-model-9000"), None);
    assert_eq!(c.resolve(Some("openai"), "made-up-model-9000"), None);
    assert_eq!(c.resolve(None, ""), None);
    let err = c
        .try_resolve(Some("openai"), "made-up-model-9000")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown model `made-up-model-9000` (provider `openai`)"
    );
}

#[test]
fn info_and_models_of_provider() {
    let c = catalogue();
    let m = c.resolve(None, "claude-sonnet-4-5-20250929").unwrap();
    let info = c.info(m);
    assert_eq!(
        (info.provider_id, info.provider_name, info.model_id),
        ("anthropic", "Anthropic", "claude-sonnet-4-5")
    );
    assert_eq!(info.name, Some("Claude Sonnet 4.5"));
    assert_eq!(info.context_window, Some(1_000_000));
    let anthropic = c.models_of_provider("anthropic");
    assert_eq!(anthropic.len(), 21);
    assert!(anthropic.contains(&m));
    assert!(c.models_of_provider("no-such-provider").is_empty());
    // By a name the provider's provider_match accepts.
    assert_eq!(c.models_of_provider("bedrock"), c.models_of_provider("aws"));
}
