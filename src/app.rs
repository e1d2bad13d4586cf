//! The composition root: [`App::build`] wires the store, the services, the limits, the order
//! system, the classifier's LLM and the clock once, from the configuration. `casebot run`, the
//! demo, the console, replay, the benchmarks and the tests all start from here, so each of them
//! runs casebot wired exactly as production is.

use std::sync::Arc;

use anyhow::Context;

use crate::config::{Config, OrdersSettings};
use crate::domain::policy::IntakePolicy;
use crate::domain::routing::opinion::Gate;
use crate::llm::{Labeller, LlmConfig, LlmLabeller};
use crate::metrics::Latency;
use crate::orders::{BuiltInOrders, HttpOrders, HttpOrdersConfig, OrderSource};
use crate::secrets::Secret;
use crate::services::audit::AuditService;
use crate::services::callbacks::CallbackService;
use crate::services::cards::CardService;
use crate::services::customers::CustomerService;
use crate::services::intake::IntakeService;
use crate::services::limits::RateLimits;
use crate::services::llm_path::LlmPath;
use crate::services::outbox::{LocalBudget, OutboundBudget, SharedBudget};
use crate::services::privacy::PrivacyService;
use crate::services::routing::Router;
use crate::services::staff::{StaffService, ThreadPolicy};
use crate::services::sweepers::Sweepers;
use crate::services::{Clock, SystemClock};
use crate::store::{Backend, Store, StoreOptions};

/// What may be put in place of the configured outside world, for tests and tools.
#[derive(Clone)]
pub struct Ports {
    /// The order system; by default the one the configuration names.
    pub orders: Option<Arc<dyn OrderSource>>,
    /// The language model that may decide intents and signals; by default the configured one,
    /// if any. It is used under the configured gate either way.
    pub labeller: Option<Arc<dyn Labeller>>,
    pub clock: Arc<dyn Clock>,
    /// The rate limits; by default the configured ones.
    pub limits: Option<crate::domain::policy::LimitSettings>,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            orders: None,
            labeller: None,
            clock: Arc::new(SystemClock),
            limits: None,
        }
    }
}

/// casebot, wired.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub limits: Arc<RateLimits>,
    pub orders: Arc<dyn OrderSource>,
    pub intake: IntakeService,
    pub staff: StaffService,
    pub customers: CustomerService,
    pub callbacks: CallbackService,
    pub cards: CardService,
    pub sweepers: Sweepers,
    pub audit: AuditService,
    pub privacy: PrivacyService,
    /// Where the time to take in and route each customer message is recorded.
    pub latency: Arc<Latency>,
    pub clock: Arc<dyn Clock>,
}

impl App {
    /// Opens the configured database (creating and migrating it as needed) and wires casebot.
    pub async fn build(config: Config, ports: Ports) -> anyhow::Result<App> {
        let store = Store::open(config.database.url.expose(), &store_options(&config))
            .await
            .with_context(|| format!("cannot open the database at {}", config.database.url))?;
        App::on_store(config, store, ports)
    }

    /// Wires casebot on a store that is already open.
    pub fn on_store(config: Config, store: Store, ports: Ports) -> anyhow::Result<App> {
        let clock = ports.clock.clone();
        let orders = match ports.orders {
            Some(orders) => orders,
            None => order_source(&config.orders, &store)?,
        };
        let llm = llm_path(&config, ports.labeller)?;
        let limits = Arc::new(RateLimits::new(
            ports.limits.as_ref().unwrap_or(&config.limits),
        ));
        let mut router = Router::new(
            orders.clone(),
            config.routing.rules.clone(),
            config.routing.flows(),
        )
        .with_order_pattern(config.routing.order_number_pattern.clone())
        .with_model(config.routing.model())
        .with_help_desk(Arc::new(config.help.desk(&config.sla)));
        if let Some(llm) = llm {
            router = router.with_llm(llm);
        }
        let intake = IntakeService::new(
            store.clone(),
            router,
            limits.clone(),
            intake_policy(&config),
        )
        .with_clock(clock.clone());
        let threads = ThreadPolicy {
            keep_after_release: config.discord.keep_thread_after_release,
        };
        let staff = StaffService::new(store.clone())
            .with_clock(clock.clone())
            .with_thread_policy(threads);
        let sweepers = Sweepers::new(
            store.clone(),
            orders.clone(),
            config.sla.clone(),
            (config.queue.stuck.clone(), config.routing.flows()),
        )
        .with_clock(clock.clone());
        Ok(App {
            customers: CustomerService::new(store.clone(), staff.clone()).with_clock(clock.clone()),
            callbacks: CallbackService::new(
                store.clone(),
                staff.clone(),
                config.queue.callback_deadline,
            )
            .with_clock(clock.clone()),
            cards: CardService::new(store.clone()).with_clock(clock.clone()),
            audit: AuditService::new(store.clone(), config.audit).with_clock(clock.clone()),
            privacy: PrivacyService::new(store.clone()),
            latency: Arc::default(),
            config: Arc::new(config),
            orders,
            limits,
            intake,
            staff,
            sweepers,
            store,
            clock,
        })
    }
}

impl App {
    /// The `/metrics` page: the stored figures, this process's routing latency and, when a
    /// language model is set up, what it answered.
    pub async fn metrics_page(&self) -> Result<String, crate::store::StoreError> {
        let stored = self.store.metrics().await?;
        let mut page = crate::metrics::render(&stored, &self.latency);
        if let Some(llm) = self.intake.router().llm() {
            page.push_str(&crate::metrics::render_llm(llm.counts()));
        }
        Ok(page)
    }

    /// The budget outbound requests with `token` draw from: in this process's memory on SQLite
    /// (one process), in the database on PostgreSQL, where several processes may send with the
    /// same token.
    pub fn outbound_budget(&self, token: &Secret) -> Arc<dyn OutboundBudget> {
        match self.store.backend() {
            Backend::Sqlite => Arc::new(LocalBudget(self.limits.clone())),
            Backend::Postgres => Arc::new(SharedBudget::new(
                self.store.clone(),
                SharedBudget::name_for(token.expose()),
                self.config.limits.outbound_per_second,
            )),
        }
    }
}

/// How the configuration asks the store to be opened.
pub fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        max_connections: config.database.max_connections,
        connect_timeout: std::time::Duration::from_secs(config.database.connect_timeout_secs),
        sqlite_synchronous: config.database.sqlite_synchronous.clone(),
        write_lanes: config.database.write_lanes,
        ..StoreOptions::default()
    }
}

fn intake_policy(config: &Config) -> IntakePolicy {
    IntakePolicy {
        reopen_window: chrono::Duration::hours(i64::from(config.cases.reopen_window_hours)),
        max_message_bytes: config.cases.max_message_bytes,
    }
}

fn order_source(settings: &OrdersSettings, store: &Store) -> anyhow::Result<Arc<dyn OrderSource>> {
    Ok(match settings {
        OrdersSettings::BuiltIn => Arc::new(BuiltInOrders::new(store.clone())),
        OrdersSettings::Http {
            base_url,
            timeout_ms,
            token,
        } => Arc::new(
            HttpOrders::new(HttpOrdersConfig {
                base_url: base_url.clone(),
                token: token.clone(),
                timeout: std::time::Duration::from_millis(*timeout_ms),
                read_attempts: 3,
                backoff: std::time::Duration::from_millis(200),
            })
            .context("cannot set up the order system client")?,
        ),
    })
}

/// The language-model path: `labeller`, or the configured endpoint's client, under the
/// configured gate and cache; `None` when neither is there.
pub fn llm_path(
    config: &Config,
    labeller: Option<Arc<dyn Labeller>>,
) -> anyhow::Result<Option<LlmPath>> {
    let labeller = match (labeller, config.llm.base_url.clone()) {
        (Some(labeller), _) => labeller,
        (None, Some(base_url)) => Arc::new(
            LlmLabeller::new(LlmConfig {
                base_url,
                model: config.llm.model.clone(),
                api_key: config.llm.api_key.clone(),
                timeout: std::time::Duration::from_millis(config.llm.timeout_ms),
                max_tokens: config.llm.max_tokens,
                constraint: config.llm.response_format,
            })
            .context("cannot set up the language model client")?,
        ),
        (None, None) => return Ok(None),
    };
    let gate = Gate {
        overrule_below: config.llm.overrule_below,
    };
    Ok(Some(LlmPath::new(labeller, gate, config.llm.cache_entries)))
}
