//! `GET /v1/runs/{id}/report?format=html`: one self-contained page with the
//! two charts, every string from the data escaped; 404 for another user's
//! run, coded 4xx for an unknown format and for a run that has not finished.

use crate::harness::*;
use serde_json::json;
use std::fmt::Write as _;

const EVIL_MODEL: &str = "<script>alert(1)</script>";
const EVIL_NAME: &str = "<img src=x onerror=alert(1)>";

/// Three days of a priced model and of a model named like markup (priced by
/// an override, so that it reaches the spend chart's legend).
fn hostile_jsonl() -> String {
    let mut out = String::new();
    for i in 0..600 {
        let model = if i % 2 == 0 { "gpt-4o" } else { EVIL_MODEL };
        let line = json!({
            "timestamp": format!("2026-07-0{}T{:02}:{:02}:00Z", 1 + i / 200, (i / 10) % 24, i % 60),
            "provider": "openai",
            "model": model,
            "input_tokens": 40_000,
            "output_tokens": 1_500,
            "latency_ms": 900,
            "feature": EVIL_NAME,
            "request_id": format!("r-{i}"),
            "prompt_hash": format!("{:016x}", i % 7),
        });
        writeln!(out, "{line}").unwrap();
    }
    out
}

async fn upload(base: &str, token: &str, name: &str, body: String) -> String {
    let resp = http()
        .post(format!("{base}/v1/datasets"))
        .query(&[("name", name)])
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let ds: serde_json::Value = resp.json().await.unwrap();
    ds["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn html_report_is_self_contained_with_charts_and_escapes_the_data() {
    let auth = TestAuth::start().await;
    let prices = TempDir::new();
    let prices_file = prices.path().join("prices.toml");
    std::fs::write(
        &prices_file,
        format!("[[models]]\nprovider = \"openai\"\nid = \"{EVIL_MODEL}\"\nprices = {{ input_mtok = 30.0, output_mtok = 60.0 }}\n"),
    )
    .unwrap();
    let b = start_backend_with(auth.base(), |c| c.prices_file = Some(prices_file.clone())).await;
    let (token, _) = register(auth.base()).await;
    let dataset = upload(&b.base, &token, EVIL_NAME, hostile_jsonl()).await;
    let mut ws = connect(&b.base, &token).await;
    send(&mut ws, json!({"type": "user_message", "client_msg_id": "h1", "content": format!("how can I cut my AI costs? {EVIL_NAME}"), "dataset_id": dataset})).await;
    let accepted = next_json(&mut ws).await;
    let run_id = accepted["run_id"].as_str().unwrap().to_owned();
    let events = collect_run(&mut ws, &run_id).await;
    assert_eq!(events.last().unwrap()["type"], "agent_completed");

    let resp = http()
        .get(format!("{}/v1/runs/{run_id}/report?format=html", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert!(header("content-security-policy").starts_with("default-src 'none'"));
    let html = resp.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<style>"), "inline CSS");
    // The two charts, drawn by plotters.
    assert_eq!(html.matches("<svg").count(), 2, "{html}");
    assert!(html.contains("Spend by model over time"));
    assert!(html.contains("Estimated saving by recommendation"));
    assert!(html.contains("USD per day"), "the spend chart's axis");
    assert!(
        html.contains("estimated saving, USD per month"),
        "the savings chart's axis"
    );
    // Nothing from the data is markup; the hostile strings are there as text.
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "{html}");
    assert!(!lower.contains("<img"), "{html}");
    // (The escaped text quotes `src=x`; an attribute would be quoted.)
    for external in ["http://", "https://", "src=\"", "href=\"", "url("] {
        assert!(!lower.contains(external), "{external} in {html}");
    }
    let escaped_model = "&lt;script&gt;alert(1)&lt;/script&gt;";
    assert!(
        html.contains(&format!("</span>{escaped_model}</li>")),
        "the spend chart's legend names the model"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the dataset name, escaped"
    );
    assert!(html.contains(&run_id));

    // The other formats still answer; an unknown one is a coded 400.
    let (status, body) = get(
        &b.base,
        &format!("/v1/runs/{run_id}/report?format=pdf"),
        &token,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");
    let (status, body) = get(&b.base, &format!("/v1/runs/{run_id}/report"), &token).await;
    assert_eq!(status, 200);
    assert!(
        body["report"]["recommendations"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );

    // Another user's run is not found, in every format.
    let (other, _) = register(auth.base()).await;
    refused_in_every_format(&b.base, &run_id, &other, 404, "not_found").await;
}

#[tokio::test]
async fn html_report_of_a_run_in_flight_is_refused_with_a_code() {
    let auth = TestAuth::start().await;
    // A run that takes minutes: it is certainly still running when asked.
    let b = start_backend_with(auth.base(), |c| {
        c.run_event_delay = std::time::Duration::from_secs(5);
    })
    .await;
    let (token, _) = register(auth.base()).await;
    let mut ws = connect(&b.base, &token).await;
    send(&mut ws, json!({"type": "user_message", "client_msg_id": "f1", "content": "how can I cut my AI costs?"})).await;
    let accepted = next_json(&mut ws).await;
    let run_id = accepted["run_id"].as_str().unwrap();
    refused_in_every_format(&b.base, run_id, &token, 409, "run_not_finished").await;
}

/// Asks for the report in each format and expects the same coded refusal.
async fn refused_in_every_format(base: &str, run_id: &str, token: &str, status: u16, code: &str) {
    for format in ["html", "json", "md"] {
        let (got, body) = get(
            base,
            &format!("/v1/runs/{run_id}/report?format={format}"),
            token,
        )
        .await;
        assert_eq!(got, status, "{format}: {body}");
        assert_eq!(body["error"]["code"], code, "{format}: {body}");
    }
}
