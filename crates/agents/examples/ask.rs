//! Asks the agents one question about the sample workload and prints the
//! events and the answer: `cargo run -p agents --example ask -- "how can we cut costs by 30%?"`.
//! Set `APEX_OPENAI_BASE_URL` (and `APEX_OPENAI_MODEL`, `APEX_OPENAI_API_KEY`)
//! to have an OpenAI-compatible model triage and write the answer.

use agents::{
    AgentEvent, LanguageModel, NoModel, OpenAiCompatible, OpenAiConfig, RunInput, Supervisor,
    VecSink,
};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let question = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "How can we cut our AI costs by 30%?".to_owned());
    let days = std::env::var("APEX_SAMPLE_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(7);
    let model: Arc<dyn LanguageModel> = match std::env::var("APEX_OPENAI_BASE_URL") {
        Ok(base) => {
            let mut config = OpenAiConfig::new(
                base,
                std::env::var("APEX_OPENAI_MODEL").unwrap_or_else(|_| "llama3.1".to_owned()),
            );
            config.api_key = std::env::var("APEX_OPENAI_API_KEY")
                .ok()
                .map(secrecy::SecretString::from);
            Arc::new(OpenAiCompatible::new(config)?)
        }
        Err(_) => Arc::new(NoModel),
    };
    let input = RunInput {
        message: question,
        message_id: "example".to_owned(),
        dataset: Some(Arc::new(analytics::sample_dataset(42, days, 1.0, None))),
        dataset_name: Some(format!("sample ({days} days)")),
        catalogue: Arc::new(pricing::Catalogue::embedded()),
        rate_limits: None,
    };
    let sink = VecSink::new();
    let outcome = Supervisor::new(model)
        .run(input, &sink, CancellationToken::new())
        .await?;
    for event in sink.take() {
        match &event {
            AgentEvent::AgentThinking { agent, text } => println!("[{agent}] thinking: {text}"),
            AgentEvent::ToolCompleted {
                agent,
                tool,
                ok,
                duration_ms,
                summary,
                ..
            } => {
                println!("[{agent}] {tool} ok={ok} {duration_ms} ms: {summary}")
            }
            AgentEvent::AgentCompleted {
                agent,
                status,
                summary,
                ..
            } => println!("[{agent}] completed ({status:?}): {summary}"),
            other => println!("[{}] {}", other.agent(), other.event_type()),
        }
    }
    println!("\n{}", outcome.final_response);
    Ok(())
}
