//! The concurrent-runs limit under a race: many `user_message` frames from
//! several sockets of one user at once never start more than the limit's runs;
//! the others get the limit's coded error and their sockets stay open.

use crate::harness::*;
use futures_util::future::join_all;
use serde_json::json;

#[tokio::test]
async fn concurrent_messages_never_exceed_the_concurrent_runs_limit() {
    const SOCKETS: usize = 4;
    const PER_SOCKET: usize = 3;
    let auth = TestAuth::start().await;
    let b = start_backend_with(auth.base(), |c| {
        // Runs stay in flight while the burst arrives.
        c.run_event_delay = std::time::Duration::from_millis(500);
    })
    .await;
    let limit = b.state.config.limits.concurrent_runs as usize;
    assert_eq!(limit, 3, "the default limit");
    let (token, _) = register(auth.base()).await;
    let (_, me) = get(auth.base(), "/v1/me", &token).await;
    let user: uuid::Uuid = me["id"].as_str().expect("user id").parse().unwrap();
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        sockets.push(connect(&b.base, &token).await);
    }
    // Every socket sends its burst at once; then each reads one answer per message.
    let outcomes = join_all(sockets.iter_mut().enumerate().map(|(s, ws)| async move {
        for m in 0..PER_SOCKET {
            send(ws, json!({"type": "user_message", "client_msg_id": format!("c{s}-{m}"), "content": "hello"})).await;
        }
        let mut answers = Vec::new();
        while answers.len() < PER_SOCKET {
            let v = next_json(ws).await;
            if matches!(v["type"].as_str(), Some("message_accepted" | "error")) {
                answers.push(v);
            }
        }
        answers
    }))
    .await;
    let answers: Vec<_> = outcomes.into_iter().flatten().collect();
    let accepted: Vec<_> = answers
        .iter()
        .filter(|v| v["type"] == "message_accepted")
        .collect();
    let refused: Vec<_> = answers.iter().filter(|v| v["type"] == "error").collect();
    assert_eq!(
        accepted.len(),
        limit,
        "exactly the limit's runs start: {answers:?}"
    );
    assert_eq!(refused.len(), SOCKETS * PER_SOCKET - limit);
    for e in &refused {
        assert_eq!(e["code"], "too_many_runs", "{e}");
    }
    assert_eq!(
        b.state.store.running_runs(user).await.unwrap(),
        limit as i64
    );
    // Only the accepted messages opened threads.
    let (_, threads) = get(&b.base, "/v1/threads", &token).await;
    assert_eq!(
        threads["items"].as_array().unwrap().len(),
        limit,
        "{threads}"
    );
    // At the limit, a message into an existing thread naming a dataset is refused and
    // leaves the thread as it was (its dataset is not switched).
    let line = json!({"timestamp": "2026-07-01T00:00:00Z", "provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5});
    let resp = http()
        .post(format!("{}/v1/datasets", b.base))
        .bearer_auth(&token)
        .body(format!("{line}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let dataset: serde_json::Value = resp.json().await.unwrap();
    let thread = accepted[0]["thread_id"].as_str().unwrap();
    send(&mut sockets[0], json!({"type": "user_message", "client_msg_id": "late", "content": "hello", "thread_id": thread, "dataset_id": dataset["id"]})).await;
    let refusal = loop {
        let v = next_json(&mut sockets[0]).await;
        if v["type"] == "error" || v["type"] == "message_accepted" {
            break v;
        }
    };
    assert_eq!(refusal["code"], "too_many_runs", "{refusal}");
    let (_, t) = get(&b.base, &format!("/v1/threads/{thread}"), &token).await;
    assert_eq!(t["dataset_id"], serde_json::Value::Null, "{t}");
    // Every socket is still open.
    for ws in &mut sockets {
        send(ws, json!({"type": "ping"})).await;
        loop {
            if next_json(ws).await["type"] == "pong" {
                break;
            }
        }
    }
}
