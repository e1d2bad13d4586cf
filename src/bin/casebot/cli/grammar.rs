//! The command line as people type it: every command, its arguments and their help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "casebot",
    version,
    about = "A Discord bot for social customer care"
)]
pub struct Cli {
    /// A TOML file whose keys override the built-in defaults.
    #[arg(long, global = true, env = "CASEBOT_CONFIG")]
    pub config: Option<PathBuf>,
    /// An intent model from `casebot train`, instead of routing.model_file or the built-in one
    /// (for classify, eval, run, demo, replay and every other command that routes messages).
    #[arg(long, global = true)]
    pub model: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the Discord sandbox and the real bot on the configured database, play a scripted
    /// support scenario through them, and check every step.
    Demo,
    /// Run the bot: connect to Discord (token from DISCORD_TOKEN), deliver the outbox, run the
    /// sweepers, seal audit checkpoints, and serve /healthz, /readyz and /metrics until SIGTERM
    /// or Ctrl-C.
    Run(RunArgs),
    /// Print the invite URL casebot needs, and with DISCORD_TOKEN check the staff server, queue
    /// channel, roles and the bot's permissions there.
    Setup {
        /// A Discord-compatible server to check instead of Discord, such as a sandbox.
        #[arg(long)]
        discord_url: Option<String>,
    },
    /// Type into the sandbox as customers and staff, and watch the real bot answer.
    Console,
    /// Create the database if needed and apply its migrations.
    Migrate,
    /// Check, seal or export the tamper-evident audit log.
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
    Replay(ReplayArgs),
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
    /// Train an intent model on labelled messages (CSV files, or folders of them), print its
    /// cross-validated accuracy and macro-F1, and write it for --model or routing.model_file;
    /// or, with --export-corrections, write staff corrections as labelled CSV to train on.
    Train(TrainArgs),
    /// Score the classifier on the labelled data and print the figures as Markdown.
    Eval {
        /// The shared data folder.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// CSV files with a header row, or folders whose .csv files are all read (in name order).
    #[arg(long, required_unless_present = "export_corrections", num_args = 1..)]
    pub labels: Vec<PathBuf>,
    /// The column holding the message text.
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// The column holding the intent name.
    #[arg(long, default_value = "intent")]
    pub intent_column: String,
    /// Where to write the model.
    #[arg(long, required_unless_present = "export_corrections")]
    pub out: Option<PathBuf>,
    /// Folds for cross-validation (2-20).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(2..=20))]
    pub folds: u8,
    /// Instead of training, write every case staff corrected (on the configured database) to
    /// this file as labelled CSV (text,intent,escalate,frustration,urgency) for --labels. The
    /// file holds customers' messages: keep it as you keep the database.
    #[arg(long, value_name = "FILE.csv", conflicts_with_all = ["labels", "out"])]
    pub export_corrections: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run only these shards (like 0-1), with --of.
    #[arg(long, requires = "of")]
    pub shards: Option<String>,
    /// How many shards the bot has in all.
    #[arg(long, requires = "shards")]
    pub of: Option<u32>,
    /// A Discord-compatible server to connect to instead of Discord, such as a sandbox.
    #[arg(long)]
    pub discord_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    pub file: PathBuf,
    /// Replay the recorded timestamps this many times faster.
    #[arg(long, conflicts_with = "as_fast_as_possible")]
    pub speed: Option<f64>,
    /// Ignore the timestamps (the default when --speed is not given).
    #[arg(long)]
    pub as_fast_as_possible: bool,
    /// How many authors are handled side by side; one author's messages stay in order.
    #[arg(long, default_value_t = 8)]
    pub lanes: usize,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
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
pub enum PrivacyCommand {
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
pub enum StaffCommand {
    /// Add a member to the support team (or change their role).
    Add {
        id: String,
        /// A lead may release, transfer and resolve anyone's cases.
        #[arg(long)]
        lead: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Load orders, subscriptions and charges: JSON lines with a "kind" on each line, or a CSV of
    /// orders (chosen by a .csv name or --csv). Bad rows are reported with their line and skipped.
    Import {
        file: PathBuf,
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Messages through the whole intake path (classification, routing, case, message, audit and
    /// outbox rows, one unit of work each), against the same rows written with the fewest
    /// statements a hand-written program needs, in the same run.
    Intake(BenchIntakeArgs),
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
pub struct BenchIntakeArgs {
    /// The database: a SQLite URL is used as given; on a PostgreSQL URL a schema of the
    /// benchmark's own is made and dropped. Default: a new SQLite file in a temporary folder.
    #[arg(long)]
    pub db: Option<String>,
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
    #[arg(long, default_value_t = 2_000)]
    pub customers: usize,
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Store this many messages first, to measure intake on a grown database.
    #[arg(long, default_value_t = 0)]
    pub preload: usize,
    /// Offer messages at this rate (per second) instead of as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Run this many processes side by side on one PostgreSQL database (with --db postgres://).
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// The shared data folder; a built-in generator is used when it is absent.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    #[arg(long)]
    pub json: bool,
    /// Run as one of `--processes`: take in messages for customers named by this prefix on the
    /// given database, and print when it started and finished.
    #[arg(long, hide = true, requires = "db")]
    pub worker: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Read from this file instead of stdin.
    pub file: Option<PathBuf>,
    /// The input is CSV; classify the column named by --column.
    #[arg(long, requires = "column")]
    pub csv: bool,
    /// The CSV column holding the text.
    #[arg(long)]
    pub column: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every chain and checkpoint; exits non-zero and names each position tampered with.
    Verify {
        /// A checkpoint hash kept outside the database (from `audit checkpoint`): the log must
        /// still hold it.
        #[arg(long)]
        seal: Option<String>,
    },
    /// Seal what is unsealed and print the latest checkpoint, to keep outside the database.
    Checkpoint {
        #[arg(long)]
        json: bool,
    },
    /// Print audit events as JSON lines, in the order they were appended.
    Export {
        /// Only the events of this case.
        #[arg(long = "case")]
        case_id: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Show a case with its messages, corrections, notes and audit trail.
    Show {
        case_id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Correct what routing read on a case, as a staff member: the intent, or that it did not
    /// need a person. Kept for `casebot train --export-corrections`.
    #[command(group = clap::ArgGroup::new("correction")
        .required(true)
        .args(["intent", "no_person"]))]
    Correct {
        case_id: i64,
        /// The intent the customer needed (an intent name, like refund).
        #[arg(long)]
        intent: Option<String>,
        /// The case was handed to a person but did not need one.
        #[arg(long)]
        no_person: bool,
        #[arg(long = "as")]
        staff: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load the configuration, report the first bad value, and print the result with secrets masked.
    Check,
}

#[derive(Debug, Args)]
pub struct IntakeArgs {
    /// The customer's platform user id.
    #[arg(long = "from")]
    pub author_id: String,
    /// The customer's display name.
    #[arg(long, default_value = "customer")]
    pub name: String,
    /// The message was a public mention rather than a DM.
    #[arg(long)]
    pub public: bool,
    /// The platform message id; intake is idempotent on it. Defaults to a fresh one.
    #[arg(long)]
    pub message_id: Option<String>,
    /// The channel id.
    #[arg(long, default_value = "cli")]
    pub channel: String,
    /// The message text.
    pub text: String,
}
