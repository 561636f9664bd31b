//! The analyses as tools callable by name with JSON arguments, for the
//! agents: [`tools`] lists them (name, description, JSON Schema of the
//! arguments), [`Toolbox::call`] runs one. Missing arguments take their
//! defaults; unknown ones are an error ([`AnalysisError::InvalidArguments`]).

use crate::analyses::*;
use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::recommendation::Recommendation;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a tool call returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// One line, with the key figures.
    pub summary: String,
    /// The typed output as JSON.
    pub result: Value,
    /// The recommendation, when the analysis found one.
    pub recommendation: Option<Recommendation>,
}

/// A typed analysis output: its summary line and its recommendation.
pub trait ToolResult: Serialize {
    fn summary(&self) -> String;
    fn recommendation(&self) -> Option<&Recommendation> {
        None
    }
}

macro_rules! tool_result {
    ($($t:ty),* $(,)?) => {$(
        impl ToolResult for $t {
            fn summary(&self) -> String {
                <$t>::summary(self)
            }
            fn recommendation(&self) -> Option<&Recommendation> {
                self.recommendation.as_ref()
            }
        }
    )*};
}

tool_result!(
    ModelSubstitutionOutput,
    PromptCachingOutput,
    ResponseCachingOutput,
    BatchApiOutput,
    OversizedOutput,
    RetryWasteOutput,
    CapacityOutput,
);

impl ToolResult for SpendBreakdown {
    fn summary(&self) -> String {
        SpendBreakdown::summary(self)
    }
}

/// A tool: its name, what it does, and the JSON Schema of its arguments.
#[derive(Clone, Copy)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema (draft 2020-12 subset) of the arguments object.
    pub parameters: &'static str,
    run: fn(&AnalysisContext, Value) -> Result<ToolOutput, AnalysisError>,
}

impl std::fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ToolSpec {
    /// The arguments' JSON Schema, parsed.
    pub fn parameters_json(&self) -> Value {
        serde_json::from_str(self.parameters).unwrap_or(Value::Null)
    }

    /// Runs the tool.
    pub fn call(&self, args: Value, ctx: &AnalysisContext) -> Result<ToolOutput, AnalysisError> {
        (self.run)(ctx, args)
    }
}

fn run_typed<I, O>(
    tool: &'static str,
    args: Value,
    ctx: &AnalysisContext,
    f: fn(&AnalysisContext, &I) -> Result<O, AnalysisError>,
) -> Result<ToolOutput, AnalysisError>
where
    I: DeserializeOwned + Default,
    O: ToolResult,
{
    let input: I = match args {
        Value::Null => I::default(),
        args => serde_json::from_value(args)
            .map_err(|source| AnalysisError::InvalidArguments { tool, source })?,
    };
    ctx.check_cancelled()?;
    let output = f(ctx, &input)?;
    Ok(ToolOutput {
        summary: output.summary(),
        recommendation: output.recommendation().cloned(),
        result: serde_json::to_value(&output).map_err(AnalysisError::Serialize)?,
    })
}

const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "spend_breakdown",
        description: "Where the money goes: total spend (observed and per 30-day month), spend by model, provider, \
                      feature, user and day, token mix, latency p50/p95/p99 overall and per model, error rate, and \
                      the models that could not be priced.",
        parameters: r#"{"type":"object","additionalProperties":false,"properties":{
            "top_n":{"type":"integer","minimum":0,"default":10,"description":"features and users listed before '(others)'"},
            "include_days":{"type":"boolean","default":true,"description":"include the per-day series"}}}"#,
        run: |ctx, args| run_typed("spend_breakdown", args, ctx, spend_breakdown),
    },
    ToolSpec {
        name: "model_substitution",
        description: "Cheaper models of the same capability tier (one tier down for short, simple traffic) per feature \
                      and model, with savings from re-pricing the same token counts at the substitute's prices.",
        parameters: r#"{"type":"object","additionalProperties":false,"properties":{
            "allowed_providers":{"type":["array","null"],"items":{"type":"string"},"default":null,"description":"providers a substitute may come from; default: those in the data"},
            "prefer_same_provider":{"type":"boolean","default":true},
            "allow_tier_down":{"type":"boolean","default":true},
            "simple_max_avg_input_tokens":{"type":"integer","minimum":0,"default":2000},
            "simple_max_avg_output_tokens":{"type":"integer","minimum":0,"default":300},
            "min_monthly_savings_usd":{"type":"number","default":1.0},
            "top_n":{"type":"integer","minimum":1,"default":10}}}"#,
        run: |ctx, args| run_typed("model_substitution", args, ctx, model_substitution),
    },
    ToolSpec {
        name: "prompt_caching",
        description: "Savings from caching long repeated prompt prefixes (same prefix hash and model), replayed against \
                      each provider's cache lifetime with the catalogue's cache read and write prices. Says which data \
                      is missing when calls carry no prefix hash.",
        parameters: r#"{"type":"object","additionalProperties":false,"properties":{
            "min_prefix_tokens":{"type":["integer","null"],"minimum":1,"default":null,"description":"default: each provider's minimum (1024)"},
            "ttl_minutes":{"type":["integer","null"],"minimum":1,"default":null,"description":"default: each provider's (5)"},
            "top_n":{"type":"integer","minimum":1,"default":5}}}"#,
        run: |ctx, args| run_typed("prompt_caching", args, ctx, prompt_caching),
    },
    ToolSpec {
        name: "response_caching",
        description: "Exact duplicate requests (same prompt hash and model, successful): the cost of every repeat after \
                      the first is what a response cache saves.",
        parameters: r#"{"type":"object","additionalProperties":false,"properties":{
            "top_n":{"type":"integer","minimum":1,"default":5}}}"#,
        run: |ctx, args| run_typed("response_caching", args, ctx, response_caching),
    },
    ToolSpec {
        name: "batch_api",
        description: "Delay-tolerant traffic (tags naming a job, or calls almost only at night) on providers with a \
                      batch API, and the batch discount (50%) on its cost.",
        parameters: r#"{"type":"object","additionalProperties":false,"properties":{
            "keywords":{"type":"array","items":{"type":"string"},"description":"whole words in feature, endpoint or environment tags marking jobs"},
            "night_start_hour":{"type":"integer","minimum":0,"maximum":23,"default":0},
            "night_end_hour":{"type":"integer","minimum":0,"maximum":24,"default":6},
            "night_share":{"type":"number","minimum":0,"maximum":1,"default":0.8},
            "min_calls":{"type":"integer","minimum":0,"default":20},
            "top_n":{"type":"integer","minimum":1,"default":10}}}"#,
        run: |ctx, args| run_typed("batch_api", args, ctx, batch_api),
    },
    ToolSpec {
        name: "oversized_requests",
        description: "Calls whose prompt or output is far above their feature's median (more than 4x and above a \
                      floor), and the saving from trimming them to 2x the median.",
        parameters: r#"{"type":"object","additionalProperties":false,"properties":{
            "multiplier":{"type":"number","exclusiveMinimum":1,"default":4.0},
            "trim_to_multiple":{"type":"number","minimum":1,"default":2.0},
            "min_input_tokens":{"type":"integer","minimum":0,"default":8000},
            "min_output_tokens":{"type":"integer","minimum":0,"default":2000},
            "min_feature_calls":{"type":"integer","minimum":1,"default":20},
            "top_n":{"type":"integer","minimum":1,"default":10}}}"#,
        run: |ctx, args| run_typed("oversized_requests", args, ctx, oversized_requests),
    },
    ToolSpec {
        name: "retry_waste",
        description: "Money spent on failed calls and retries, by feature and model, with the worst hours (outage bursts).",
        parameters: r#"{"type":"object","additionalProperties":false,"properties":{
            "top_n":{"type":"integer","minimum":1,"default":10}}}"#,
        run: |ctx, args| run_typed("retry_waste", args, ctx, retry_waste),
    },
    ToolSpec {
        name: "capacity",
        description: "Requests and tokens per minute at 3x growth (busiest and 99th-percentile minute, per model) \
                      against rate limits (configured, else documented assumed defaults): headroom or shortfall.",
        parameters: r#"{"type":"object","additionalProperties":false,"properties":{
            "growth":{"type":"number","exclusiveMinimum":0,"default":3.0},
            "rate_limits":{"type":"array","default":[],"items":{"type":"object","additionalProperties":false,"properties":{
                "provider":{"type":["string","null"]},"model":{"type":["string","null"]},
                "rpm":{"type":["integer","null"],"minimum":0},"tpm":{"type":["integer","null"],"minimum":0},
                "note":{"type":["string","null"]}}}}}}"#,
        run: |ctx, args| run_typed("capacity", args, ctx, capacity),
    },
];

/// Every tool, in the order the optimisation agent runs them.
pub fn tools() -> &'static [ToolSpec] {
    TOOLS
}

/// Calls tools by name.
#[derive(Debug, Clone, Copy, Default)]
pub struct Toolbox;

impl Toolbox {
    pub fn new() -> Self {
        Toolbox
    }

    /// The tools this toolbox calls.
    pub fn specs(&self) -> &'static [ToolSpec] {
        TOOLS
    }

    /// The tool of that name.
    pub fn get(&self, name: &str) -> Option<&'static ToolSpec> {
        TOOLS.iter().find(|t| t.name == name)
    }

    /// Runs the tool `name` with JSON `args` (`null` or `{}` for defaults).
    pub fn call(
        &self,
        name: &str,
        args: Value,
        ctx: &AnalysisContext,
    ) -> Result<ToolOutput, AnalysisError> {
        self.get(name)
            .ok_or_else(|| AnalysisError::UnknownTool(name.to_owned()))?
            .call(args, ctx)
    }
}
