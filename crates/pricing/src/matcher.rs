//! Match rules of the catalogue, compiled.
//!
//! Semantics follow genai-prices: `equals`, `starts_with`, `ends_with`,
//! `contains` compare strings, `regex` searches anywhere in the string
//! (unanchored unless the pattern anchors itself), `or`/`and` combine.
//! Matching is case-insensitive: the reference implementation lowercases the
//! model string, and many catalogue patterns contain capitals
//! (`Qwen/Qwen3-14B-FP8`, `MiniMax-M2`), so both sides are lowercased here
//! (regexes are compiled case-insensitive).

use crate::error::ModelProblem;
use crate::raw::RawClause;
use regex::{Regex, RegexBuilder};

/// A compiled clause. Literal patterns are stored lowercased.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Regex(Regex),
    Or(Vec<Matcher>),
    And(Vec<Matcher>),
}

impl Matcher {
    pub fn compile(raw: &RawClause) -> Result<Matcher, ModelProblem> {
        Ok(match raw {
            RawClause::Equals(s) => Matcher::Equals(s.to_lowercase()),
            RawClause::StartsWith(s) => Matcher::StartsWith(s.to_lowercase()),
            RawClause::EndsWith(s) => Matcher::EndsWith(s.to_lowercase()),
            RawClause::Contains(s) => Matcher::Contains(s.to_lowercase()),
            RawClause::Regex(r) => Matcher::Regex(
                RegexBuilder::new(r)
                    .case_insensitive(true)
                    .build()
                    .map_err(ModelProblem::Regex)?,
            ),
            RawClause::Or(list) => {
                if list.is_empty() {
                    return Err(ModelProblem::EmptyClause("or"));
                }
                Matcher::Or(
                    list.iter()
                        .map(Matcher::compile)
                        .collect::<Result<_, _>>()?,
                )
            }
            RawClause::And(list) => {
                if list.is_empty() {
                    return Err(ModelProblem::EmptyClause("and"));
                }
                Matcher::And(
                    list.iter()
                        .map(Matcher::compile)
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }

    /// `text` must already be lowercased.
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::Equals(s) => text == s,
            Matcher::StartsWith(s) => text.starts_with(s.as_str()),
            Matcher::EndsWith(s) => text.ends_with(s.as_str()),
            Matcher::Contains(s) => text.contains(s.as_str()),
            Matcher::Regex(r) => r.is_match(text),
            Matcher::Or(list) => list.iter().any(|m| m.is_match(text)),
            Matcher::And(list) => list.iter().all(|m| m.is_match(text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Matcher {
        let raw: RawClause = serde_json::from_str(json).unwrap();
        Matcher::compile(&raw).unwrap()
    }

    #[test]
    fn every_clause_kind_matches_as_specified() {
        assert!(parse(r#"{"equals":"gpt-4o"}"#).is_match("gpt-4o"));
        assert!(!parse(r#"{"equals":"gpt-4o"}"#).is_match("gpt-4o-mini"));
        assert!(parse(r#"{"starts_with":"claude-3"}"#).is_match("claude-3-opus"));
        assert!(!parse(r#"{"starts_with":"claude-3"}"#).is_match("us.claude-3"));
        assert!(parse(r#"{"ends_with":"flash"}"#).is_match("gemini-2.0-flash"));
        assert!(parse(r#"{"contains":"sonnet"}"#).is_match("claude-3-5-sonnet-2024"));
        // Unanchored search, like Python's re.search.
        assert!(parse(r#"{"regex":"(?:mi|code)stral"}"#).is_match("open-mistral-7b"));
        assert!(!parse(r#"{"regex":"^o[134]"}"#).is_match("gpt-o1"));
        let or = parse(r#"{"or":[{"equals":"a"},{"equals":"b"}]}"#);
        assert!(or.is_match("b") && !or.is_match("c"));
        let and = parse(r#"{"and":[{"contains":"huggingface"},{"contains":"groq"}]}"#);
        assert!(and.is_match("huggingface-groq") && !and.is_match("groq"));
    }

    #[test]
    fn patterns_with_capitals_match_lowercased_model_strings() {
        assert!(parse(r#"{"equals":"Qwen/Qwen3-14B-FP8"}"#).is_match("qwen/qwen3-14b-fp8"));
        assert!(parse(r#"{"regex":"^MiniMax-M\\d"}"#).is_match("minimax-m2"));
    }

    #[test]
    fn invalid_regex_and_empty_lists_are_rejected() {
        let raw: RawClause = serde_json::from_str(r#"{"regex":"("}"#).unwrap();
        assert!(matches!(
            Matcher::compile(&raw),
            Err(ModelProblem::Regex(_))
        ));
        let raw: RawClause = serde_json::from_str(r#"{"or":[]}"#).unwrap();
        assert!(matches!(
            Matcher::compile(&raw),
            Err(ModelProblem::EmptyClause("or"))
        ));
    }
}
