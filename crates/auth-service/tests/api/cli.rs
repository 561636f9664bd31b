//! The real `apex-auth` binary: bootstrapping an admin, and refusing unsafe
//! production settings.

use crate::helpers::*;
use auth_service::store::testing::{TestBackend, TestDatabase};
use reqwest::StatusCode;
use std::process::Command;

fn apex_auth() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apex-auth"));
    // Only what each test sets: no inherited APEX_* configuration.
    for (k, _) in std::env::vars() {
        if k.starts_with("APEX_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[tokio::test]
async fn admin_create_user_bootstraps_an_admin_who_can_sign_in() {
    let db = TestDatabase::create(TestBackend::from_env()).await.unwrap();
    let dir = std::env::temp_dir().join(format!("apex-cli-{}", uuid::Uuid::new_v4()));
    let out = apex_auth()
        .args([
            "admin",
            "create-user",
            "--email",
            "Boss@Example.com",
            "--admin",
        ])
        .env("APEX_DATA_DIR", &dir)
        .env("APEX_AUTH_DATABASE_URL", db.url())
        .env("APEX_NEW_USER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin boss@example.com"));

    // the service on the same database and data directory signs the admin in
    let mut cfg = test_config(db.url());
    cfg.data_dir = dir.clone();
    let app = spawn_config(cfg, auth_service::clock::ManualClock::new()).await;
    let (status, body) = app.login("boss@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["role"], "admin");
    let (status, _) = app
        .get_bearer("/v1/admin/users", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);

    // a weak password is refused with its code and writes nothing
    let out = apex_auth()
        .args(["admin", "create-user", "--email", "weak@example.com"])
        .env("APEX_DATA_DIR", &dir)
        .env("APEX_AUTH_DATABASE_URL", db.url())
        .env("APEX_NEW_USER_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("weak_password"));
    assert!(
        app.state
            .auth
            .store()
            .user_by_email("weak@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn production_refuses_to_start_with_unsafe_settings() {
    let dir = std::env::temp_dir().join(format!("apex-cli-{}", uuid::Uuid::new_v4()));
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[], "APEX_AUTH_MASTER_KEY is not set"),
        (
            &[(
                "APEX_AUTH_MASTER_KEY",
                "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            )],
            "default development secret",
        ),
        (
            &[
                ("APEX_AUTH_MASTER_KEY", "not base64 at all"),
                (
                    "APEX_AUTH_SERVICE_CLIENT_SECRET",
                    "a-long-enough-real-secret",
                ),
            ],
            "APEX_AUTH_MASTER_KEY",
        ),
    ];
    for (vars, expected) in cases {
        let mut cmd = apex_auth();
        cmd.arg("serve")
            .env("APEX_ENV", "production")
            .env("APEX_DATA_DIR", &dir)
            .env("APEX_AUTH_BIND", "127.0.0.1:0");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "must refuse: {vars:?}");
        assert!(stderr.contains(expected), "{vars:?}: {stderr}");
    }
    // and an unknown variable is named
    let out = apex_auth()
        .arg("serve")
        .env("APEX_AUTH_BIDN", "x")
        .env("APEX_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("APEX_AUTH_BIDN"));
}
