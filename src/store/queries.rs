//! The SQL shared by both backends. `$n` placeholders work on SQLite and PostgreSQL alike.

pub const SELECT_CASE: &str = "\
    SELECT c.id, c.customer_id, cu.display_name, cu.platform_user_id, c.state, c.intent, \
           c.priority, c.origin, c.order_number, c.assignee, c.escalation_reason, c.created_at, \
           c.updated_at, c.escalated_at, c.resolved_at, c.resolution_summary, \
           c.card_message_id, c.thread_id, c.dm_closed, c.rating, c.order_value_cents, \
           c.sentiment, c.frustrated \
    FROM cases c JOIN customers cu ON cu.id = c.customer_id \
    WHERE c.id = $1";

pub const SELECT_CASE_MESSAGES: &str = "\
    SELECT id, platform_message_id, channel_kind, author_kind, body, sent_at \
    FROM messages WHERE case_id = $1 ORDER BY id";

pub const COUNT_ALL: &str = "\
    SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM cases), \
           (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM audit_events)";

pub const SELECT_AUDIT_PAGE: &str = "\
    SELECT seq, at, actor_kind, actor_id, action, case_id, details, prev_hash, hash \
    FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";

pub const SELECT_AUDIT_PAGE_FOR_CASE: &str = "\
    SELECT seq, at, actor_kind, actor_id, action, case_id, details, prev_hash, hash \
    FROM audit_events WHERE case_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

pub const SELECT_AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";

pub const SELECT_FIRST_BEYOND_HEAD: &str = "\
    SELECT MIN(seq) FROM audit_events WHERE seq > (SELECT seq FROM audit_head WHERE id = 1)";

pub const SELECT_MESSAGE_CASE: &str = "\
    SELECT case_id FROM messages WHERE platform = $1 AND platform_message_id = $2";

pub const UPSERT_CUSTOMER: &str = "\
    INSERT INTO customers (platform, platform_user_id, display_name, created_at) \
    VALUES ($1, $2, $3, $4) \
    ON CONFLICT (platform, platform_user_id) DO UPDATE SET display_name = excluded.display_name \
    RETURNING id, blocked";

pub const SELECT_ACTIVE_CASE: &str = "\
    SELECT id FROM cases \
    WHERE customer_id = $1 AND state IN ('open', 'escalated', 'claimed')";

pub const SELECT_LAST_RESOLVED_CASE: &str = "\
    SELECT id, resolved_at FROM cases \
    WHERE customer_id = $1 AND state = 'resolved' \
    ORDER BY resolved_at DESC LIMIT 1";

/// Loses quietly to a concurrent writer that opened the customer's active case first; the caller
/// then joins that case.
pub const INSERT_CASE: &str = "\
    INSERT INTO cases (customer_id, state, priority, priority_rank, origin, created_at, \
        updated_at) \
    VALUES ($1, 'open', $2, CASE $2 WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 \
        ELSE 0 END, $3, $4, $4) \
    ON CONFLICT (customer_id) WHERE state IN ('open', 'escalated', 'claimed') DO NOTHING \
    RETURNING id";

/// A compare-and-set on the state: no row changes when someone else moved the case first. A case
/// released back to the queue keeps its escalation time, and with it its place in the queue.
pub const UPDATE_CASE_STATE: &str = "\
    UPDATE cases SET state = $1, assignee = $2, updated_at = $3, \
        resolved_at = CASE WHEN $1 = 'resolved' THEN $3 ELSE resolved_at END, \
        closed_at = CASE WHEN $1 = 'closed' THEN $3 ELSE closed_at END, \
        escalated_at = CASE WHEN $1 = 'escalated' AND state <> 'claimed' THEN $3 \
            ELSE escalated_at END, \
        claimed_at = CASE WHEN $1 = 'claimed' THEN $3 ELSE claimed_at END, \
        first_response_at = COALESCE(first_response_at, CASE WHEN $1 = 'claimed' THEN $3 END) \
    WHERE id = $4 AND state = $5 AND COALESCE(assignee, '') = COALESCE($6, '')";

pub const SELECT_CASE_STATE: &str = "SELECT state, assignee FROM cases WHERE id = $1";

pub const UPDATE_CASE_DETAILS: &str = "\
    UPDATE cases SET priority = COALESCE($2, priority), \
        priority_rank = CASE COALESCE($2, priority) WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 \
            WHEN 'normal' THEN 1 ELSE 0 END, \
        escalation_reason = COALESCE($3, escalation_reason), \
        resolution_summary = COALESCE($4, resolution_summary) \
    WHERE id = $1";

pub const INSERT_MESSAGE: &str = "\
    INSERT INTO messages (case_id, customer_id, platform, platform_message_id, channel_kind, \
        channel_id, author_kind, body, body_sha256, sent_at, received_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
    ON CONFLICT (platform, platform_message_id) DO NOTHING \
    RETURNING id";

pub const INSERT_AUDIT_EVENT: &str = "\
    INSERT INTO audit_events (seq, at, actor_kind, actor_id, action, case_id, details, \
        prev_hash, hash) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub const UPDATE_AUDIT_HEAD: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";

pub const SELECT_CASE_ROUTING: &str = "\
    SELECT c.state, c.human_requests, c.order_number, cu.external_customer_id, c.priority, c.flow, \
        c.customer_id, cu.platform_user_id \
    FROM cases c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1";

pub const UPDATE_CASE_ROUTING: &str = "\
    UPDATE cases SET intent = $2, priority = $3, order_number = COALESCE($4, order_number), \
        priority_rank = CASE $3 WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 \
            ELSE 0 END, \
        human_requests = $5, flow = $6, waiting_until = $7, \
        stuck_reason = COALESCE($8, stuck_reason), \
        escalation_reason = COALESCE($9, escalation_reason), updated_at = $10, \
        order_value_cents = COALESCE($11, order_value_cents), sentiment = $12, frustrated = $13 \
    WHERE id = $1";

pub const LINK_CUSTOMER: &str = "\
    UPDATE customers SET external_customer_id = $3 WHERE platform = $1 AND platform_user_id = $2";

/// Messages from the case's customer on any of their cases about the same order.
pub const COUNT_CONTACTS_ABOUT_ORDER: &str = "\
    SELECT COUNT(*) FROM messages m JOIN cases c ON c.id = m.case_id \
    WHERE c.customer_id = (SELECT customer_id FROM cases WHERE id = $1) \
      AND c.order_number = $2 AND m.author_kind = 'customer'";

/// The queue in the order staff take it: priority first, then the longest wait.
pub const SELECT_QUEUE: &str = "\
    SELECT c.id, c.priority, c.state, c.escalated_at, c.assignee, c.escalation_reason \
    FROM cases c WHERE c.state IN ('escalated', 'claimed') \
    ORDER BY CASE c.state WHEN 'escalated' THEN 0 ELSE 1 END, c.priority_rank DESC, \
        c.escalated_at, c.id \
    LIMIT $1";

/// The next case to claim. Within a transaction; PostgreSQL adds `FOR UPDATE SKIP LOCKED` so
/// that staff claiming at once each get a different case instead of queueing on the same one.
pub const SELECT_NEXT_IN_QUEUE: &str = "\
    SELECT id FROM cases WHERE state = 'escalated' \
    ORDER BY priority_rank DESC, escalated_at, id LIMIT 1";

pub const SELECT_STAFF_MEMBER: &str = "SELECT id, role FROM staff_members WHERE id = $1";

pub const UPSERT_STAFF_MEMBER: &str = "\
    INSERT INTO staff_members (id, role, added_at) VALUES ($1, $2, $3) \
    ON CONFLICT (id) DO UPDATE SET role = excluded.role";

/// Queue cases whose SLA clocks may still have something to report.
pub const SELECT_SLA_CLOCKS: &str = "\
    SELECT id, state, priority, escalated_at, first_response_at, first_response_breached_at, \
        resolution_breached_at \
    FROM cases WHERE state IN ('escalated', 'claimed') AND escalated_at IS NOT NULL \
      AND (first_response_breached_at IS NULL OR resolution_breached_at IS NULL) \
      AND id > $2 \
    ORDER BY id LIMIT $1";

/// Records a breach once: no row changes when it was already recorded.
pub const MARK_FIRST_RESPONSE_BREACH: &str = "\
    UPDATE cases SET first_response_breached_at = $2, priority = $3, \
        priority_rank = CASE $3 WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 \
            ELSE 0 END \
    WHERE id = $1 AND first_response_breached_at IS NULL";

pub const MARK_RESOLUTION_BREACH: &str = "\
    UPDATE cases SET resolution_breached_at = $2, priority = $3, \
        priority_rank = CASE $3 WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 \
            ELSE 0 END \
    WHERE id = $1 AND resolution_breached_at IS NULL";

/// Cases the bot is still handling, with what the stuck-case sweeper looks at: the customer's
/// messages, their latest public mention, and the latest answer actually delivered to them.
pub const SELECT_OPEN_FOR_SWEEP: &str = "\
    SELECT c.id, c.intent, c.order_number, c.waiting_until, c.updated_at, \
        (SELECT COUNT(*) FROM messages m WHERE m.case_id = c.id AND m.author_kind = 'customer') \
            AS customer_messages, \
        (SELECT MAX(m.received_at) FROM messages m \
            WHERE m.case_id = c.id AND m.author_kind = 'customer' AND m.channel_kind = 'public') \
            AS last_mention_at, \
        (SELECT MAX(o.sent_at) FROM outbox o WHERE o.case_id = c.id AND o.state = 'sent' \
            AND o.destination IN ('customer_dm', 'channel')) AS last_answer_at \
    FROM cases c WHERE c.state = 'open' AND c.id > $2 ORDER BY c.id LIMIT $1";

pub const SET_CUSTOMER_BLOCKED: &str = "\
    UPDATE customers SET blocked = $2 WHERE id = (SELECT customer_id FROM cases WHERE id = $1)";

pub const SELECT_CASE_PRIORITY: &str = "SELECT priority FROM cases WHERE id = $1";

pub const SELECT_CASE_CUSTOMER: &str = "\
    SELECT c.customer_id, cu.platform, cu.platform_user_id FROM cases c JOIN customers cu ON cu.id = c.customer_id \
    WHERE c.id = $1";

pub const INSERT_OUTBOX: &str = "\
    INSERT INTO outbox (case_id, kind, destination, target, reply_to, body, next_attempt_at, \
        created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";

/// Leases due entries to one dispatcher: their next attempt moves to the lease's end, so another
/// dispatcher (or this one after a crash) takes them again only once the lease has run out.
/// PostgreSQL adds `FOR UPDATE SKIP LOCKED` inside, so dispatchers lease disjoint entries.
pub const LEASE_DUE_OUTBOX_HEAD: &str = "\
    UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 \
    WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
        ORDER BY next_attempt_at, id LIMIT $3";

pub const LEASE_DUE_OUTBOX_TAIL: &str = ") \
    RETURNING id, case_id, kind, destination, target, reply_to, body, attempts";

pub const MARK_OUTBOX_SENT: &str = "\
    UPDATE outbox SET state = 'sent', sent_at = $2, platform_message_id = $3, last_error = NULL \
    WHERE id = $1 AND state = 'pending'";

pub const RESCHEDULE_OUTBOX: &str = "\
    UPDATE outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND state = 'pending'";

pub const MARK_OUTBOX_FAILED: &str = "\
    UPDATE outbox SET state = 'failed', last_error = $2 WHERE id = $1 AND state = 'pending'";

pub const COUNT_OUTBOX_PENDING: &str = "SELECT COUNT(*) FROM outbox WHERE state = 'pending'";

pub const SELECT_CASE_OUTBOX: &str = "\
    SELECT id, case_id, kind, destination, target, reply_to, body, attempts, state \
    FROM outbox WHERE case_id = $1 ORDER BY id";

pub const INSERT_NOTE: &str = "\
    INSERT INTO case_notes (case_id, author, body, created_at) VALUES ($1, $2, $3, $4)";

pub const SELECT_CASE_NOTES: &str = "\
    SELECT author, body, created_at FROM case_notes WHERE case_id = $1 ORDER BY id";

pub const INSERT_CALLBACK: &str = "\
    INSERT INTO callbacks (case_id, phone, requested_at, due_at) VALUES ($1, $2, $3, $4)";

/// The case's callback still to make, latest request first.
pub const SELECT_OPEN_CALLBACK: &str = "\
    SELECT id, phone, requested_at, due_at FROM callbacks \
    WHERE case_id = $1 AND done_at IS NULL ORDER BY id DESC LIMIT 1";

pub const SELECT_OVERDUE_CALLBACKS: &str = "\
    SELECT id, case_id FROM callbacks \
    WHERE done_at IS NULL AND breached_at IS NULL AND due_at <= $1 ORDER BY due_at, id";

/// Records a missed callback deadline once.
pub const MARK_CALLBACK_BREACH: &str = "\
    UPDATE callbacks SET breached_at = $2 WHERE id = $1 AND breached_at IS NULL";

pub const FINISH_CALLBACKS: &str = "\
    UPDATE callbacks SET done_at = $2 WHERE case_id = $1 AND done_at IS NULL";

pub const SET_CASE_CARD: &str = "\
    UPDATE cases SET card_message_id = $2, thread_id = $3 WHERE id = $1";

pub const SELECT_CASE_BY_THREAD: &str = "SELECT id FROM cases WHERE thread_id = $1";

/// Records whether the customer's DMs are closed; no row changes when it already says so.
pub const SET_DM_CLOSED: &str = "\
    UPDATE cases SET dm_closed = $2 WHERE id = $1 AND dm_closed <> $2";

pub const SET_RATING: &str = "UPDATE cases SET rating = $2 WHERE id = $1";

/// For each active case, the customer's latest DM: where casebot resumes reading after a restart.
pub const SELECT_LAST_DMS_OF_ACTIVE_CASES: &str = "\
    SELECT c.id, cu.platform_user_id, m.channel_id, m.platform_message_id \
    FROM cases c JOIN customers cu ON cu.id = c.customer_id \
    JOIN messages m ON m.id = (SELECT MAX(id) FROM messages \
        WHERE case_id = c.id AND author_kind = 'customer' AND channel_kind = 'dm') \
    WHERE c.state IN ('open', 'escalated', 'claimed') AND cu.platform = $1";

pub const DELETE_STAFF_MEMBER: &str = "DELETE FROM staff_members WHERE id = $1";

/// What `/metrics` reports from the database.
pub const SELECT_METRICS: &str = "\
    SELECT (SELECT COUNT(*) FROM messages WHERE author_kind = 'customer'), \
           (SELECT COUNT(*) FROM cases WHERE state = 'escalated' AND priority = 'urgent'), \
           (SELECT COUNT(*) FROM cases WHERE state = 'escalated' AND priority = 'high'), \
           (SELECT COUNT(*) FROM cases WHERE state = 'escalated' AND priority = 'normal'), \
           (SELECT COUNT(*) FROM cases WHERE state = 'escalated' AND priority = 'low'), \
           (SELECT COUNT(*) FROM cases WHERE first_response_breached_at IS NOT NULL) \
             + (SELECT COUNT(*) FROM cases WHERE resolution_breached_at IS NOT NULL), \
           (SELECT COUNT(*) FROM outbox WHERE state = 'pending')";

pub const PING: &str = "SELECT 1";

/// A platform user's latest case.
pub const SELECT_LATEST_CASE_OF_USER: &str = "\
    SELECT c.id FROM cases c JOIN customers cu ON cu.id = c.customer_id \
    WHERE cu.platform = $1 AND cu.platform_user_id = $2 ORDER BY c.id DESC LIMIT 1";

pub const SELECT_CASE_BY_CARD: &str = "SELECT id FROM cases WHERE card_message_id = $1";

pub const SELECT_CUSTOMER: &str = "\
    SELECT id, platform, platform_user_id, display_name, external_customer_id, blocked, created_at \
    FROM customers WHERE id = $1";

pub const SELECT_CUSTOMER_CASES: &str = "SELECT id FROM cases WHERE customer_id = $1 ORDER BY id";

pub const SELECT_CASE_CALLBACKS: &str = "\
    SELECT phone, requested_at, due_at, done_at FROM callbacks WHERE case_id = $1 ORDER BY id";

/// Erasure: the customer keeps a row (cases point at it) but nothing that identifies them.
pub const ERASE_CUSTOMER: &str = "\
    UPDATE customers SET display_name = '[erased]', platform_user_id = 'erased-' || CAST(id AS TEXT), \
        external_customer_id = NULL WHERE id = $1";

pub const ERASE_MESSAGES: &str = "UPDATE messages SET body = '[erased]', channel_id = 'erased' \
    WHERE customer_id = $1 AND body <> '[erased]'";

pub const ERASE_CASES: &str = "\
    UPDATE cases SET order_number = NULL, resolution_summary = CASE WHEN resolution_summary IS NULL \
        THEN NULL ELSE '[erased]' END WHERE customer_id = $1";

pub const ERASE_NOTES: &str = "\
    UPDATE case_notes SET body = '[erased]' \
    WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1) AND body <> '[erased]'";

pub const ERASE_CALLBACKS: &str = "\
    UPDATE callbacks SET phone = '[erased]', done_at = COALESCE(done_at, $2) \
    WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1) AND phone <> '[erased]'";

/// What was sent stays as a record that it was sent, without its text; what was still waiting to
/// go to the customer is not sent any more.
pub const ERASE_OUTBOX: &str = "\
    UPDATE outbox SET body = '[erased]', \
        target = CASE WHEN destination = 'customer_dm' THEN 'erased' ELSE target END, \
        state = CASE WHEN state = 'pending' THEN 'failed' ELSE state END, \
        last_error = CASE WHEN state = 'pending' THEN 'the customer was erased' ELSE last_error END \
    WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1) AND body <> '[erased]'";

pub const MARK_MESSAGE_ROUTED: &str = "\
    UPDATE messages SET routed_at = $3 WHERE platform = $1 AND platform_message_id = $2";

/// A stored customer message that routing never finished with, and whether its author is blocked.
pub const SELECT_UNROUTED_MESSAGE: &str = "\
    SELECT cu.blocked FROM messages m JOIN customers cu ON cu.id = m.customer_id \
    WHERE m.platform = $1 AND m.platform_message_id = $2 AND m.routed_at IS NULL";
