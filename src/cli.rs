//! The command-line adapter: parses arguments, loads configuration, opens the store, calls the
//! services and prints. It is also the one place where an error becomes what a person reads.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::{Args, Parser, Subcommand};

use std::sync::Arc;

use crate::config::{Config, ConfigError, OrdersSettings};
use crate::discord::Services as DiscordServices;
use crate::domain::flows::FlowPolicy;
use crate::domain::staff::{Role, StaffMember};
use crate::domain::CaseAction;
use crate::domain::{ChannelKind, InboundMessage};
use crate::orders::{BuiltInOrders, HttpOrders, HttpOrdersConfig, OrderSource};
use crate::render;
use crate::services::conversation::Conversation;
use crate::services::limits::{LimitSettings, RateLimits};
use crate::services::privacy::PrivacyService;
use crate::services::routing::RoutingService;
use crate::services::sla::SlaSweeper;
use crate::services::stuck::StuckSweeper;
use crate::services::{audit, IntakePolicy, IntakeService};
use crate::services::{Actor, CaseService};
use crate::store::{Store, StoreOptions};

#[derive(Debug, Parser)]
#[command(
    name = "casebot",
    version,
    about = "A Discord bot for social customer care"
)]
pub struct Cli {
    /// A TOML file whose keys override the built-in defaults.
    #[arg(long, global = true, env = "CASEBOT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the Discord sandbox and the real bot on the configured database, play a scripted
    /// support scenario through them, and check every step.
    Demo,
    /// Run the bot: connect to Discord (token from DISCORD_TOKEN), deliver the outbox, run the
    /// sweepers, and serve /healthz, /readyz and /metrics until SIGTERM or Ctrl-C.
    Run {
        /// Run only these shards (like 0-1), with --of.
        #[arg(long, requires = "of")]
        shards: Option<String>,
        /// How many shards the bot has in all.
        #[arg(long, requires = "shards")]
        of: Option<u32>,
        /// A Discord-compatible server to connect to instead of Discord, such as a sandbox.
        #[arg(long)]
        discord_url: Option<String>,
    },
    /// Type into the sandbox as customers and staff, and watch the real bot answer.
    Console,
    /// Create the database if needed and apply its migrations.
    Migrate,
    /// Check or export the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Look at cases.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Take in one customer message, exactly as a chat adapter would, and print the outcome.
    Intake(IntakeArgs),
    /// Classify messages, one per line (file or stdin), printing one JSON decision per line.
    Classify(ClassifyArgs),
    /// The built-in order system.
    #[command(subcommand)]
    Orders(OrdersCommand),
    /// The human queue: list it, claim, release, transfer and resolve cases as a staff member.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Feed a recorded stream of messages (JSON lines or TWCS CSV) through the full engine on the
    /// configured database, and summarise it.
    Replay {
        file: PathBuf,
        /// Replay the recorded timestamps this many times faster.
        #[arg(long, conflicts_with = "as_fast_as_possible")]
        speed: Option<f64>,
        /// Ignore the timestamps (the default when --speed is not given).
        #[arg(long)]
        as_fast_as_possible: bool,
        /// How many authors are handled side by side; one author's messages stay in order.
        #[arg(long, default_value_t = 8)]
        lanes: usize,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A customer's data: export everything stored about them, or erase it.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// Record a customer's request to be called back, as a phone or web channel would.
    CallMe {
        #[arg(long = "case")]
        case_id: i64,
        /// The number in international (E.164) form, like +44 20 7946 0958.
        #[arg(long)]
        phone: String,
    },
    /// The support team: who may act on cases from the command line.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Measure performance; see BENCHMARKS.md.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Score the classifier on the labelled data and print the figures as Markdown.
    Eval {
        /// The shared data folder.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum QueueCommand {
    /// Waiting cases in the order staff take them, then the claimed ones.
    List {
        /// One JSON object per case.
        #[arg(long)]
        json: bool,
    },
    /// Claim the case at the head of the queue.
    Next {
        #[arg(long = "as")]
        staff: String,
    },
    /// Claim a case.
    Claim {
        case_id: i64,
        #[arg(long = "as")]
        staff: String,
    },
    /// Put a claimed case back in the queue.
    Release {
        case_id: i64,
        #[arg(long = "as")]
        staff: String,
    },
    /// Hand a claimed case to another staff member.
    Transfer {
        case_id: i64,
        #[arg(long)]
        to: String,
        #[arg(long = "as")]
        staff: String,
    },
    /// Resolve a case with a summary.
    Resolve {
        case_id: i64,
        #[arg(long)]
        summary: String,
        #[arg(long = "as")]
        staff: String,
    },
    /// Run the sweepers: stuck cases go to the queue, cases past an SLA deadline move up one
    /// priority, and overdue callbacks are reported to staff.
    Sweep {
        /// Keep sweeping at the configured interval (queue.sweep_interval_secs) until Ctrl-C.
        #[arg(long)]
        watch: bool,
    },
    /// Add an internal note to a case (never shown to the customer).
    Note {
        case_id: i64,
        text: String,
        #[arg(long = "as")]
        staff: String,
    },
    /// Reply to the case's customer; the reply is queued for delivery to their DMs.
    Reply {
        case_id: i64,
        text: String,
        #[arg(long = "as")]
        staff: String,
    },
    /// Show the number the customer asked to be called back on (only to the case's claimer).
    Callback {
        case_id: i64,
        #[arg(long = "as")]
        staff: String,
    },
    /// Block the case's customer: their messages are stored but get no bot reply.
    Block {
        case_id: i64,
        #[arg(long = "as")]
        staff: String,
    },
    /// Unblock the case's customer.
    Unblock {
        case_id: i64,
        #[arg(long = "as")]
        staff: String,
    },
    /// Reopen a resolved case.
    Reopen {
        case_id: i64,
        #[arg(long = "as")]
        staff: String,
    },
}

#[derive(Debug, Subcommand)]
enum PrivacyCommand {
    /// Print everything stored about a customer as one JSON document.
    Export {
        /// The customer's number (as `casebot case show` prints it).
        #[arg(long)]
        customer: i64,
    },
    /// Remove a customer's personal data and message text, leaving tombstones; audited.
    Erase {
        #[arg(long)]
        customer: i64,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Add a member to the support team (or change their role).
    Add {
        id: String,
        /// A lead may release, transfer and resolve anyone's cases.
        #[arg(long)]
        lead: bool,
    },
}

#[derive(Debug, Subcommand)]
enum OrdersCommand {
    /// Load orders, subscriptions and charges: JSON lines with a "kind" on each line, or a CSV of
    /// orders (chosen by a .csv name or --csv). Bad rows are reported with their line and skipped.
    Import {
        file: PathBuf,
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Messages through the full intake path (classification, routing, case linking, message,
    /// audit and outbox rows), against the same rows written with bare SQL in the same run.
    Intake {
        /// The database: a SQLite URL is used as given; on a PostgreSQL URL a schema of the
        /// benchmark's own is made and dropped. Default: a new SQLite file in a temporary folder.
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        #[arg(long, default_value_t = 2_000)]
        customers: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Store this many messages first, to measure intake on a grown database.
        #[arg(long, default_value_t = 0)]
        preload: usize,
        /// Offer messages at this rate (per second) instead of as fast as possible.
        #[arg(long)]
        rate: Option<f64>,
        /// The shared data folder; a built-in generator is used when it is absent.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Staff running "claim next" concurrently over a queue; checks no case is claimed twice.
    Claims {
        /// As for `bench intake`.
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value_t = 8)]
        staff: usize,
        #[arg(long, default_value_t = 2_000)]
        cases: usize,
        #[arg(long)]
        json: bool,
    },
    /// Fill a database with stored messages (and their customers, cases and audit events).
    Seed {
        /// The database to fill; default: the configured one.
        #[arg(long)]
        db: Option<String>,
        #[arg(long)]
        messages: usize,
        #[arg(long)]
        json: bool,
    },
    /// Classification throughput on one core over real customer tweets.
    Classify {
        /// The shared data folder; a built-in generator is used when it is absent.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// How many times to go over the texts.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
struct ClassifyArgs {
    /// Read from this file instead of stdin.
    file: Option<PathBuf>,
    /// The input is CSV; classify the column named by --column.
    #[arg(long, requires = "column")]
    csv: bool,
    /// The CSV column holding the text.
    #[arg(long)]
    column: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exits non-zero and names each position that was tampered with.
    Verify,
    /// Print audit events as JSON lines, in chain order.
    Export {
        /// Only the events of this case.
        #[arg(long = "case")]
        case_id: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
enum CaseCommand {
    /// Show a case with its messages and audit trail.
    Show {
        case_id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load the configuration, report the first bad value, and print the result with secrets masked.
    Check,
}

#[derive(Debug, Args)]
struct IntakeArgs {
    /// The customer's platform user id.
    #[arg(long = "from")]
    author_id: String,
    /// The customer's display name.
    #[arg(long, default_value = "customer")]
    name: String,
    /// The message was a public mention rather than a DM.
    #[arg(long)]
    public: bool,
    /// The platform message id; intake is idempotent on it. Defaults to a fresh one.
    #[arg(long)]
    message_id: Option<String>,
    /// The channel id.
    #[arg(long, default_value = "cli")]
    channel: String,
    /// The message text.
    text: String,
}

/// Runs the command line and turns the result into an exit code.
pub fn main() -> ExitCode {
    // A missing .env is normal; a present one fills the environment before config is read.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// The one place an error becomes text for a person: one line, causes joined, no backtrace.
/// Bad configuration exits with 2, anything else with 1.
fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {err:#}");
    if err.chain().any(|cause| cause.is::<ConfigError>()) {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::from_env(cli.config.as_deref())?;
    crate::telemetry::init(&config.log);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(execute(cli.command, config))
}

async fn execute(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Config(ConfigCommand::Check) => {
            writeln!(stdout, "{config:#?}")?;
            writeln!(stdout, "configuration is valid")?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Classify(args) => {
            let oracle = llm_oracle(&config)?;
            classify(&args, oracle.as_ref(), &mut stdout).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Bench(BenchCommand::Intake {
            db,
            messages,
            customers,
            concurrency,
            preload,
            rate,
            data,
            json,
        }) => {
            let settings = crate::bench::intake::IntakeSettings {
                db,
                messages,
                customers,
                concurrency,
                preload,
                rate,
            };
            let r = crate::bench::intake::intake(&settings, &data).await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&r)?)?;
            } else {
                writeln!(
                    stdout,
                    "{} messages on {}: engine {:.0} msgs/s, raw SQL {:.0} msgs/s, ratio {:.2}; \
                     p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; peak RSS {:.0} MB",
                    r.messages,
                    r.backend,
                    r.engine_msgs_per_s,
                    r.raw_msgs_per_s,
                    r.ratio,
                    r.p50_ms,
                    r.p99_ms,
                    r.max_ms,
                    r.peak_rss_mb
                )?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Bench(BenchCommand::Claims {
            db,
            staff,
            cases,
            json,
        }) => {
            let r = crate::bench::intake::claims(db.as_deref(), staff, cases).await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&r)?)?;
            } else {
                writeln!(
                    stdout,
                    "{} staff claimed {} of {} cases on {}: {:.0} claims/s (raw SQL {:.0}, \
                     ratio {:.2}); claimed twice: {}",
                    r.staff,
                    r.claimed,
                    r.cases,
                    r.backend,
                    r.claims_per_s,
                    r.raw_claims_per_s,
                    r.ratio,
                    r.claimed_twice
                )?;
            }
            let code = if r.claimed_twice == 0 && r.claimed == r.cases {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
            return Ok(code);
        }
        Command::Bench(BenchCommand::Seed { db, messages, json }) => {
            let url = db.unwrap_or_else(|| config.database.url.expose().to_owned());
            let r = crate::bench::intake::seed_database(&url, messages).await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&r)?)?;
            } else {
                writeln!(
                    stdout,
                    "stored {} messages on {} in {:.1} s",
                    r.messages, r.backend, r.seconds
                )?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Bench(BenchCommand::Classify { data, rounds, json }) => {
            let result = crate::bench::classify(&data, rounds.max(1));
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&result)?)?;
            } else {
                writeln!(
                    stdout,
                    "classified {} messages from {}: {:.0} msgs/s, p99 {:.1} us \
                     (lower-casing alone: {:.0} msgs/s)",
                    result.messages,
                    result.source,
                    result.msgs_per_s,
                    result.p99_us,
                    result.baseline_normalise_msgs_per_s
                )?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Eval { data } => {
            let report = crate::evaluation::run(&data)?;
            write!(stdout, "{}", report.markdown("cargo run --release -- eval"))?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let store = match command {
        // The bot waits for its database; a one-off command says at once that it cannot reach it.
        Command::Run { .. } => open_store_patiently(&config).await?,
        _ => open_store(&config).await?,
    };
    let code = match command {
        Command::Migrate => {
            let backend = store.backend().as_str();
            writeln!(
                stdout,
                "{backend} database {} is migrated",
                config.database.url
            )?;
            ExitCode::SUCCESS
        }
        Command::Audit(AuditCommand::Verify) => verify_audit(&store, &mut stdout).await?,
        Command::Audit(AuditCommand::Export { case_id }) => {
            audit::export(&store, case_id, &mut stdout).await?;
            ExitCode::SUCCESS
        }
        Command::Case(CaseCommand::Show { case_id, json }) => {
            show_case(&store, case_id, json, &mut stdout).await?;
            ExitCode::SUCCESS
        }
        Command::Replay {
            file,
            speed,
            as_fast_as_possible: _,
            lanes,
            json,
        } => {
            let (messages, bad) = crate::replay::read_file(&file)?;
            for b in bad.iter().take(20) {
                eprintln!("line {}: {}", b.line, b.reason);
            }
            let pace = match speed {
                Some(x) if x > 0.0 => crate::replay::Pace::Speed(x),
                Some(_) => anyhow::bail!("--speed must be above 0"),
                None => crate::replay::Pace::AsFastAsPossible,
            };
            // Time runs faster in a replay; the limits' windows shrink with it.
            let limits = match pace {
                crate::replay::Pace::Speed(x) => config.limits.compressed(x),
                crate::replay::Pace::AsFastAsPossible => LimitSettings::unlimited(),
            };
            let talk = conversation_with(&config, &store, &limits)?;
            let s = crate::replay::replay(talk, messages, &bad, pace, lanes).await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&s)?)?;
            } else {
                writeln!(
                    stdout,
                    "{} messages ({} bad lines skipped, {} already taken in) on {} cases in \
                     {:.1} s: {:.0} msgs/s; {} escalated; {} held back by rate limits; {} failed",
                    s.messages,
                    s.bad_lines,
                    s.duplicates,
                    s.cases,
                    s.seconds,
                    s.msgs_per_s,
                    s.escalations,
                    s.held_by_rate_limits,
                    s.failed
                )?;
                for (intent, n) in &s.intents {
                    writeln!(stdout, "  {intent}: {n}")?;
                }
            }
            if s.failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Privacy(PrivacyCommand::Export { customer }) => {
            let export = PrivacyService::new(store.clone()).export(customer).await?;
            writeln!(stdout, "{}", serde_json::to_string_pretty(&export)?)?;
            ExitCode::SUCCESS
        }
        Command::Privacy(PrivacyCommand::Erase { customer }) => {
            let erased = PrivacyService::new(store.clone())
                .erase(customer, "operator")
                .await?;
            writeln!(
                stdout,
                "customer #{customer} erased: {erased} messages emptied, personal data removed"
            )?;
            ExitCode::SUCCESS
        }
        Command::CallMe { case_id, phone } => {
            let phone = case_service(&config, &store)
                .request_callback(case_id, &phone)
                .await?;
            writeln!(
                stdout,
                "callback on {phone} requested for case #{case_id}; staff have been told"
            )?;
            ExitCode::SUCCESS
        }
        Command::Intake(args) => {
            let talk = conversation(&config, &store)?;
            let handled = talk.handle(&args.into_message()).await?;
            let line = serde_json::json!({
                "intake": handled.intake,
                "public_reply": handled.public_ack,
                "routing": handled.routed,
            });
            writeln!(stdout, "{line}")?;
            ExitCode::SUCCESS
        }
        Command::Orders(OrdersCommand::Import { file, csv }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let csv = csv
                || file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            let report = crate::orders::import::import(&store, &bytes, csv).await?;
            for (line, problem) in &report.skipped {
                writeln!(stdout, "line {line}: skipped: {problem}")?;
            }
            writeln!(
                stdout,
                "imported {} orders, {} subscriptions, {} charges; skipped {} rows",
                report.orders,
                report.subscriptions,
                report.charges,
                report.skipped.len()
            )?;
            ExitCode::SUCCESS
        }
        Command::Queue(command) => queue(&store, &config, command, &mut stdout).await?,
        Command::Staff(StaffCommand::Add { id, lead }) => {
            let role = if lead { Role::Lead } else { Role::Staff };
            let member = StaffMember { id, role };
            let by = Actor {
                kind: crate::domain::ActorKind::System,
                id: "cli".into(),
            };
            CaseService::new(store.clone())
                .add_staff(&member, &by)
                .await?;
            writeln!(
                stdout,
                "{} is on the support team as {}",
                member.id, member.role
            )?;
            ExitCode::SUCCESS
        }
        Command::Demo => {
            let services = discord_services(&config, &store)?;
            crate::demo::run(&store, services, &mut stdout).await?
        }
        Command::Console => {
            let services = discord_services(&config, &store)?;
            crate::console::run(&store, services).await?;
            ExitCode::SUCCESS
        }
        Command::Run {
            shards,
            of,
            discord_url,
        } => {
            let shards = match (shards, of) {
                (Some(range), Some(of)) => Some(crate::run::parse_shards(&range, of)?),
                _ => None,
            };
            let services = discord_services(&config, &store)?;
            let (stuck, sla) = sweepers(&config, &store)?;
            let options = crate::run::RunOptions {
                discord_url,
                shards,
            };
            crate::run::run(&config, services, (stuck, sla), options).await?;
            ExitCode::SUCCESS
        }
        Command::Config(_) | Command::Classify(_) | Command::Eval { .. } | Command::Bench(_) => {
            unreachable!("handled before the store opens")
        }
    };
    store.close().await;
    Ok(code)
}

/// Everything the Discord adapter calls, as configuration describes it; the rate limits are one
/// set shared by the conversation, routing and the outbox.
pub fn discord_services(config: &Config, store: &Store) -> anyhow::Result<DiscordServices> {
    let limits = Arc::new(RateLimits::new(&config.limits));
    let conversation = Conversation::new(
        store.clone(),
        IntakeService::new(store.clone(), intake_policy(config)),
        routing_service(config, store)?.with_limits(limits.clone()),
        limits.clone(),
    );
    Ok(DiscordServices {
        store: store.clone(),
        conversation,
        cases: case_service(config, store),
        limits,
        latency: Arc::default(),
        sla: config.sla.clone(),
    })
}

/// The staff-side case service as configuration describes it.
pub fn case_service(config: &Config, store: &Store) -> CaseService {
    CaseService::new(store.clone()).with_callback_deadline(config.queue.callback_deadline)
}

/// The whole customer path as configuration describes it: intake, rate limits, routing. The
/// limits are one set shared by the conversation and routing.
pub fn conversation(config: &Config, store: &Store) -> anyhow::Result<Conversation> {
    conversation_with(config, store, &config.limits)
}

/// The customer path with other rate limits than configured (replays compress time).
fn conversation_with(
    config: &Config,
    store: &Store,
    limits: &LimitSettings,
) -> anyhow::Result<Conversation> {
    let limits = Arc::new(RateLimits::new(limits));
    Ok(Conversation::new(
        store.clone(),
        IntakeService::new(store.clone(), intake_policy(config)),
        routing_service(config, store)?.with_limits(limits.clone()),
        limits,
    ))
}

/// The routing service as configuration describes it: rules, thresholds, order source, LLM.
pub fn routing_service(config: &Config, store: &Store) -> anyhow::Result<RoutingService> {
    let r = &config.routing;
    let orders = order_source(config, store)?;
    let service = RoutingService::new(store.clone(), orders, r.rules.clone(), flow_policy(config))
        .with_order_pattern(r.order_number_pattern.clone());
    Ok(match llm_oracle(config)? {
        Some(llm) => service.with_oracle(Arc::new(llm)),
        None => service,
    })
}

fn flow_policy(config: &Config) -> FlowPolicy {
    let r = &config.routing;
    FlowPolicy {
        late_after_days: r.late_after_days,
        missing_wait_hours: r.missing_wait_hours,
        high_value_cents: r.high_value_cents,
        auto_refund_cap_cents: r.auto_refund_cap_cents,
    }
}

/// The order system configuration points at.
fn order_source(config: &Config, store: &Store) -> anyhow::Result<Arc<dyn OrderSource>> {
    Ok(match &config.orders {
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
            .context("cannot set up the order API client")?,
        ),
    })
}

/// The LLM intent backend when configuration turns it on.
fn llm_oracle(config: &Config) -> anyhow::Result<Option<crate::llm::LlmIntent>> {
    let Some(base_url) = &config.llm.base_url else {
        return Ok(None);
    };
    let llm = crate::llm::LlmIntent::new(crate::llm::LlmConfig {
        base_url: base_url.clone(),
        model: config.llm.model.clone(),
        api_key: config.llm.api_key.clone(),
        timeout: std::time::Duration::from_millis(config.llm.timeout_ms),
    })
    .context("cannot set up the LLM client")?;
    Ok(Some(llm))
}

/// Opens the configured database and brings its schema up to date.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_connections: config.database.max_connections,
        connect_timeout: std::time::Duration::from_secs(config.database.connect_timeout_secs),
        sqlite_synchronous: config.database.sqlite_synchronous.clone(),
    };
    let store = Store::connect(config.database.url.expose(), &options).await?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot prepare the database {}", config.database.url))?;
    Ok(store)
}

/// Opens the database, and while it is unreachable says so and tries again, waiting longer each
/// time (up to half a minute), until it answers or the process is stopped.
async fn open_store_patiently(config: &Config) -> anyhow::Result<Store> {
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        match open_store(config).await {
            Ok(store) => return Ok(store),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), retry_in_secs = wait.as_secs(),
                    "the database is unreachable; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = tokio::signal::ctrl_c() => return Err(e),
                }
                wait = (wait * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
}

pub fn intake_policy(config: &Config) -> IntakePolicy {
    IntakePolicy {
        reopen_window: Duration::hours(config.cases.reopen_window_hours.into()),
        max_message_bytes: config.cases.max_message_bytes,
    }
}

async fn verify_audit(store: &Store, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let report = audit::verify(store).await?;
    if report.is_intact() {
        writeln!(out, "audit log intact: {} events verified", report.checked)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "audit log TAMPERED: {} problem(s) in {} events",
        report.problems.len(),
        report.checked
    )?;
    for problem in &report.problems {
        writeln!(out, "  {problem}")?;
    }
    Ok(ExitCode::FAILURE)
}

/// Prints one JSON decision per input line, in order. Input that is not UTF-8 is decoded with
/// replacement characters rather than refused.
async fn classify(
    args: &ClassifyArgs,
    oracle: Option<&crate::llm::LlmIntent>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let input = match &args.file {
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        None => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
            buf
        }
    };
    let texts: Vec<String> = match &args.column {
        Some(column) if args.csv => {
            let mut reader = csv::Reader::from_reader(input.as_slice());
            let headers = reader.byte_headers()?.clone();
            let index = headers
                .iter()
                .position(|h| h == column.as_bytes())
                .with_context(|| format!("the CSV has no column named {column:?}"))?;
            reader
                .byte_records()
                .map(
                    |r| Ok(String::from_utf8_lossy(r?.get(index).unwrap_or_default()).into_owned()),
                )
                .collect::<anyhow::Result<_>>()?
        }
        _ => {
            let text = String::from_utf8_lossy(&input);
            let body = text.strip_suffix('\n').unwrap_or(&text);
            if input.is_empty() {
                Vec::new()
            } else {
                body.split('\n')
                    .map(|l| l.trim_end_matches('\r').to_owned())
                    .collect()
            }
        }
    };
    for text in &texts {
        let intent = match oracle {
            Some(oracle) => {
                let local = crate::domain::classify::classify_intent(text);
                Some(crate::llm::decide_intent(&local, Some(oracle), text).await)
            }
            None => None,
        };
        let decision = crate::domain::signals::first_decision_with(text, intent);
        serde_json::to_writer(&mut *out, &decision)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The queue commands. A refused action is an error: one line, non-zero exit.
async fn queue(
    store: &Store,
    config: &Config,
    command: QueueCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let cases = case_service(config, store);
    let (case_id, staff, action) = match command {
        QueueCommand::List { json } => {
            for entry in store.queue(10_000).await? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&entry)?)?;
                } else {
                    writeln!(out, "{}", render::queue_line(&entry))?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Sweep { watch } => {
            let (stuck, sla) = sweepers(config, store)?;
            loop {
                sweep_once(&stuck, &sla, out).await?;
                if !watch {
                    return Ok(ExitCode::SUCCESS);
                }
                tokio::select! {
                    _ = tokio::time::sleep(config.queue.sweep_interval) => {}
                    _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
                }
            }
        }
        QueueCommand::Note {
            case_id,
            text,
            staff,
        } => {
            cases.note(case_id, &staff, &text).await?;
            writeln!(out, "note added to case #{case_id} by {staff}")?;
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Reply {
            case_id,
            text,
            staff,
        } => {
            cases.reply(case_id, &staff, &text, None).await?;
            writeln!(out, "reply to case #{case_id} queued for delivery")?;
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Callback { case_id, staff } => {
            let callback = cases.callback_for(case_id, &staff).await?;
            writeln!(
                out,
                "call {} for case #{case_id}, due by {}",
                callback.phone.expose(),
                callback.due_at.to_rfc3339()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Block { case_id, staff } => {
            return set_blocked(&cases, case_id, &staff, true, out).await;
        }
        QueueCommand::Unblock { case_id, staff } => {
            return set_blocked(&cases, case_id, &staff, false, out).await;
        }
        QueueCommand::Next { staff } => {
            match cases.claim_next(&Actor::staff(&staff)).await? {
                Some(case_id) => writeln!(out, "{staff} claimed case #{case_id}")?,
                None => writeln!(out, "the queue is empty")?,
            }
            return Ok(ExitCode::SUCCESS);
        }
        QueueCommand::Claim { case_id, staff } => {
            let claim = CaseAction::Claim {
                staff: staff.clone(),
            };
            (case_id, staff, claim)
        }
        QueueCommand::Release { case_id, staff } => (case_id, staff, CaseAction::Release),
        QueueCommand::Transfer { case_id, to, staff } => {
            (case_id, staff, CaseAction::Transfer { to })
        }
        QueueCommand::Resolve {
            case_id,
            summary,
            staff,
        } => (case_id, staff, CaseAction::Resolve { summary }),
        QueueCommand::Reopen { case_id, staff } => (case_id, staff, CaseAction::Reopen),
    };
    let verb = action.audit_name().trim_start_matches("case.");
    let state = cases.apply_as_staff(case_id, &staff, action).await?;
    writeln!(out, "case #{case_id} {verb} by {staff}; it is now {state}")?;
    Ok(ExitCode::SUCCESS)
}

/// The stuck-case and SLA sweepers as configuration describes them.
fn sweepers(config: &Config, store: &Store) -> anyhow::Result<(StuckSweeper, SlaSweeper)> {
    let stuck = StuckSweeper::new(
        store.clone(),
        order_source(config, store)?,
        flow_policy(config),
        config.queue.stuck.clone(),
    );
    Ok((stuck, SlaSweeper::new(store.clone(), config.sla.clone())))
}

/// One round of every sweeper, each finding reported as a line.
async fn sweep_once(
    stuck: &StuckSweeper,
    sla: &SlaSweeper,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match stuck.sweep().await? {
        Some(cases) => {
            for (case_id, reason) in cases {
                writeln!(
                    out,
                    "case #{case_id} is stuck ({reason}) and now waits in the queue"
                )?;
            }
        }
        None => writeln!(out, "another process is sweeping stuck cases right now")?,
    }
    for b in sla.sweep().await? {
        let deadline = b.kind.as_str();
        writeln!(
            out,
            "case #{} missed its {deadline} deadline: {} -> {}",
            b.case_id, b.from, b.to
        )?;
    }
    for case_id in sla.sweep_callbacks().await? {
        writeln!(out, "case #{case_id}: the requested callback is overdue")?;
    }
    Ok(())
}

async fn set_blocked(
    cases: &CaseService,
    case_id: i64,
    staff: &str,
    blocked: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    cases.set_blocked(case_id, staff, blocked).await?;
    let verb = if blocked { "blocked" } else { "unblocked" };
    writeln!(out, "the customer of case #{case_id} is {verb}")?;
    Ok(ExitCode::SUCCESS)
}

async fn show_case(
    store: &Store,
    case_id: i64,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let case = store
        .case(case_id)
        .await?
        .with_context(|| format!("case {case_id} does not exist"))?;
    let messages = store.messages(case_id).await?;
    let trail = store.audit_page(Some(case_id), 0, i64::MAX).await?;
    if json {
        writeln!(out, "{}", render::case_json(&case, &messages, &trail))?;
    } else {
        write!(out, "{}", render::case_text(&case, &messages, &trail))?;
    }
    Ok(())
}

impl IntakeArgs {
    fn into_message(self) -> InboundMessage {
        let now = Utc::now();
        InboundMessage {
            platform: "cli".into(),
            author_id: self.author_id,
            author_name: self.name,
            channel_kind: if self.public {
                ChannelKind::Public
            } else {
                ChannelKind::Dm
            },
            channel_id: self.channel,
            message_id: self
                .message_id
                .unwrap_or_else(|| format!("cli-{}", now.timestamp_nanos_opt().unwrap_or(0))),
            text: self.text,
            sent_at: now,
        }
    }
}
