//! `casebot setup` against the sandbox, as a new user runs it: a complete staff server passes; a
//! missing channel, role or permission is named, with how to fix it, and the command exits 1.

use casebot_sandbox::permissions::{BOT_STAFF_DEFAULT, MANAGE_THREADS};
use casebot_sandbox::{Sandbox, LEAD_ROLE, QUEUE_CHANNEL, STAFF_GUILD};

/// Runs `casebot setup --discord-url` against `sandbox`: the exit code and what it printed.
async fn setup(sandbox: &Sandbox) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_casebot"))
        .args(["setup", "--discord-url", &sandbox.base_url()])
        .current_dir(dir.path())
        .env_remove("DISCORD_TOKEN")
        .env_remove("DATABASE_URL")
        .output()
        .await
        .expect("casebot runs");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), printed)
}

#[tokio::test]
async fn a_complete_staff_server_passes_setup_with_the_invite_url_and_why_each_permission() {
    let sandbox = Sandbox::start().await.unwrap();
    let (code, printed) = setup(&sandbox).await;
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains("everything casebot needs is in place"),
        "{printed}"
    );
    assert!(
        printed.contains("https://discord.com/oauth2/authorize?client_id="),
        "{printed}"
    );
    assert!(
        printed.contains("scope=bot") || printed.contains("scope=bot%20applications.commands"),
        "{printed}"
    );
    assert!(
        printed.contains("Manage Threads: to add the claimer"),
        "{printed}"
    );
}

#[tokio::test]
async fn a_missing_permission_is_named_with_its_fix() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.set_bot_permissions(STAFF_GUILD, BOT_STAFF_DEFAULT & !MANAGE_THREADS);
    let (code, printed) = setup(&sandbox).await;
    assert_eq!(code, 1, "{printed}");
    assert!(
        printed.contains("missing:") && printed.contains("Manage Threads"),
        "{printed}"
    );
    assert!(printed.contains("fix:"), "{printed}");
}

#[tokio::test]
async fn a_missing_role_is_named_by_its_setting() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.remove_role(STAFF_GUILD, LEAD_ROLE);
    let (code, printed) = setup(&sandbox).await;
    assert_eq!(code, 1, "{printed}");
    assert!(
        printed.contains("missing:") && printed.contains("discord.lead_role_id"),
        "{printed}"
    );
}

#[tokio::test]
async fn a_missing_queue_channel_is_named_by_its_setting() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.delete_channel(QUEUE_CHANNEL);
    let (code, printed) = setup(&sandbox).await;
    assert_eq!(code, 1, "{printed}");
    assert!(
        printed.contains("missing:") && printed.contains("queue channel"),
        "{printed}"
    );
}
