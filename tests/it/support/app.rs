//! [`TestApp`]: casebot wired as production wires it ([`casebot::app::App`]), on a fresh database of
//! either backend, with a clock the test moves and typed helpers for what people do: a customer
//! DMs or mentions the bot, staff act on a case, and what the case, its trail and its outbox hold
//! afterwards. Set `TEST_LOG=debug` (or any filter) to see casebot's logs.

use std::sync::{Arc, Mutex, Once};

use casebot::app::{App, Ports};
use casebot::config::Config;
use casebot::domain::audit::AuditEvent;
use casebot::domain::ids::{CaseId, StaffId, UserId};
use casebot::domain::policy::LimitSettings;
use casebot::domain::staff::{Role, StaffMember};
use casebot::domain::views::{CaseView, OutboxEntry};
use casebot::domain::{Actor, Case, CaseAction, CaseState, ChannelKind, InboundMessage, Priority};
use casebot::orders::OrderSource;
use casebot::services::intake::Handled;
use casebot::services::{ActionError, Clock};
use casebot::store::{Backend, Page, Store};
use chrono::{DateTime, Duration, SubsecRound, Utc};

use super::TestDb;

/// A clock that stands still until the test moves it, or (live) runs on from where it was set, for
/// end-to-end tests where deliveries retry and sweepers run as in production.
pub struct TestClock {
    base: Mutex<(DateTime<Utc>, std::time::Instant)>,
    live: bool,
}

impl TestClock {
    pub fn at(time: DateTime<Utc>) -> TestClock {
        TestClock {
            base: Mutex::new((time.trunc_subsecs(3), std::time::Instant::now())),
            live: false,
        }
    }

    pub fn advance(&self, by: Duration) {
        self.base.lock().unwrap().0 += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let (base, since) = *self.base.lock().unwrap();
        if !self.live {
            return base;
        }
        let ran = Duration::from_std(since.elapsed()).unwrap_or_default();
        (base + ran).trunc_subsecs(3)
    }
}

/// Turns on casebot's logs when `TEST_LOG` is set.
pub fn test_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

/// How a test wants casebot set up besides the defaults.
#[derive(Default)]
pub struct Setup {
    pub orders: Option<Arc<dyn OrderSource>>,
    pub limits: Option<LimitSettings>,
    /// Environment-style overrides, `CASEBOT__SECTION__KEY` → value.
    pub env: Vec<(String, String)>,
    pub clock: Option<DateTime<Utc>>,
    /// The clock runs (from `clock`, or now) instead of standing still.
    pub live_clock: bool,
}

pub struct TestApp {
    pub db: TestDb,
    pub app: App,
    pub clock: Arc<TestClock>,
    /// The ports the test set, for a second process wired alike.
    orders: Option<Arc<dyn OrderSource>>,
    limits: Option<LimitSettings>,
    sequence: std::sync::atomic::AtomicU64,
}

impl TestApp {
    /// casebot with the defaults, no rate limits in the way, and the clock at now.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::with(
            backend,
            Setup {
                limits: Some(LimitSettings::unlimited()),
                ..Setup::default()
            },
        )
        .await
    }

    pub async fn with(backend: Backend, setup: Setup) -> Option<TestApp> {
        test_log();
        let db = TestDb::new(backend).await?;
        let mut env = setup.env;
        env.push(("DATABASE_URL".into(), db.url.clone()));
        let config = Config::load(None, env).expect("the test configuration loads");
        let clock = TestClock::at(setup.clock.unwrap_or_else(Utc::now));
        let clock = Arc::new(if setup.live_clock {
            TestClock {
                live: true,
                ..clock
            }
        } else {
            clock
        });
        let ports = Ports {
            orders: setup.orders.clone(),
            labeller: None,
            clock: clock.clone(),
            limits: setup.limits.clone(),
        };
        let app = App::on_store(config, db.store().await, ports).expect("casebot wires");
        Some(TestApp {
            db,
            app,
            clock,
            orders: setup.orders,
            limits: setup.limits,
            sequence: Default::default(),
        })
    }

    /// casebot wired again on a pool of its own over the same database and clock: a second
    /// process, for races between processes.
    pub async fn another_process(&self) -> App {
        let ports = Ports {
            orders: self.orders.clone(),
            labeller: None,
            clock: self.clock.clone(),
            limits: self.limits.clone(),
        };
        App::on_store(
            self.app.config.as_ref().clone(),
            self.db.store().await,
            ports,
        )
        .expect("casebot wires a second time")
    }

    pub fn store(&self) -> &Store {
        &self.app.store
    }

    fn next_id(&self, prefix: &str) -> String {
        let n = self
            .sequence
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{prefix}-{n}")
    }

    /// A DM from `user` (a fresh platform message id each time).
    pub fn dm_message(&self, user: &str, text: &str) -> InboundMessage {
        InboundMessage {
            platform: "discord".into(),
            author_id: UserId::new(user),
            author_name: format!("{user} name"),
            channel_kind: ChannelKind::Dm,
            channel_id: format!("dm-{user}"),
            message_id: self.next_id(user),
            text: text.into(),
            sent_at: self.clock.now(),
        }
    }

    /// `user` writes to the bot in DM.
    pub async fn dm(&self, user: &str, text: &str) -> Handled {
        let msg = self.dm_message(user, text);
        self.app
            .intake
            .take_in(&msg)
            .await
            .expect("a DM is taken in")
    }

    /// `user` mentions the bot in a public channel.
    pub async fn mention(&self, user: &str, text: &str) -> Handled {
        let msg = InboundMessage {
            channel_kind: ChannelKind::Public,
            channel_id: "general".into(),
            ..self.dm_message(user, text)
        };
        self.app
            .intake
            .take_in(&msg)
            .await
            .expect("a mention is taken in")
    }

    /// Puts `id` on the support team.
    pub async fn staff(&self, id: &str, role: Role) -> StaffId {
        let member = StaffMember {
            id: StaffId::new(id),
            role,
        };
        self.app
            .staff
            .add_staff(&member, &Actor::system("test"))
            .await
            .unwrap();
        member.id
    }

    /// `user` writes in, and casebot hands their case to the queue at `priority` for `reason`.
    pub async fn escalated(&self, user: &str, priority: Priority, reason: &str) -> CaseId {
        let case = self.dm(user, "hello").await.case_id;
        let escalate = CaseAction::Escalate {
            priority,
            reason: reason.into(),
        };
        self.app
            .staff
            .act_as(case, &Actor::system("test"), escalate)
            .await
            .expect("the case escalates");
        case
    }

    /// `staff` claims `case`.
    pub async fn claim(&self, case: CaseId, staff: &StaffId) -> Result<CaseState, ActionError> {
        let claim = CaseAction::Claim {
            staff: staff.clone(),
        };
        self.app.staff.act(case, staff, claim).await
    }

    /// Every audit event, of every case and none, in order.
    pub async fn all_events(&self) -> Vec<AuditEvent> {
        let events = self
            .store()
            .audit_events(None, Page::first(100_000))
            .await
            .unwrap();
        events.into_iter().map(|(_, e)| e).collect()
    }

    pub async fn case(&self, id: CaseId) -> Case {
        self.store()
            .case(id)
            .await
            .unwrap()
            .expect("the case exists")
    }

    pub async fn view(&self, id: CaseId) -> CaseView {
        self.store()
            .case_view(id)
            .await
            .unwrap()
            .expect("the case exists")
    }

    /// The case's audit trail, as action names in order.
    pub async fn trail(&self, id: CaseId) -> Vec<String> {
        self.events(id)
            .await
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    pub async fn events(&self, id: CaseId) -> Vec<AuditEvent> {
        let events = self
            .store()
            .audit_events(Some(id), Page::first(10_000))
            .await
            .unwrap();
        events.into_iter().map(|(_, e)| e).collect()
    }

    pub async fn outbox(&self, id: CaseId) -> Vec<OutboxEntry> {
        self.store().outbox_of_case(id).await.unwrap()
    }

    /// Asserts the whole log verifies.
    pub async fn assert_log_intact(&self) {
        let report = self.store().verify_audit(None).await.unwrap();
        assert!(report.is_intact(), "{:?}", report.problems);
    }

    pub async fn cleanup(self) {
        self.db.cleanup().await;
    }
}
