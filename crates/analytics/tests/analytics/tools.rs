//! The tool registry: calling by name with JSON, argument errors, schemas,
//! and cancellation.

use crate::helpers::*;
use analytics::analyses::*;
use analytics::{AnalysisContext, AnalysisError, Toolbox, full_analysis, tools};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use usage::UsageRecord;

fn small() -> Vec<UsageRecord> {
    (0..50)
        .map(|k| with_feature(call(k * 30, "openai", "gpt-4o", 1_000 + k as u64, 100), "f"))
        .collect()
}

fn default_args(name: &str) -> Value {
    match name {
        "spend_breakdown" => serde_json::to_value(SpendBreakdownInput::default()),
        "model_substitution" => serde_json::to_value(ModelSubstitutionInput::default()),
        "prompt_caching" => serde_json::to_value(PromptCachingInput::default()),
        "response_caching" => serde_json::to_value(ResponseCachingInput::default()),
        "batch_api" => serde_json::to_value(BatchApiInput::default()),
        "oversized_requests" => serde_json::to_value(OversizedInput::default()),
        "retry_waste" => serde_json::to_value(RetryWasteInput::default()),
        "capacity" => serde_json::to_value(CapacityInput::default()),
        other => panic!("no default args for {other}"),
    }
    .unwrap()
}

#[test]
fn every_tool_runs_with_default_and_explicit_arguments() {
    let ctx = ctx(&small());
    let names: Vec<&str> = tools().iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "spend_breakdown",
            "model_substitution",
            "prompt_caching",
            "response_caching",
            "batch_api",
            "oversized_requests",
            "retry_waste",
            "capacity"
        ]
    );
    let toolbox = Toolbox::new();
    for spec in tools() {
        for args in [Value::Null, json!({}), default_args(spec.name)] {
            let out = toolbox
                .call(spec.name, args, &ctx)
                .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
            assert!(!out.summary.is_empty(), "{}", spec.name);
            assert!(out.result.is_object(), "{}", spec.name);
        }
        assert!(!spec.description.is_empty());
    }
}

#[test]
fn schemas_describe_exactly_the_input_fields() {
    for spec in tools() {
        let schema = spec.parameters_json();
        assert_eq!(schema["type"], "object", "{}", spec.name);
        assert_eq!(schema["additionalProperties"], false, "{}", spec.name);
        let documented: BTreeSet<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let actual: BTreeSet<String> = default_args(spec.name)
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(documented, actual, "{}", spec.name);
    }
}

#[test]
fn the_tool_result_is_the_typed_output() {
    let ctx = ctx(&small());
    let out = Toolbox::new()
        .call(
            "spend_breakdown",
            json!({"top_n": 1, "include_days": false}),
            &ctx,
        )
        .unwrap();
    let typed = spend_breakdown(
        &ctx,
        &SpendBreakdownInput {
            top_n: 1,
            include_days: false,
        },
    )
    .unwrap();
    assert_eq!(out.result, serde_json::to_value(&typed).unwrap());
    assert_eq!(out.summary, typed.summary());
    assert!(out.recommendation.is_none());
    assert_eq!(out.result["totals"]["calls"], 50);
}

#[test]
fn bad_names_and_arguments_are_errors() {
    let ctx = ctx(&small());
    let toolbox = Toolbox::new();
    assert!(
        matches!(toolbox.call("nope", Value::Null, &ctx), Err(AnalysisError::UnknownTool(n)) if n == "nope")
    );
    let typo = toolbox.call("capacity", json!({"grwoth": 2}), &ctx);
    assert!(
        matches!(
            typo,
            Err(AnalysisError::InvalidArguments {
                tool: "capacity",
                ..
            })
        ),
        "{typo:?}"
    );
    let wrong_type = toolbox.call("response_caching", json!({"top_n": "five"}), &ctx);
    assert!(matches!(
        wrong_type,
        Err(AnalysisError::InvalidArguments { .. })
    ));
    let out_of_range = toolbox.call("batch_api", json!({"night_share": 2.0}), &ctx);
    assert!(matches!(
        out_of_range,
        Err(AnalysisError::InvalidParameter {
            name: "night_share",
            ..
        })
    ));
}

#[test]
fn cancellation_before_and_after() {
    let flag = Arc::new(AtomicBool::new(true));
    let check = Arc::clone(&flag);
    let ctx = AnalysisContext::new(dataset(&small()), catalogue())
        .with_cancel(move || check.load(Ordering::Relaxed));
    assert!(matches!(full_analysis(&ctx), Err(AnalysisError::Cancelled)));
    assert!(matches!(
        Toolbox::new().call("retry_waste", Value::Null, &ctx),
        Err(AnalysisError::Cancelled)
    ));
    flag.store(false, Ordering::Relaxed);
    assert!(
        full_analysis(&ctx).is_ok(),
        "a cancelled run leaves nothing half-computed behind"
    );
}

#[test]
fn cancellation_is_checked_inside_the_row_loops() {
    // 300,000 rows: five chunks of 65,536. The check turns true on its third call,
    // which happens inside the first pass over the rows.
    let ds = analytics::sample_dataset(1, 30, 2.0, Some(300_000));
    assert_eq!(ds.len(), 300_000);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let ctx = AnalysisContext::new(Arc::new(ds), catalogue())
        .with_cancel(move || seen.fetch_add(1, Ordering::Relaxed) >= 2);
    assert!(matches!(full_analysis(&ctx), Err(AnalysisError::Cancelled)));
    assert_eq!(
        calls.load(Ordering::Relaxed),
        3,
        "stopped at the first check that said so"
    );
}
