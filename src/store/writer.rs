//! Group commit: writers per store collect the changes that are ready and apply them in one
//! transaction. Under load the changes of many concurrent callers share a commit; when load is
//! light a change is applied as soon as it arrives, so latency does not rise. Each caller gets
//! its own outcome: a change that fails (a constraint, bad data) is applied again alone, so it
//! fails alone and the others commit.
//!
//! SQLite has one writer lane (it has one writer); PostgreSQL has several, each with its own
//! connection, since its commits run side by side. A change goes to the lane of its first key
//! (its customer or case), so one customer's changes queue in one lane, in order. Lanes run on a
//! thread of their own: each statement of a batch is a round trip to the database, and on a busy
//! runtime every return would wait behind all the intake tasks that are ready to run.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::batch;
use super::StoreError;
use crate::domain::{Applied, Change};

/// What the writer needs from an adapter: apply a batch in one transaction.
#[async_trait]
pub(crate) trait ApplyBatch: Send + Sync + 'static {
    async fn apply_batch(&self, changes: &[&Change]) -> Result<Vec<Applied>, StoreError>;
}

struct Job {
    change: Change,
    reply: oneshot::Sender<Result<Applied, StoreError>>,
}

/// The handle callers submit changes through.
#[derive(Clone)]
pub(crate) struct Writer {
    lanes: Arc<[mpsc::UnboundedSender<Job>]>,
}

impl Writer {
    /// Starts `lanes` writers for `target`, each committing at most `max_batch` changes at once,
    /// on a thread of their own. They stop when the last handle is dropped.
    pub(crate) fn start(target: Arc<dyn ApplyBatch>, max_batch: usize, lanes: usize) -> Writer {
        let (senders, queues): (Vec<_>, Vec<_>) =
            (0..lanes.max(1)).map(|_| mpsc::unbounded_channel()).unzip();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the writer's runtime starts");
        let max = max_batch.max(1);
        std::thread::Builder::new()
            .name("casebot-writer".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let lanes: Vec<_> = queues
                        .into_iter()
                        .map(|queue| tokio::spawn(run(target.clone(), queue, max)))
                        .collect();
                    for lane in lanes {
                        let _ = lane.await;
                    }
                });
            })
            .expect("the writer's thread starts");
        Writer {
            lanes: senders.into(),
        }
    }

    pub(crate) async fn apply(&self, change: Change) -> Result<Applied, StoreError> {
        let (reply, outcome) = oneshot::channel();
        let lane = &self.lanes[lane_of(&change, self.lanes.len())];
        lane.send(Job { change, reply })
            .map_err(|_| StoreError::Closed)?;
        outcome.await.map_err(|_| StoreError::Closed)?
    }
}

/// The lane of a change's first key; a change with none (a staff directory change, say) goes
/// to the first lane.
fn lane_of(change: &Change, lanes: usize) -> usize {
    let Some(key) = batch::keys(change).into_iter().next() else {
        return 0;
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}

async fn run(target: Arc<dyn ApplyBatch>, mut queue: mpsc::UnboundedReceiver<Job>, max: usize) {
    let mut waiting: VecDeque<Job> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match queue.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        while let Ok(job) = queue.try_recv() {
            waiting.push_back(job);
        }
        let batch = take_batch(&mut waiting, max);
        commit(target.as_ref(), batch).await;
    }
}

/// Takes up to `max` waiting jobs that touch different cases and customers, oldest first; the
/// others wait for the next batch, in order.
fn take_batch(waiting: &mut VecDeque<Job>, max: usize) -> Vec<Job> {
    let mut taken = Vec::new();
    let mut keys = std::collections::HashSet::new();
    let mut kept = VecDeque::new();
    while let Some(job) = waiting.pop_front() {
        let job_keys = batch::keys(&job.change);
        if taken.len() < max && job_keys.iter().all(|k| !keys.contains(k)) {
            keys.extend(job_keys);
            taken.push(job);
        } else {
            kept.push_back(job);
        }
    }
    *waiting = kept;
    taken
}

async fn commit(target: &dyn ApplyBatch, jobs: Vec<Job>) {
    let changes: Vec<&Change> = jobs.iter().map(|j| &j.change).collect();
    match target.apply_batch(&changes).await {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(e) if jobs.len() == 1 => {
            let job = jobs.into_iter().next().expect("one job");
            let _ = job.reply.send(Err(e));
        }
        Err(e) => {
            // One of them (or the database) failed the whole batch: give each its own attempt,
            // so a bad change fails alone.
            tracing::debug!(error = %e, changes = jobs.len(), "batch failed; applying one by one");
            for job in jobs {
                let outcome = target.apply_batch(&[&job.change]).await;
                let _ = job
                    .reply
                    .send(outcome.map(|mut o| o.pop().unwrap_or(Applied::Conflict)));
            }
        }
    }
}
