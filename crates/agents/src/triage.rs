//! Triage: what the user asks. By rules (keywords, in a fixed order of
//! precedence), or by a language model answering with one label, falling
//! back to the rules when its answer is not exactly one known label.
//!
//! Besides the [`Intent`], the rules read two numbers from the question: a
//! savings target (`"cut costs by 30%"`) and a growth factor for capacity
//! (`"at 5x traffic"`, `"if traffic doubles"`).

use crate::llm::{ChatMessage, ChatRequest};
use crate::verify::numbers_in;
use serde::{Deserialize, Serialize};

/// What a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Spend less.
    Cost,
    /// Answer faster.
    Latency,
    /// Which model to use.
    ModelChoice,
    /// Rate limits and growth.
    Capacity,
    /// A question about the data itself ("how much did we spend on X").
    DataQuestion,
    /// A greeting or "what can you do".
    Help,
    /// Anything else.
    OutOfScope,
}

impl Intent {
    pub const ALL: [Intent; 7] = [
        Intent::Cost,
        Intent::Latency,
        Intent::ModelChoice,
        Intent::Capacity,
        Intent::DataQuestion,
        Intent::Help,
        Intent::OutOfScope,
    ];

    /// The label, as serialised and as the model is asked to answer.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Cost => "cost",
            Intent::Latency => "latency",
            Intent::ModelChoice => "model_choice",
            Intent::Capacity => "capacity",
            Intent::DataQuestion => "data_question",
            Intent::Help => "help",
            Intent::OutOfScope => "out_of_scope",
        }
    }

    /// For thinking events: "a cost question".
    pub fn describe(self) -> &'static str {
        match self {
            Intent::Cost => "a cost question",
            Intent::Latency => "a latency question",
            Intent::ModelChoice => "a model-choice question",
            Intent::Capacity => "a capacity question",
            Intent::DataQuestion => "a question about the data",
            Intent::Help => "a greeting or a request for help",
            Intent::OutOfScope => "a question outside what Apex does",
        }
    }

    /// True when answering needs a usage dataset.
    pub fn needs_data(self) -> bool {
        !matches!(self, Intent::Help | Intent::OutOfScope)
    }
}

/// Words that mean "spend less": a question with one of them is about cost
/// whatever else it mentions. Entries ending in `*` match word prefixes.
const SAVING: &[&str] = &[
    "save",
    "saving",
    "savings",
    "cheaper",
    "cheapest",
    "cut",
    "cutting",
    "reduce",
    "reducing",
    "reduction",
    "lower",
    "lowering",
    "optimi*",
    "trim",
    "waste*",
    "wasting",
    "spend less",
    "cost less",
    "too expensive",
    "overspend*",
];
const CAPACITY: &[&str] = &[
    "capacity",
    "scale",
    "scaling",
    "rate limit*",
    "ratelimit*",
    "growth",
    "grow",
    "grows",
    "growing",
    "throughput",
    "headroom",
    "quota*",
    "throttl*",
    "tokens per minute",
    "requests per minute",
    "rpm",
    "tpm",
];
const LATENCY: &[&str] = &[
    "latency",
    "slow",
    "slower",
    "slowest",
    "fast",
    "faster",
    "fastest",
    "speed*",
    "quick",
    "quicker",
    "response time*",
    "p50",
    "p90",
    "p95",
    "p99",
    "ttft",
    "time to first token",
    "lag",
    "laggy",
    "responsive*",
];
const DATA: &[&str] = &[
    "how much",
    "how many",
    "breakdown",
    "break down",
    "show me",
    "list",
    "top",
    "most",
    "which feature*",
    "which user*",
    "which team*",
    "what did we",
    "what was",
    "what were",
    "what is our",
    "what s our",
    "whats our",
    "per day",
    "by day",
    "daily",
    "by model",
    "by feature",
    "by user",
    "per model",
    "per feature",
    "per user",
    "trend*",
    "error rate*",
    "total",
    "overview",
    "summary",
    "summarise",
    "summarize",
    "token mix",
    "tokens",
];
const MODEL_CHOICE: &[&str] = &[
    "which model*",
    "what model*",
    "model choice",
    "choose a model",
    "choosing a model",
    "choice of model",
    "best model*",
    "switch model*",
    "switch to",
    "different model*",
    "smaller model*",
    "alternative model*",
    "model should",
    "substitut*",
    "downgrade*",
    "swap model*",
    "right model*",
];
const COST: &[&str] = &[
    "cost",
    "costs",
    "costly",
    "spend",
    "spending",
    "spent",
    "expensive",
    "bill",
    "billing",
    "budget",
    "money",
    "price*",
    "dollar*",
    "usd",
    "invoice*",
];
const HELP: &[&str] = &[
    "hello",
    "hi",
    "hey",
    "hiya",
    "howdy",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
    "help",
    "what can you do",
    "what do you do",
    "who are you",
    "what are you",
    "what is apex",
    "how does this work",
    "how do i use",
    "thanks",
    "thank you",
    "getting started",
];

/// Classifies a question by keywords. Precedence: capacity, saving, latency,
/// data question, model choice, other cost words, help; else out of scope.
pub fn classify_by_rules(message: &str) -> Intent {
    let text = Normalised::new(message);
    let has_target = target_savings_pct(message).is_some();
    if text.any(CAPACITY) {
        Intent::Capacity
    } else if text.any(SAVING) || (has_target && text.any(COST)) {
        Intent::Cost
    } else if text.any(LATENCY) {
        Intent::Latency
    } else if text.any(DATA) {
        Intent::DataQuestion
    } else if text.any(MODEL_CHOICE) {
        Intent::ModelChoice
    } else if text.any(COST) {
        Intent::Cost
    } else if text.any(HELP) {
        Intent::Help
    } else {
        Intent::OutOfScope
    }
}

/// The savings target of a question, in percent: the first percentage
/// between 0 and 100 (exclusive of 0) in it, e.g. 30.0 for "cut costs by 30%".
pub fn target_savings_pct(message: &str) -> Option<f64> {
    numbers_in(message)
        .into_iter()
        .find(|n| n.percent && n.value > 0.0 && n.value <= 100.0)
        .map(|n| n.value)
}

/// The traffic growth a capacity question asks about: `5x`, `5×`, "5 times",
/// "double", "triple", "tenfold". `None` when it names none.
pub fn growth_factor(message: &str) -> Option<f64> {
    let lower = message.to_lowercase();
    for (word, factor) in [
        ("double", 2.0),
        ("twice", 2.0),
        ("triple", 3.0),
        ("quadruple", 4.0),
        ("tenfold", 10.0),
        ("ten times", 10.0),
    ] {
        if lower.contains(word) {
            return Some(factor);
        }
    }
    for n in numbers_in(&lower) {
        if n.percent || n.currency || n.value <= 1.0 || n.value > 1000.0 {
            continue;
        }
        let after = lower[n.end..].trim_start();
        if after.starts_with('x') && !after[1..].starts_with(|c: char| c.is_alphabetic())
            || after.starts_with('×')
            || after.starts_with("times")
            || after.starts_with("fold")
        {
            return Some(n.value);
        }
    }
    None
}

/// The request asking a model to classify `message` with one label.
pub fn classification_request(message: &str) -> ChatRequest {
    let system = "You classify questions sent to Apex, a tool that analyses a team's LLM API usage data \
        (calls, tokens, costs, latency) and recommends how to spend less or answer faster.\n\
        Answer with exactly one label and nothing else:\n\
        cost: spending less, savings, cost reduction\n\
        latency: speed, slow responses, response times\n\
        model_choice: which model to use, switching models\n\
        capacity: rate limits, scaling, traffic growth\n\
        data_question: a factual question about the usage data (how much, how many, which, breakdowns)\n\
        help: a greeting, or asking what Apex can do\n\
        out_of_scope: anything else";
    ChatRequest {
        system: Some(system.to_owned()),
        messages: vec![ChatMessage::user(message)],
        max_tokens: Some(10),
        temperature: Some(0.0),
    }
}

/// The label in a model's answer: exactly one known label (case, spaces and
/// hyphens tolerated), else `None`.
pub fn parse_label(answer: &str) -> Option<Intent> {
    let norm: String = answer
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>();
    let words: Vec<&str> = norm.split('_').filter(|w| !w.is_empty()).collect();
    let joined = format!("_{}_", words.join("_"));
    let found: Vec<Intent> = Intent::ALL
        .into_iter()
        .filter(|i| joined.contains(&format!("_{}_", i.as_str())))
        .collect();
    match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Lower-case words separated by single spaces, padded with a space at each end.
struct Normalised {
    padded: String,
}

impl Normalised {
    fn new(text: &str) -> Self {
        let words: Vec<String> = text
            .to_lowercase()
            .split(|c: char| !(c.is_alphanumeric() || c == '%'))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        Normalised {
            padded: format!(" {} ", words.join(" ")),
        }
    }

    /// True when any pattern occurs: whole words, or a word prefix for `*` patterns.
    fn any(&self, patterns: &[&str]) -> bool {
        patterns.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => self.padded.contains(&format!(" {prefix}")),
            None => self.padded.contains(&format!(" {p} ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_spec_examples_by_rules() {
        let cases = [
            ("How can I cut our AI costs by 30%?", Intent::Cost),
            ("we need to save money on LLM calls", Intent::Cost),
            ("Is there a cheaper way to run support chat?", Intent::Cost),
            ("Our bill is too high", Intent::Cost),
            ("Why is the chat so slow?", Intent::Latency),
            ("what's our p95 latency", Intent::Latency),
            (
                "Which model should we use for summaries?",
                Intent::ModelChoice,
            ),
            ("model choice for the nightly job", Intent::ModelChoice),
            ("Will we hit rate limits at 3x growth?", Intent::Capacity),
            ("can we scale to twice the users", Intent::Capacity),
            (
                "How much did we spend on support-chat last month?",
                Intent::DataQuestion,
            ),
            ("how many calls failed", Intent::DataQuestion),
            ("which model costs the most", Intent::DataQuestion),
            ("hello", Intent::Help),
            ("Hi!", Intent::Help),
            ("what can you do?", Intent::Help),
            ("help", Intent::Help),
            ("Write me a poem about the sea", Intent::OutOfScope),
            ("What's the weather in Paris?", Intent::OutOfScope),
        ];
        for (q, want) in cases {
            assert_eq!(classify_by_rules(q), want, "{q}");
        }
    }

    #[test]
    fn short_words_match_whole_words_only() {
        // "hi" is in "this" and "which", "cut" in "execute": neither counts.
        assert_eq!(classify_by_rules("execute this thing"), Intent::OutOfScope);
        assert_eq!(
            classify_by_rules("hi, how can we reduce spend?"),
            Intent::Cost
        );
    }

    #[test]
    fn reads_targets_and_growth() {
        assert_eq!(target_savings_pct("cut costs by 30%"), Some(30.0));
        assert_eq!(target_savings_pct("cut costs by 12.5 percent"), Some(12.5));
        assert_eq!(target_savings_pct("cut costs"), None);
        assert_eq!(growth_factor("what happens at 5x traffic"), Some(5.0));
        assert_eq!(growth_factor("at 2.5 times the load"), Some(2.5));
        assert_eq!(growth_factor("if traffic doubles"), Some(2.0));
        assert_eq!(growth_factor("can we handle growth"), None);
        assert_eq!(growth_factor("the 4xl instance"), None);
    }

    #[test]
    fn parses_exactly_one_label() {
        assert_eq!(parse_label("cost"), Some(Intent::Cost));
        assert_eq!(parse_label(" Model-Choice.\n"), Some(Intent::ModelChoice));
        assert_eq!(parse_label("Label: out of scope"), Some(Intent::OutOfScope));
        assert_eq!(parse_label("data_question"), Some(Intent::DataQuestion));
        assert_eq!(parse_label("cost or latency"), None);
        assert_eq!(parse_label("I think it is about money"), None);
        assert_eq!(parse_label(""), None);
    }
}
