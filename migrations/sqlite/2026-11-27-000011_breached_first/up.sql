-- Breached work first: a ticket whose clock breached and still runs stands
-- in its queue at the instant it breached (the earliest, if both did),
-- ahead of tickets still to breach. An escalating unassigned severity 1
-- ticket keeps its place at the top.
UPDATE tickets SET queue_order_at = CASE
    WHEN response_state = 'breached_running' AND resolve_state = 'breached_running' THEN
        CASE WHEN response_breached_at < resolve_breached_at THEN response_breached_at ELSE resolve_breached_at END
    WHEN response_state = 'breached_running' THEN response_breached_at
    ELSE resolve_breached_at
END
WHERE (response_state = 'breached_running' OR resolve_state = 'breached_running')
  AND NOT (severity = 1 AND assignee_id IS NULL AND escalation_level > 0);
