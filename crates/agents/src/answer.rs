//! The written answers: Markdown templates filled with the digest's figures,
//! the fixed answers (help, out of scope, no dataset), and the request that
//! asks a language model to write the answer from the digest instead.
//!
//! Templates write only figures of the digest, in the formats of
//! [`crate::format`]; a test checks every number of their output against the
//! tool results.

use crate::digest::{Digest, GroupDigest, RecommendationDigest};
use crate::format::{cell, count, ms, num, pct, thousands, usd};
use crate::llm::{ChatMessage, ChatRequest};
use crate::triage::Intent;
use analytics::analyses::ModelCapacity;
use analytics::{Confidence, Figure, Unit};
use std::fmt::Write;

/// How to give Apex a dataset, said wherever one is missing.
pub const DATASET_HOWTO: &str = "Upload a usage file (Apex JSONL or CSV, OpenTelemetry GenAI spans, LiteLLM spend \
    logs, OpenAI or Anthropic usage exports, or Claude Code transcripts) with the upload button or \
    `POST /v1/datasets`, or load the sample workload with **Try the sample** or `POST /v1/datasets/sample`; then ask \
    again with that dataset selected. Offline, `apex analyze FILE` runs the same analyses in a terminal.";

const CAPABILITIES: &str = "I analyse your LLM usage data (one record per API call) and tell you where the money goes \
    and what to change to spend less or answer faster, with the savings computed from your own data. I can:\n\n\
    - break down spend by model, provider, feature, user and day, with the token mix, latency percentiles and error rates;\n\
    - recommend cheaper models of a comparable capability tier, prompt caching, response caching for duplicate \
    requests, the batch API for traffic that can wait, trimming oversized prompts and outputs, and cutting retry waste, \
    each with its estimated monthly saving, a confidence and the evidence;\n\
    - check your rate-limit headroom if traffic grows.\n\n\
    Try asking:\n\n\
    - \"How can we cut our AI costs?\"\n\
    - \"Which model should we use for ticket classification?\"\n\
    - \"How much did we spend on support chat?\"\n\
    - \"Will we hit our rate limits if traffic triples?\"";

/// The answer to a greeting or a request for help.
pub fn help_answer(dataset: Option<&str>) -> String {
    format!(
        "Hi! I'm Apex's optimisation agent. {CAPABILITIES}\n\n{}",
        dataset_line(dataset)
    )
}

/// The honest answer to a question outside Apex's domain.
pub fn out_of_scope_answer(dataset: Option<&str>) -> String {
    format!(
        "I can't help with that: I'm Apex's optimisation agent, and I only answer questions about your LLM usage \
         and how to optimise it. {CAPABILITIES}\n\n{}",
        dataset_line(dataset)
    )
}

fn dataset_line(dataset: Option<&str>) -> String {
    match dataset {
        Some(name) => format!(
            "Your questions will be answered from the dataset **{}**.",
            cell(name)
        ),
        None => format!("No dataset is selected yet. {DATASET_HOWTO}"),
    }
}

/// The answer when the question needs data and none is attached.
pub fn no_data_answer(intent: Intent) -> String {
    format!(
        "To answer {} I need your usage data, and no dataset is attached to this conversation.\n\n{DATASET_HOWTO}",
        intent.describe()
    )
}

/// The answer when the dataset could not be analysed.
pub fn data_failed_answer(dataset: Option<&str>, reason: &str) -> String {
    let name = dataset
        .map(|n| format!(" **{}**", cell(n)))
        .unwrap_or_default();
    format!("I could not analyse the dataset{name}: {reason}.\n\n{DATASET_HOWTO}")
}

/// The template answer for a digest.
pub fn template_answer(d: &Digest) -> String {
    let mut out = String::new();
    match d.question.intent {
        Intent::Latency => latency(&mut out, d),
        Intent::ModelChoice => model_choice(&mut out, d),
        Intent::Capacity => capacity(&mut out, d),
        Intent::DataQuestion => data_question(&mut out, d),
        Intent::Cost | Intent::Help | Intent::OutOfScope => cost(&mut out, d),
    }
    notes(&mut out, d);
    out.trim_end().to_owned()
}

fn cost(out: &mut String, d: &Digest) {
    section(out, "Summary");
    spend_sentence(out, d);
    match &d.savings {
        Some(s) => {
            let _ = write!(
                out,
                " The analyses found {} recommendation(s) with a saving. Together they could save an estimated \
                 **{} per month, {} of spend**: the savings overlap, so they are combined one after another, not \
                 added up. The largest single saving is {} per month: {}.",
                s.recommendations_with_savings,
                usd(s.combined_monthly_usd),
                pct(s.combined_pct_of_spend),
                usd(s.largest_monthly_usd),
                s.largest_title.trim_end_matches('.')
            );
        }
        None => out.push_str(" The analyses found no saving worth recommending in this data."),
    }
    if let Some(t) = &d.target {
        let reach = d.savings.as_ref().map_or(0.0, |s| s.combined_pct_of_spend);
        if t.reached {
            let _ = write!(
                out,
                " That reaches your target of a {} cut ({} per month).",
                pct(t.target_pct),
                usd(t.target_monthly_usd)
            );
        } else {
            let _ = write!(
                out,
                " That falls short of your target of a {} cut ({} per month): these changes reach {}.",
                pct(t.target_pct),
                usd(t.target_monthly_usd),
                pct(reach)
            );
        }
    }
    out.push('\n');
    recommendations(out, &d.recommendations);
}

fn latency(out: &mut String, d: &Digest) {
    section(out, "Summary");
    match &d.latency {
        Some(l) => {
            let _ = write!(
                out,
                "Over {} calls with a recorded latency, the median is {}, p95 {} and p99 {}.",
                thousands(l.samples),
                ms(l.p50_ms),
                ms(l.p95_ms),
                ms(l.p99_ms)
            );
        }
        None => {
            out.push_str("The data records no latencies, so I cannot say how fast the calls are.")
        }
    }
    let faster: Vec<&RecommendationDigest> = d
        .recommendations
        .iter()
        .filter(|r| r.latency_effect.is_some())
        .collect();
    if !faster.is_empty() {
        let _ = write!(
            out,
            " {} of the recommendations also change latency; see the evidence below.",
            faster.len()
        );
    }
    out.push(' ');
    spend_sentence(out, d);
    out.push('\n');
    let with_latency: Vec<&GroupDigest> = d
        .top_models
        .iter()
        .filter(|g| g.latency.is_some())
        .collect();
    if !with_latency.is_empty() {
        section(out, "Latency by model");
        out.push_str("| Model | Calls | p50 | p95 | p99 |\n|---|---:|---:|---:|---:|\n");
        for g in with_latency {
            if let Some(l) = &g.latency {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    cell(&g.name),
                    thousands(g.calls),
                    ms(l.p50_ms),
                    ms(l.p95_ms),
                    ms(l.p99_ms)
                );
            }
        }
    }
    recommendations(out, &d.recommendations);
}

fn model_choice(out: &mut String, d: &Digest) {
    section(out, "Summary");
    spend_sentence(out, d);
    match d
        .recommendations
        .iter()
        .find(|r| r.id == "model_substitution")
    {
        Some(r) => {
            let _ = write!(
                out,
                " Switching to cheaper models of a comparable capability tier could save an estimated **{} per month, \
                 {} of spend** ({} confidence).",
                usd(r.monthly_savings_usd),
                pct(r.savings_pct_of_spend),
                confidence(r.confidence)
            );
        }
        None => out.push_str(
            " I found no cheaper model of a comparable capability tier for your traffic.",
        ),
    }
    out.push('\n');
    groups_table(out, "Models in use", &d.top_models);
    recommendations(out, &d.recommendations);
}

fn capacity(out: &mut String, d: &Digest) {
    section(out, "Summary");
    if let Some(summary) = d.analyses.iter().find(|a| a.tool == "capacity") {
        let _ = write!(out, "{}.", summary.summary.trim_end_matches('.'));
    }
    out.push('\n');
    if !d.capacity.is_empty() {
        let growth = d
            .capacity_growth
            .map_or_else(String::new, |g| format!(" at {}x", num(g, 1)));
        section(out, &format!("Busiest minute per model{growth}"));
        out.push_str(
            "| Model | Peak requests/min | Peak tokens/min | Projected requests/min | Projected tokens/min | Limit (requests, tokens/min) | Headroom (requests, tokens) |\n\
             |---|---:|---:|---:|---:|---|---|\n",
        );
        for m in &d.capacity {
            capacity_row(out, m);
        }
    }
    recommendations(out, &d.recommendations);
}

fn capacity_row(out: &mut String, m: &ModelCapacity) {
    let opt = |v: Option<u64>| v.map_or_else(|| "none known".to_owned(), thousands);
    let head = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), pct);
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {}, {} | {}, {} |",
        cell(&m.model),
        thousands(m.peak_rpm),
        thousands(m.peak_tpm),
        thousands(m.projected_peak_rpm),
        thousands(m.projected_peak_tpm),
        opt(m.rpm_limit),
        opt(m.tpm_limit),
        head(m.rpm_headroom_pct),
        head(m.tpm_headroom_pct),
    );
}

fn data_question(out: &mut String, d: &Digest) {
    section(out, "Summary");
    spend_sentence(out, d);
    let s = &d.spend;
    let _ = write!(
        out,
        " {} calls failed ({} error rate).",
        thousands(s.failed_calls),
        pct(s.error_rate_pct)
    );
    if let Some(l) = &d.latency {
        let _ = write!(
            out,
            " Latency: median {}, p95 {}, p99 {}.",
            ms(l.p50_ms),
            ms(l.p95_ms),
            ms(l.p99_ms)
        );
    }
    out.push('\n');
    for g in &d.named_in_question {
        let _ = write!(out, "\n**{} {}:** ", g.kind, cell(&g.name));
        match (g.monthly_usd, g.observed_usd) {
            (Some(m), Some(o)) => {
                let _ = write!(
                    out,
                    "{} per month ({} observed), {} of spend",
                    usd(m),
                    usd(o),
                    pct(g.share_of_spend_pct)
                );
            }
            _ => out.push_str("not priced (the catalogue has no price for it)"),
        }
        let _ = writeln!(
            out,
            ", {} calls, {} error rate.",
            thousands(g.calls),
            pct(g.error_rate_pct)
        );
    }
    groups_table(out, "Spend by model", &d.top_models);
    groups_table(out, "Spend by feature", &d.top_features);
    groups_table(out, "Spend by user", &d.top_users);
}

fn spend_sentence(out: &mut String, d: &Digest) {
    let s = &d.spend;
    let _ = write!(
        out,
        "Your LLM spend is **{} per month** ({} observed over {} calls).",
        usd(s.monthly_usd),
        usd(s.observed_usd),
        thousands(s.calls)
    );
    if s.unpriced_calls > 0 {
        let _ = write!(
            out,
            " {} calls use models without a known price and are in no dollar figure.",
            thousands(s.unpriced_calls)
        );
    }
}

fn groups_table(out: &mut String, title: &str, groups: &[GroupDigest]) {
    if groups.is_empty() {
        return;
    }
    section(out, title);
    out.push_str("| Name | Calls | Monthly spend | Share of spend |\n|---|---:|---:|---:|\n");
    for g in groups {
        let monthly = g.monthly_usd.map_or_else(|| "not priced".to_owned(), usd);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&g.name),
            thousands(g.calls),
            monthly,
            pct(g.share_of_spend_pct)
        );
    }
}

fn recommendations(out: &mut String, recs: &[RecommendationDigest]) {
    if recs.is_empty() {
        return;
    }
    section(out, "Recommendations");
    out.push_str(
        "| # | Recommendation | Est. monthly savings | Confidence |\n|---:|---|---:|---|\n",
    );
    for r in recs {
        let savings = if r.monthly_savings_usd > 0.0 {
            format!(
                "{} ({} of spend)",
                usd(r.monthly_savings_usd),
                pct(r.savings_pct_of_spend)
            )
        } else {
            "none (not about cost)".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.rank,
            cell(&r.title),
            savings,
            confidence(r.confidence)
        );
    }
    section(out, "Evidence");
    for r in recs {
        let _ = writeln!(out, "### {}. {}\n", r.rank, r.title);
        if !r.rationale.is_empty() {
            let _ = writeln!(out, "{}\n", r.rationale.trim());
        }
        let e = &r.evidence;
        let _ = writeln!(out, "- Calls concerned: {}", thousands(e.calls));
        if !e.models.is_empty() {
            let _ = writeln!(out, "- Models: {}", e.models.join(", "));
        }
        if !e.features.is_empty() {
            let _ = writeln!(out, "- Features: {}", e.features.join(", "));
        }
        for f in &e.figures {
            let _ = writeln!(out, "- {}: {}", f.label, figure(f));
        }
        if let Some(l) = &r.latency_effect {
            let _ = writeln!(out, "- Latency: {l}");
        }
        if !r.action.is_empty() {
            let _ = writeln!(out, "\n**What to do:** {}\n", r.action.trim());
        } else {
            out.push('\n');
        }
    }
}

fn notes(out: &mut String, d: &Digest) {
    if d.notes.is_empty() {
        return;
    }
    section(out, "Notes");
    for n in &d.notes {
        let _ = writeln!(out, "- {n}");
    }
}

fn section(out: &mut String, title: &str) {
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
    }
    let _ = writeln!(out, "## {title}\n");
}

/// An evidence figure in its unit.
pub fn figure(f: &Figure) -> String {
    let v = f.value;
    match f.unit {
        Unit::Usd => usd(v),
        Unit::UsdPerMonth => format!("{} per month", usd(v)),
        Unit::Calls => format!("{} calls", count(v)),
        Unit::Tokens => format!("{} tokens", count(v)),
        Unit::Ms => format!("{} ms", count(v)),
        Unit::Percent => pct(v),
        Unit::Ratio => num(v, 2),
        Unit::RequestsPerMinute => format!("{} requests/min", count(v)),
        Unit::TokensPerMinute => format!("{} tokens/min", count(v)),
        Unit::Count => count(v),
    }
}

fn confidence(c: Confidence) -> &'static str {
    match c {
        Confidence::Low => "low",
        Confidence::Medium => "medium",
        Confidence::High => "high",
    }
}

/// The request asking a model to write the answer from the digest.
pub fn model_request(message: &str, digest_json: &serde_json::Value) -> ChatRequest {
    let system = "You are the reporting agent of Apex, which analyses a team's LLM API usage. Write the answer to \
        the user's question in Markdown, using only the JSON digest of analysis results you are given.\n\
        Rules:\n\
        - Every number you write must be copied from the digest (rounding is fine). Do not add, subtract, multiply \
        or otherwise compute new numbers, do not estimate, and do not give examples with made-up numbers.\n\
        - Write money as $1,234.56 and percentages with one decimal (12.3%). Amounts are USD per 30-day month \
        unless the digest says observed.\n\
        - For cost questions: a short summary (monthly spend; the combined estimated saving and its share of spend, \
        saying the savings overlap and are not added up; whether it reaches the user's target when there is one), \
        then a table | Recommendation | Est. monthly savings | Confidence |, then the evidence for each \
        recommendation (calls, models, features, figures) and what to do.\n\
        - For other questions, answer the question directly from the digest, with a table where it helps.\n\
        - Be concise and plain. No preamble, no closing offer.";
    let digest = serde_json::to_string_pretty(digest_json).unwrap_or_default();
    ChatRequest {
        system: Some(system.to_owned()),
        messages: vec![ChatMessage::user(format!(
            "Question: {message}\n\nDigest (JSON):\n```json\n{digest}\n```"
        ))],
        max_tokens: Some(2000),
        temperature: Some(0.2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_answers_are_honest_and_give_examples() {
        let help = help_answer(None);
        assert!(help.contains("Try asking"));
        assert_eq!(help.matches("\n- \"").count(), 4, "four example questions");
        assert!(help.contains("POST /v1/datasets/sample"));
        let oos = out_of_scope_answer(Some("prod"));
        assert!(oos.starts_with("I can't help with that"));
        assert!(oos.contains("**prod**"));
        let none = no_data_answer(Intent::Cost);
        assert!(
            none.contains("no dataset is attached")
                && none.contains("Try the sample")
                && none.contains("apex analyze")
        );
    }

    #[test]
    fn figures_are_written_in_their_units() {
        assert_eq!(
            figure(&Figure::new("x", 1234.5, Unit::UsdPerMonth)),
            "$1,234.50 per month"
        );
        assert_eq!(figure(&Figure::new("x", 12.34, Unit::Percent)), "12.3%");
        assert_eq!(
            figure(&Figure::new("x", 48_000.0, Unit::Tokens)),
            "48,000 tokens"
        );
        assert_eq!(figure(&Figure::new("x", 2.5, Unit::Ratio)), "2.50");
    }
}
