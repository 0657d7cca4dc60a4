UPDATE tickets SET queue_order_at = next_check_at
WHERE (response_state = 'breached_running' OR resolve_state = 'breached_running')
  AND NOT (severity = 1 AND assignee_id IS NULL AND escalation_level > 0);
