//! The golden path: sign in, ticket, WebSocket, message, five live events,
//! the persisted answer, resume, stop, revocation, isolation, bad frames.

use crate::harness::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn setup() -> (TestAuth, TestBackend, String, String) {
    let auth = TestAuth::start().await;
    let backend = start_backend(auth.base()).await;
    let (token, session) = register(auth.base()).await;
    (auth, backend, token, session)
}

async fn sample(base: &str, token: &str) -> String {
    let (status, ds) = post(base, "/v1/datasets/sample", token, None).await;
    assert_eq!(status, 201, "{ds}");
    assert!(ds["records"].as_i64().unwrap() > 1000);
    ds["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn golden_path_five_events_gap_free_and_answer_persisted() {
    let (_auth, b, token, _) = setup().await;
    let dataset = sample(&b.base, &token).await;
    let mut ws = connect(&b.base, &token).await;
    send(&mut ws, json!({"type": "user_message", "client_msg_id": "m1", "content": "how can I cut my AI costs by 30%?", "dataset_id": dataset})).await;
    let accepted = next_json(&mut ws).await;
    assert_eq!(accepted["type"], "message_accepted", "{accepted}");
    assert_eq!(accepted["client_msg_id"], "m1");
    let run_id = accepted["run_id"].as_str().unwrap().to_owned();
    let thread_id = accepted["thread_id"].as_str().unwrap().to_owned();
    let events = collect_run(&mut ws, &run_id).await;
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "seq runs 1..n without gaps"
    );
    for t in [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_completed",
    ] {
        assert!(events.iter().any(|e| e["type"] == t), "no {t} event");
    }
    for e in &events {
        assert_eq!(e["thread_id"], thread_id.as_str());
        assert!(e["ts"].as_str().is_some());
    }
    let last = events.last().unwrap();
    assert_eq!(last["type"], "agent_completed");
    assert_eq!(last["payload"]["agent"], "supervisor");
    let answer = last["payload"]["final_response"].as_str().unwrap();
    assert!(
        answer.contains('$'),
        "the answer carries savings figures: {answer}"
    );
    let message_id = last["payload"]["message_id"].as_str().unwrap();

    // the answer is in the thread's messages
    let (status, msgs) = get(
        &b.base,
        &format!("/v1/threads/{thread_id}/messages"),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    let items = msgs["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{msgs}");
    assert_eq!(items[0]["role"], "user");
    assert_eq!(items[1]["role"], "assistant");
    assert_eq!(items[1]["id"], message_id);
    assert_eq!(items[1]["content"], answer);
    // the run is completed, its events are persisted, the report is there
    let (_, run) = get(&b.base, &format!("/v1/runs/{run_id}"), &token).await;
    assert_eq!(run["status"], "completed");
    assert_eq!(run["last_seq"], events.len() as i64);
    let (_, stored) = get(
        &b.base,
        &format!("/v1/runs/{run_id}/events?after=0"),
        &token,
    )
    .await;
    assert_eq!(stored["events"].as_array().unwrap().len(), events.len());
    let (status, report) = get(&b.base, &format!("/v1/runs/{run_id}/report"), &token).await;
    assert_eq!(status, 200);
    assert!(
        !report["report"]["recommendations"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // resending the same client_msg_id is idempotent: same ids, no new run
    send(&mut ws, json!({"type": "user_message", "client_msg_id": "m1", "content": "how can I cut my AI costs by 30%?", "dataset_id": dataset})).await;
    let again = next_json(&mut ws).await;
    assert_eq!(again["type"], "message_accepted");
    assert_eq!(again["run_id"], run_id.as_str());
    assert_eq!(again["message_id"], accepted["message_id"]);
}

#[tokio::test]
async fn disconnect_mid_run_and_resume_misses_nothing() {
    let (_auth, b, token, _) = setup().await;
    let dataset = sample(&b.base, &token).await;
    let mut ws = connect(&b.base, &token).await;
    send(&mut ws, json!({"type": "user_message", "client_msg_id": "r1", "content": "how can I cut my AI costs by 30%?", "dataset_id": dataset})).await;
    let accepted = next_json(&mut ws).await;
    let run_id = accepted["run_id"].as_str().unwrap().to_owned();
    // read two events, then drop the connection
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let v = next_json(&mut ws).await;
        if v["run_id"] == run_id.as_str() {
            seen.push(v);
        }
    }
    drop(ws);
    let last_seq = seen.last().unwrap()["seq"].as_i64().unwrap();
    let mut ws = connect(&b.base, &token).await;
    send(
        &mut ws,
        json!({"type": "resume", "run_id": run_id, "after_seq": last_seq}),
    )
    .await;
    let rest = collect_run(&mut ws, &run_id).await;
    let mut all: Vec<i64> = seen
        .iter()
        .chain(rest.iter())
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    let n = all.len() as i64;
    assert_eq!(
        all,
        (1..=n).collect::<Vec<_>>(),
        "nothing missing, nothing doubled"
    );
    all.dedup();
    assert_eq!(all.len() as i64, n);
}

#[tokio::test]
async fn stop_run_ends_in_run_cancelled() {
    let (_auth, b, token, _) = setup().await;
    let dataset = sample(&b.base, &token).await;
    let mut ws = connect(&b.base, &token).await;
    send(&mut ws, json!({"type": "user_message", "client_msg_id": "s1", "content": "how can I cut my AI costs by 30%?", "dataset_id": dataset})).await;
    let run_id = next_json(&mut ws).await["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&mut ws, json!({"type": "stop_run", "run_id": run_id})).await;
    let events = collect_run(&mut ws, &run_id).await;
    assert_eq!(
        events.last().unwrap()["type"],
        "run_cancelled",
        "{:?}",
        events.last()
    );
    let (_, run) = get(&b.base, &format!("/v1/runs/{run_id}"), &token).await;
    assert_eq!(run["status"], "cancelled");
}

#[tokio::test]
async fn revoking_the_session_closes_the_socket_within_two_seconds() {
    let (auth, b, token, _) = setup().await;
    let mut ws = connect(&b.base, &token).await;
    // let the follower connect
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    let resp = http()
        .post(format!("{}/v1/logout", auth.base()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let closed = loop {
        match tokio::time::timeout(
            Duration::from_secs(5),
            futures_util::StreamExt::next(&mut ws),
        )
        .await
        {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "closed after {:?}",
        start.elapsed()
    );
    let frame = closed.expect("a close frame with a code");
    assert_eq!(u16::from(frame.code), 4001);
    assert_eq!(frame.reason.as_str(), "session_revoked");
    // and the token is refused from now on
    let (status, body) = get(&b.base, "/v1/threads", &token).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "session_revoked");
}

#[tokio::test]
async fn another_user_cannot_see_the_first_users_thread_run_or_dataset() {
    let (auth, b, token, _) = setup().await;
    let dataset = sample(&b.base, &token).await;
    let mut ws = connect(&b.base, &token).await;
    send(&mut ws, json!({"type": "user_message", "client_msg_id": "i1", "content": "hello", "dataset_id": dataset})).await;
    let accepted = next_json(&mut ws).await;
    let (run_id, thread_id) = (
        accepted["run_id"].as_str().unwrap().to_owned(),
        accepted["thread_id"].as_str().unwrap().to_owned(),
    );
    collect_run(&mut ws, &run_id).await;
    let (other, _) = register(auth.base()).await;
    for path in [
        format!("/v1/threads/{thread_id}"),
        format!("/v1/threads/{thread_id}/messages"),
        format!("/v1/runs/{run_id}"),
        format!("/v1/runs/{run_id}/events"),
        format!("/v1/datasets/{dataset}"),
    ] {
        let (status, body) = get(&b.base, &path, &other).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (_, list) = get(&b.base, "/v1/threads", &other).await;
    assert_eq!(list["items"], json!([]));
    let mut ws2 = connect(&b.base, &other).await;
    for frame in [
        json!({"type": "resume", "run_id": run_id, "after_seq": 0}),
        json!({"type": "stop_run", "run_id": run_id}),
        json!({"type": "user_message", "client_msg_id": "x", "content": "hi", "thread_id": thread_id}),
    ] {
        send(&mut ws2, frame.clone()).await;
        let v = next_json(&mut ws2).await;
        assert_eq!(v["type"], "error", "{frame} -> {v}");
        assert_eq!(v["code"], "not_found");
    }
}

#[tokio::test]
async fn bad_frames_get_coded_errors_and_the_connection_survives() {
    let (_auth, b, token, _) = setup().await;
    let mut ws = connect(&b.base, &token).await;
    let big = "x".repeat(70 * 1024);
    let cases: Vec<(tokio_tungstenite::tungstenite::Message, &str)> = vec![
        (
            tokio_tungstenite::tungstenite::Message::Text("{not json".into()),
            "invalid_json",
        ),
        (
            tokio_tungstenite::tungstenite::Message::Text(r#"{"type":"dance"}"#.into()),
            "unknown_type",
        ),
        (
            tokio_tungstenite::tungstenite::Message::Text(
                format!(r#"{{"type":"user_message","client_msg_id":"b","content":"{big}"}}"#)
                    .into(),
            ),
            "frame_too_large",
        ),
        (
            tokio_tungstenite::tungstenite::Message::Binary(vec![1, 2, 3].into()),
            "binary_not_supported",
        ),
        (
            tokio_tungstenite::tungstenite::Message::Text(
                r#"{"type":"stop_run","run_id":"nope"}"#.into(),
            ),
            "invalid_frame",
        ),
    ];
    for (msg, code) in cases {
        futures_util::SinkExt::send(&mut ws, msg).await.unwrap();
        let v: Value = next_json(&mut ws).await;
        assert_eq!(v["type"], "error");
        assert_eq!(v["code"], code);
    }
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(
        next_json(&mut ws).await["type"],
        "pong",
        "the connection survived"
    );
}

#[tokio::test]
async fn invalid_ticket_is_refused_before_the_upgrade() {
    let (_auth, b, _token, _) = setup().await;
    for url in [
        format!("{}/v1/ws?ticket={}", b.base, "A".repeat(43)),
        format!("{}/v1/ws", b.base),
    ] {
        let resp = http()
            .get(url.clone())
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{url}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_ticket");
    }
}
