//! Hand-computed costs of real models of the shipped snapshot. Each test
//! quotes the catalogue entry it relies on; prices are USD per million
//! tokens, so cost = tokens x price / 1,000,000.

use super::{assert_breakdown, assert_usd, at, catalogue};
use pricing::CostBreakdown;
use usage::TokenCounts;

/// openai `gpt-4o`: input 2.5, cache_read 1.25, output 10.
/// A call whose prompt had 2,000 tokens of which 800 were cached
/// (normalised: 1,200 uncached + 800 read) and 300 output tokens:
/// 1,200 x 2.5 = 3,000 -> $0.003; 800 x 1.25 = 1,000 -> $0.001;
/// 300 x 10 = 3,000 -> $0.003. Total $0.007.
#[test]
fn gpt_4o_with_cached_input() {
    let c = catalogue();
    let m = c.resolve(Some("openai"), "gpt-4o-2024-08-06").unwrap();
    assert_eq!(c.info(m).model_id, "gpt-4o");
    let tokens = TokenCounts {
        input_uncached: 1_200,
        cache_read: 800,
        output: 300,
        ..Default::default()
    };
    let cost = c.cost(m, at(2025, 1, 15, 12, 0), &tokens, 1);
    assert_breakdown(
        cost,
        CostBreakdown {
            input: 0.003,
            cache_read: 0.001,
            cache_write: 0.0,
            output: 0.003,
            requests: 0.0,
        },
    );
    assert_usd(cost.total(), 0.007);
}

/// anthropic `claude-sonnet-4-0` (matches `claude-sonnet-4-2025...`):
/// input 3, cache_write 3.75, cache_read 0.3, output 15.
/// 50 uncached -> 150 -> $0.00015; 20,000 read x 0.3 = 6,000 -> $0.006;
/// 3,000 written (5 min) x 3.75 = 11,250 -> $0.01125; 500 out x 15 = 7,500
/// -> $0.0075. Total $0.0249.
/// 1-hour writes: the catalogue has no 1-hour price, so they are charged at
/// cache_write_mtok: 1,000 x 3.75 -> $0.00375 more.
#[test]
fn claude_sonnet_with_cache_read_and_write() {
    let c = catalogue();
    let m = c
        .resolve(Some("anthropic"), "claude-sonnet-4-20250514")
        .unwrap();
    assert_eq!(c.info(m).model_id, "claude-sonnet-4-0");
    let tokens = TokenCounts {
        input_uncached: 50,
        cache_read: 20_000,
        cache_write_5m: 3_000,
        output: 500,
        ..Default::default()
    };
    let cost = c.cost(m, at(2025, 9, 1, 9, 0), &tokens, 1);
    assert_breakdown(
        cost,
        CostBreakdown {
            input: 0.00015,
            cache_read: 0.006,
            cache_write: 0.01125,
            output: 0.0075,
            requests: 0.0,
        },
    );
    assert_usd(cost.total(), 0.0249);

    let with_1h = TokenCounts {
        cache_write_1h: 1_000,
        ..tokens
    };
    assert_usd(
        c.cost(m, at(2025, 9, 1, 9, 0), &with_1h, 1).cache_write,
        0.01125 + 0.00375,
    );
}

/// google `gemini-2.5-pro`: input {base 1.25, >200,000: 2.5},
/// cache_read {base 0.125, >200,000: 0.25}, output {base 10, >200,000: 15}.
/// The tier is chosen by the call's whole input (uncached + cached) and
/// applies to all tokens (cliff).
#[test]
fn gemini_tiered_input_below_and_above_the_tier() {
    let c = catalogue();
    let m = c.resolve(None, "gemini-2.5-pro").unwrap();
    let t = at(2025, 10, 1, 0, 0);

    // Below: 100,000 uncached + 50,000 read = 150,000 <= 200,000 -> base.
    // 100,000 x 1.25 -> $0.125; 50,000 x 0.125 -> $0.00625; 2,000 x 10 -> $0.02.
    let below = TokenCounts {
        input_uncached: 100_000,
        cache_read: 50_000,
        output: 2_000,
        ..Default::default()
    };
    let cost = c.cost(m, t, &below, 1);
    assert_breakdown(
        cost,
        CostBreakdown {
            input: 0.125,
            cache_read: 0.00625,
            cache_write: 0.0,
            output: 0.02,
            requests: 0.0,
        },
    );
    assert_usd(cost.total(), 0.15125);

    // Exactly at the tier start: still base ("more than start" starts the tier).
    let at_start = TokenCounts {
        input_uncached: 200_000,
        ..Default::default()
    };
    assert_usd(c.cost(m, t, &at_start, 1).input, 0.25);

    // Above: 150,000 + 60,000 = 210,000 > 200,000 -> tier prices for all tokens.
    // 150,000 x 2.5 -> $0.375; 60,000 x 0.25 -> $0.015; 2,000 x 15 -> $0.03.
    let above = TokenCounts {
        input_uncached: 150_000,
        cache_read: 60_000,
        output: 2_000,
        ..Default::default()
    };
    let cost = c.cost(m, t, &above, 1);
    assert_breakdown(
        cost,
        CostBreakdown {
            input: 0.375,
            cache_read: 0.015,
            cache_write: 0.0,
            output: 0.03,
            requests: 0.0,
        },
    );
    assert_usd(cost.total(), 0.42);

    // An aggregate of 10 such calls: 210,000 per call -> tier: 1,500,000 x 2.5
    // -> $3.75; 600,000 x 0.25 -> $0.15; 20,000 x 15 -> $0.30.
    let ten = TokenCounts {
        input_uncached: 1_500_000,
        cache_read: 600_000,
        output: 20_000,
        ..Default::default()
    };
    assert_usd(c.cost(m, t, &ten, 10).total(), 4.2);
    // The same tokens over 20 calls: 105,000 per call -> base: 1,500,000 x 1.25
    // -> $1.875; 600,000 x 0.125 -> $0.075; 20,000 x 10 -> $0.20.
    assert_usd(c.cost(m, t, &ten, 20).total(), 2.15);
}

/// openai `o3`: {input 10, output 40} until 2025-06-09, then from
/// 2025-06-10 {input 2, output 8}. 1,000 in + 1,000 out:
/// before 0.01 + 0.04 = $0.05; from the start date 0.002 + 0.008 = $0.01.
#[test]
fn price_change_by_date() {
    let c = catalogue();
    let m = c.resolve(None, "o3").unwrap();
    let tokens = TokenCounts {
        input_uncached: 1_000,
        output: 1_000,
        ..Default::default()
    };
    assert_usd(c.cost(m, at(2025, 6, 9, 23, 59), &tokens, 1).total(), 0.05);
    assert_usd(c.cost(m, at(2025, 6, 10, 0, 0), &tokens, 1).total(), 0.01);
}

/// anthropic `claude-sonnet-4-6`: tiered {3, >200,000: 6} until 2026-03-12,
/// flat 3 from 2026-03-13. 250,000 uncached input in one call:
/// before 250,000 x 6 -> $1.50; after 250,000 x 3 -> $0.75.
#[test]
fn tier_removed_by_a_later_price_set() {
    let c = catalogue();
    let m = c.resolve(None, "claude-sonnet-4-6").unwrap();
    let tokens = TokenCounts {
        input_uncached: 250_000,
        ..Default::default()
    };
    assert_usd(c.cost(m, at(2026, 3, 12, 12, 0), &tokens, 1).input, 1.5);
    assert_usd(c.cost(m, at(2026, 3, 13, 0, 0), &tokens, 1).input, 0.75);
}

/// perplexity `sonar`: input 1, output 1, requests_kcount 12 ($12 per
/// thousand requests). One call of 1,000 in + 500 out: 0.001 + 0.0005 +
/// 12/1000 = $0.0135. Three calls aggregated (3,000 in, 1,500 out):
/// 0.003 + 0.0015 + 0.036 = $0.0405.
#[test]
fn per_request_price() {
    let c = catalogue();
    let m = c.resolve(Some("perplexity"), "sonar").unwrap();
    let one = TokenCounts {
        input_uncached: 1_000,
        output: 500,
        ..Default::default()
    };
    let cost = c.cost(m, at(2025, 5, 1, 0, 0), &one, 1);
    assert_usd(cost.requests, 0.012);
    assert_usd(cost.total(), 0.0135);
    let three = TokenCounts {
        input_uncached: 3_000,
        output: 1_500,
        ..Default::default()
    };
    assert_usd(c.cost(m, at(2025, 5, 1, 0, 0), &three, 3).total(), 0.0405);
}

/// deepseek `deepseek-chat`: off-peak {input 0.135} by default, standard
/// {input 0.27} from 00:30 to 16:30 UTC. 1,000,000 input tokens:
/// at 10:00 UTC $0.27, at 17:00 UTC $0.135.
#[test]
fn time_of_day_price() {
    let c = catalogue();
    let m = c.resolve(None, "deepseek-chat").unwrap();
    let tokens = TokenCounts {
        input_uncached: 1_000_000,
        ..Default::default()
    };
    assert_usd(c.cost(m, at(2025, 3, 1, 10, 0), &tokens, 1).input, 0.27);
    assert_usd(c.cost(m, at(2025, 3, 1, 17, 0), &tokens, 1).input, 0.135);
}

/// aws `regional.anthropic.claude-3-haiku-20240307-v1:0` has no cache
/// prices (input 0.25, output 1.25): cache reads and writes are charged at
/// the input price. 10,000 read + 4,000 written: 10,000 x 0.25 -> $0.0025;
/// 4,000 x 0.25 -> $0.001.
#[test]
fn model_without_cache_prices_charges_the_input_price() {
    let c = catalogue();
    let m = c
        .resolve(Some("bedrock"), "anthropic.claude-3-haiku-20240307-v1:0")
        .unwrap();
    assert_eq!(c.info(m).provider_id, "aws");
    let tokens = TokenCounts {
        cache_read: 10_000,
        cache_write_5m: 4_000,
        ..Default::default()
    };
    let cost = c.cost(m, at(2025, 1, 1, 0, 0), &tokens, 1);
    assert_usd(cost.cache_read, 0.0025);
    assert_usd(cost.cache_write, 0.001);
}

#[test]
fn entries_without_any_price_are_flagged() {
    let c = catalogue();
    let free = c.resolve(Some("openai"), "moderation").unwrap();
    assert!(!c.has_price(free, at(2025, 1, 1, 0, 0)));
    let gpt = c.resolve(Some("openai"), "gpt-4o").unwrap();
    assert!(c.has_price(gpt, at(2025, 1, 1, 0, 0)));
}
