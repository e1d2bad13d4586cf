//! `casebot bench claims`: staff running "claim next" side by side over a queue of escalated
//! cases, against the same claims as one statement each, in the same run; and the check that no
//! case is claimed twice.

use std::future::Future;
use std::time::{Duration, Instant};

use casebot::app::App;
use casebot::config::Config;
use casebot::domain::staff::{Role, StaffMember};
use casebot::domain::{
    Actor, CaseAction, CaseState, ChannelKind, InboundMessage, Priority, StaffId, UserId,
};
use casebot::store::scratch::Scratch;
use chrono::Utc;
use serde::Serialize;

use super::{engine, open};

#[derive(Debug, Serialize)]
pub struct ClaimsBench {
    pub backend: String,
    pub staff: usize,
    pub cases: usize,
    pub claimed: usize,
    pub claimed_twice: usize,
    pub claims_per_s: f64,
    pub minimal_claims_per_s: f64,
    pub ratio: f64,
}

/// `staff` members claim until a queue of `cases` escalated cases is empty; the floor claims a
/// second queue of the same size.
pub async fn claims(
    config: &Config,
    db: Option<&str>,
    staff: usize,
    cases: usize,
) -> anyhow::Result<ClaimsBench> {
    let scratch = Scratch::new(db).await?;
    let store = open(config, &scratch.url).await?;
    let app = engine(config, store.clone())?;
    let team = hire(&app, staff).await?;
    fill_queue(&app, "minimal", cases).await?;
    let floor = store.clone();
    let (minimal, minimal_time) = claim_all(&team, move |who| {
        let store = floor.clone();
        async move { Ok(store.minimal_claim_next(who.as_str()).await?) }
    })
    .await?;
    fill_queue(&app, "engine", cases).await?;
    let staff_service = app.staff.clone();
    let (claimed, claim_time) = claim_all(&team, move |who| {
        let service = staff_service.clone();
        async move { Ok(service.claim_next(&who).await?.map(|c| c.get())) }
    })
    .await?;

    let backend = store.backend().as_str().to_owned();
    store.close().await;
    scratch.drop().await?;
    let mut distinct = claimed.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let claims_per_s = claimed.len() as f64 / claim_time.as_secs_f64();
    let minimal_claims_per_s = minimal.len() as f64 / minimal_time.as_secs_f64();
    Ok(ClaimsBench {
        backend,
        staff: team.len(),
        cases,
        claimed: claimed.len(),
        claimed_twice: claimed.len() - distinct.len(),
        claims_per_s,
        minimal_claims_per_s,
        ratio: claims_per_s / minimal_claims_per_s,
    })
}

/// `staff` members (at least one) on the team.
async fn hire(app: &App, staff: usize) -> anyhow::Result<Vec<StaffId>> {
    let team: Vec<StaffId> = (0..staff.max(1))
        .map(|s| StaffId::new(format!("bench-staff-{s}")))
        .collect();
    for id in &team {
        let member = StaffMember {
            id: id.clone(),
            role: Role::Staff,
        };
        app.staff
            .add_staff(&member, &Actor::system("bench"))
            .await?;
    }
    Ok(team)
}

/// `cases` customers write in and each case is escalated, cycling through low, normal and high.
async fn fill_queue(app: &App, prefix: &str, cases: usize) -> anyhow::Result<()> {
    for i in 0..cases {
        let user = format!("{prefix}-{i}");
        let msg = InboundMessage {
            platform: "bench".into(),
            author_id: UserId::new(&user),
            author_name: user.clone(),
            channel_kind: ChannelKind::Dm,
            channel_id: user.clone(),
            message_id: user,
            text: "my parcel has not arrived".into(),
            sent_at: Utc::now(),
        };
        let case = app.intake.take_in(&msg).await?.case_id;
        let open = app
            .store
            .case(case)
            .await?
            .is_some_and(|c| c.state == CaseState::Open);
        if open {
            let priority = [Priority::Low, Priority::Normal, Priority::High][i % 3];
            let escalate = CaseAction::Escalate {
                priority,
                reason: "bench".into(),
            };
            app.staff
                .act_as(case, &Actor::system("bench"), escalate)
                .await?;
        }
    }
    Ok(())
}

/// Every staff member claims until the queue is empty; returns all claims and the time taken.
async fn claim_all<F, Fut>(team: &[StaffId], claim: F) -> anyhow::Result<(Vec<i64>, Duration)>
where
    F: Fn(StaffId) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<Option<i64>>> + Send,
{
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for who in team {
        let (who, claim) = (who.clone(), claim.clone());
        workers.spawn(async move {
            let mut mine = Vec::new();
            while let Some(case) = claim(who.clone()).await? {
                mine.push(case);
            }
            anyhow::Ok(mine)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = workers.join_next().await {
        all.extend(done??);
    }
    Ok((all, started.elapsed()))
}
