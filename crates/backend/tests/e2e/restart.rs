//! A backend killed mid-run (SIGKILL, no shutdown code) and restarted on the
//! same database: the accepted message is kept, the interrupted run is marked
//! failed with a reason, a resuming client sees every event in order ending
//! with `run_failed`, and a resend of the same message is idempotent.

use crate::harness::*;
use serde_json::{Value, json};

/// Slow enough that the run is still in flight when the process is killed.
const EVENT_DELAY_MS: &str = "150";

#[tokio::test]
async fn a_backend_killed_mid_run_marks_the_run_failed_and_loses_no_message() {
    let auth = TestAuth::start().await;
    let dir = TempDir::new();
    let db = backend::store::testing::TestDatabase::from_env()
        .await
        .expect("test database");
    let paced = [("APEX_BACKEND_RUN_EVENT_DELAY_MS", EVENT_DELAY_MS)];
    let mut first =
        BackendProcess::spawn_backend(dir.path(), free_port(), db.url(), auth.base(), &paced);
    first.wait_ready().await;
    let (token, _) = register(auth.base()).await;
    let (status, ds) = post(&first.base, "/v1/datasets/sample", &token, None).await;
    assert_eq!(status, 201, "{ds}");
    let question = "how can I cut my AI costs by 30%?";
    let message = json!({"type": "user_message", "client_msg_id": "k1", "content": question, "dataset_id": ds["id"]});
    let mut ws = connect(&first.base, &token).await;
    send(&mut ws, message.clone()).await;
    let accepted = next_json(&mut ws).await;
    assert_eq!(accepted["type"], "message_accepted", "{accepted}");
    let run_id = accepted["run_id"].as_str().unwrap().to_owned();
    let thread_id = accepted["thread_id"].as_str().unwrap().to_owned();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let v = next_json(&mut ws).await;
        if v["run_id"] == run_id.as_str() && v.get("seq").is_some() {
            seen.push(v);
        }
    }
    first.kill();
    drop(ws);

    // The same database, a new process.
    let mut second =
        BackendProcess::spawn_backend(dir.path(), free_port(), db.url(), auth.base(), &paced);
    second.wait_ready().await;
    let base = second.base.clone();
    let (status, run) = get(&base, &format!("/v1/runs/{run_id}"), &token).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["reason"]
            .as_str()
            .is_some_and(|r| r.contains("interrupted")),
        "{run}"
    );
    let (_, msgs) = get(&base, &format!("/v1/threads/{thread_id}/messages"), &token).await;
    let items = msgs["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "the accepted message, and no answer: {msgs}"
    );
    assert_eq!(items[0]["role"], "user");
    assert_eq!(items[0]["content"], question);
    assert_eq!(items[0]["id"], accepted["message_id"]);

    // A client that saw `last` resumes: the rest, in order, ending with run_failed.
    let last = seen.last().unwrap()["seq"].as_i64().unwrap();
    let mut ws = connect(&base, &token).await;
    send(
        &mut ws,
        json!({"type": "resume", "run_id": run_id, "after_seq": last}),
    )
    .await;
    let rest = collect_run(&mut ws, &run_id).await;
    let seqs: Vec<i64> = seen
        .iter()
        .chain(rest.iter())
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "in order, no gaps"
    );
    let failed = rest.last().unwrap();
    assert_eq!(failed["type"], "run_failed", "{failed}");
    assert!(
        failed["payload"]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{failed}"
    );
    assert_eq!(
        run["last_seq"], failed["seq"],
        "the event is the run's last"
    );

    // Resending the same client_msg_id after the restart: the same message and run, replayed.
    send(&mut ws, message).await;
    let again = next_json(&mut ws).await;
    assert_eq!(again["type"], "message_accepted", "{again}");
    assert_eq!(again["run_id"], run_id.as_str());
    assert_eq!(again["message_id"], accepted["message_id"]);
    let replayed = collect_run(&mut ws, &run_id).await;
    let replayed_seqs: Vec<i64> = replayed
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(replayed_seqs, seqs, "the whole run, once");
    let (_, msgs) = get(&base, &format!("/v1/threads/{thread_id}/messages"), &token).await;
    assert_eq!(
        msgs["items"].as_array().unwrap().len(),
        1,
        "no second message"
    );
    let (_, run_after) = get(&base, &format!("/v1/runs/{run_id}"), &token).await;
    assert_eq!(run_after["status"], "failed", "no second run restarted it");
    let (_, threads) = get(&base, "/v1/threads", &token).await;
    let ids: Vec<&Value> = threads["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, vec![&json!(thread_id)], "the resend opened no thread");
}
