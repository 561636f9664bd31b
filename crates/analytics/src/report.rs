//! [`full_analysis`]: the spend breakdown and every recommendation, with
//! default arguments, in one [`Report`].

use crate::analyses::batch::BatchScan;
use crate::analyses::breakdown::BreakdownScan;
use crate::analyses::capacity::CapacityScan;
use crate::analyses::oversized::OversizedScan;
use crate::analyses::prompt_caching::PromptCachingScan;
use crate::analyses::response_caching::ResponseCachingScan;
use crate::analyses::retries::RetryScan;
use crate::analyses::substitution::SubstitutionScan;
use crate::analyses::*;
use crate::context::AnalysisContext;
use crate::error::AnalysisError;
use crate::priced::UnpricedModel;
use crate::recommendation::{Recommendation, usd};
use crate::scan;
use crate::span::TimeSpan;
use crate::tools::ToolResult;
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, PoisonError};

/// One analysis's summary line, by tool name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSummary {
    pub tool: String,
    pub summary: String,
}

/// Everything the analyses found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub span: TimeSpan,
    /// Observed amounts times this are USD per 30-day month.
    pub monthly_factor: f64,
    /// The price catalogue's snapshot date.
    pub catalogue_date: String,
    pub breakdown: SpendBreakdown,
    /// Largest monthly saving first; findings without a saving (capacity) last.
    pub recommendations: Vec<Recommendation>,
    /// Every analysis's summary line, including those that found nothing.
    pub analyses: Vec<AnalysisSummary>,
    pub unpriced: Vec<UnpricedModel>,
    /// Caveats that apply to the whole report.
    pub notes: Vec<String>,
}

/// What one analysis of [`full_analysis`] produced.
enum Outcome {
    Breakdown(Box<SpendBreakdown>),
    Other {
        summary: String,
        recommendation: Option<Box<Recommendation>>,
    },
}

fn other(out: &dyn ToolResultDyn) -> Outcome {
    Outcome::Other {
        summary: out.summary_line(),
        recommendation: out.recommendation_ref().cloned().map(Box::new),
    }
}

/// The analyses, in report order (the order of [`crate::tools`]).
const NAMES: [&str; 8] = [
    "spend_breakdown",
    "model_substitution",
    "prompt_caching",
    "response_caching",
    "batch_api",
    "oversized_requests",
    "retry_waste",
    "capacity",
];

type Finish<'a> = Box<dyn FnOnce() -> Result<Outcome, AnalysisError> + Send + 'a>;

/// Runs the spend breakdown and every recommendation with default arguments.
///
/// The rows are priced once; then every analysis's pass over the rows is
/// fused into one scan (two on two or more cores, each feeding four
/// analyses), so the rows are read from memory once or twice instead of
/// once per analysis; then the analyses finish (medians, grouping, second
/// passes) on as many threads as there are cores (at most 4).
pub fn full_analysis(ctx: &AnalysisContext) -> Result<Report, AnalysisError> {
    let view = ctx.priced()?;
    let mut breakdown = BreakdownScan::new(ctx, &SpendBreakdownInput::default())?;
    let mut substitution = SubstitutionScan::new(ctx, &ModelSubstitutionInput::default())?;
    let mut prompt = PromptCachingScan::new(ctx, &PromptCachingInput::default())?;
    let mut response = ResponseCachingScan::new(ctx, &ResponseCachingInput::default())?;
    let mut batch = BatchScan::new(ctx, &BatchApiInput::default())?;
    let mut oversized = OversizedScan::new(ctx, &OversizedInput::default())?;
    let mut retries = RetryScan::new(ctx, &RetryWasteInput::default())?;
    let mut capacity = CapacityScan::new(ctx, &CapacityInput::default())?;

    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    if threads >= 2 {
        let (b, r, ba, c) = (&mut breakdown, &mut response, &mut batch, &mut capacity);
        std::thread::scope(|scope| {
            let other = scope.spawn(move || scan::run(ctx, &mut [b, r, ba, c]));
            let mine = scan::run(
                ctx,
                &mut [&mut substitution, &mut prompt, &mut oversized, &mut retries],
            );
            let theirs = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            mine.and(theirs)
        })?;
    } else {
        scan::run(
            ctx,
            &mut [
                &mut breakdown,
                &mut substitution,
                &mut prompt,
                &mut response,
                &mut batch,
                &mut oversized,
                &mut retries,
                &mut capacity,
            ],
        )?;
    }

    // Longest first, so the threads finish together; the index is the report order.
    let finishes: Vec<(usize, Finish<'_>)> = vec![
        (1, Box::new(move || Ok(other(&substitution.finish()?)))),
        (3, Box::new(move || Ok(other(&response.finish()?)))),
        (
            0,
            Box::new(move || Ok(Outcome::Breakdown(Box::new(breakdown.finish()?)))),
        ),
        (5, Box::new(move || Ok(other(&oversized.finish()?)))),
        (2, Box::new(move || Ok(other(&prompt.finish()?)))),
        (6, Box::new(move || Ok(other(&retries.finish()?)))),
        (4, Box::new(move || Ok(other(&batch.finish()?)))),
        (7, Box::new(move || Ok(other(&capacity.finish()?)))),
    ];
    let queue = Mutex::new(finishes.into_iter());
    let worker = || {
        let mut done = Vec::new();
        loop {
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some((i, finish)) = next else { break };
            let result = finish();
            let failed = result.is_err();
            done.push((i, result));
            if failed {
                break;
            }
        }
        done
    };
    let mut results: Vec<(usize, Result<Outcome, AnalysisError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
        let mut all = worker();
        for h in handles {
            all.extend(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        all
    });
    results.sort_by_key(|(i, _)| *i);
    // A failed job stops the others: its error is the result.
    let mut breakdown = None;
    let mut analyses = Vec::with_capacity(NAMES.len());
    let mut recommendations = Vec::new();
    for (i, result) in results {
        match result? {
            Outcome::Breakdown(b) => {
                analyses.push(AnalysisSummary {
                    tool: NAMES[i].to_owned(),
                    summary: b.summary(),
                });
                breakdown = Some(*b);
            }
            Outcome::Other {
                summary,
                recommendation,
            } => {
                analyses.push(AnalysisSummary {
                    tool: NAMES[i].to_owned(),
                    summary,
                });
                recommendations.extend(recommendation.map(|r| *r));
            }
        }
    }
    // A worker stops after a failure, so a missing result means another one failed first.
    let Some(breakdown) = breakdown.filter(|_| analyses.len() == NAMES.len()) else {
        return Err(AnalysisError::Cancelled);
    };
    recommendations.sort_by(|a, b| b.monthly_savings_usd.total_cmp(&a.monthly_savings_usd));

    let mut notes = vec![format!("Amounts: {}.", view.span.basis)];
    if let Some(largest) = recommendations
        .first()
        .filter(|r| r.monthly_savings_usd > 0.0)
    {
        notes.push(format!(
            "Savings overlap (batching, substituting and caching can concern the same calls): do not add them up. \
             The largest single saving is {} per month ({}).",
            usd(largest.monthly_savings_usd),
            largest.id
        ));
    }
    if !breakdown.unpriced.is_empty() {
        notes.push(format!(
            "{} calls of {} model(s) are unpriced: the catalogue does not price them, so they are in no dollar figure.",
            breakdown.totals.unpriced_calls,
            breakdown.unpriced.len()
        ));
    }
    if view.span.low_confidence {
        notes.push("Less than a day of data: the monthly figures are low confidence.".to_owned());
    }
    Ok(Report {
        span: view.span.clone(),
        monthly_factor: view.span.monthly_factor,
        catalogue_date: ctx.catalogue().snapshot_date().to_owned(),
        unpriced: breakdown.unpriced.clone(),
        breakdown,
        recommendations,
        analyses,
        notes,
    })
}

/// Object-safe view of [`ToolResult`] for the list above.
trait ToolResultDyn {
    fn summary_line(&self) -> String;
    fn recommendation_ref(&self) -> Option<&Recommendation>;
}

impl<T: ToolResult> ToolResultDyn for T {
    fn summary_line(&self) -> String {
        ToolResult::summary(self)
    }
    fn recommendation_ref(&self) -> Option<&Recommendation> {
        ToolResult::recommendation(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lists_the_analyses_in_tool_order() {
        let tools: Vec<&str> = crate::tools().iter().map(|t| t.name).collect();
        assert_eq!(NAMES.to_vec(), tools);
    }
}
