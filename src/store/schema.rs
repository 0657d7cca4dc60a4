//! The diesel schema shared by both backends: only SQL types SQLite and
//! PostgreSQL have in common (BigInt, Integer, Text, Bool, Timestamp, Date,
//! Binary). Kept by hand in step with `migrations/sqlite` and
//! `migrations/postgresql`.
//!
//! Why this file is long (one declaration per table, 53 tables), and
//! not split along use cases: it holds no logic, only declarations; and
//! diesel's `allow_tables_to_appear_in_same_query!` and `joinable!` must
//! name every pair of tables that meet in one query, across use cases
//! (a ticket joins organisations, users, queues, events, links, disputes,
//! reports…). Split by use case, every part would import the others'
//! tables and the join list would still be one place; `diesel
//! print-schema` writes it as one file for the same reason.

diesel::table! {
    organisations (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        tier -> Text,
        region -> Text,
        email_domains -> Text,
        monthly_charge_pence -> BigInt,
        contract_start -> Nullable<Date>,
        contract_end -> Nullable<Date>,
        status -> Text,
        created_at -> Timestamp,
        may_declare_severity -> Bool,
        account_contact -> Nullable<Text>,
        ticket_sharing -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        email_key -> Text,
        name -> Text,
        role -> Text,
        organisation_id -> Nullable<BigInt>,
        password_hash -> Nullable<Text>,
        totp_secret -> Nullable<Text>,
        disabled -> Bool,
        time_zone -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked -> Bool,
    }
}

diesel::table! {
    queues (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        inbound_address -> Nullable<Text>,
        lead_id -> Nullable<BigInt>,
        default_severity -> Integer,
        created_at -> Timestamp,
        customer_selectable -> Bool,
    }
}

diesel::table! {
    queue_members (queue_id, user_id) {
        queue_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    policy_versions (version) {
        version -> Text,
        name -> Text,
        effective_from -> Date,
        source -> Text,
        first_seen_at -> Timestamp,
    }
}

diesel::table! {
    holiday_sets (fingerprint) {
        fingerprint -> Text,
        source -> Text,
        first_seen_at -> Timestamp,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        reference -> Text,
        organisation_id -> BigInt,
        requester_id -> BigInt,
        queue_id -> BigInt,
        assignee_id -> Nullable<BigInt>,
        severity -> Integer,
        status -> Text,
        subject -> Text,
        source -> Text,
        received_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        policy -> Text,
        policy_version -> Text,
        holiday_set -> Text,
        row_version -> BigInt,
        first_response_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        reopen_count -> Integer,
        response_state -> Text,
        response_elapsed_seconds -> BigInt,
        response_due_at -> Nullable<Timestamp>,
        response_breached_at -> Nullable<Timestamp>,
        resolve_state -> Text,
        resolve_elapsed_seconds -> BigInt,
        resolve_due_at -> Nullable<Timestamp>,
        resolve_breached_at -> Nullable<Timestamp>,
        at_risk_at -> Nullable<Timestamp>,
        next_check_at -> Nullable<Timestamp>,
        sla_computed_at -> Timestamp,
        escalation_level -> Integer,
        queue_order_at -> Nullable<Timestamp>,
        ticket_type -> Text,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        seq -> Integer,
        at -> Timestamp,
        actor_role -> Text,
        actor_id -> Nullable<BigInt>,
        kind -> Text,
        visibility -> Text,
        body -> Nullable<Text>,
        data -> Text,
    }
}

diesel::table! {
    itil_events (ticket_id, seq) {
        ticket_id -> BigInt,
        seq -> Integer,
        at -> Timestamp,
        data -> Text,
    }
}

diesel::table! {
    itil_records (ticket_id) {
        ticket_id -> BigInt,
        ticket_type -> Text,
        status -> Text,
        item -> Nullable<Text>,
        item_version -> Nullable<Text>,
        answers -> Nullable<Text>,
        due_at -> Nullable<Timestamp>,
        known_error -> Bool,
        change_kind -> Nullable<Text>,
        window_start -> Nullable<Timestamp>,
        window_end -> Nullable<Timestamp>,
        outage_id -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    change_freezes (id) {
        id -> BigInt,
        name -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    change_services (ticket_id, service_id) {
        ticket_id -> BigInt,
        service_id -> BigInt,
    }
}

diesel::table! {
    allowed_networks (scope, cidr) {
        scope -> Text,
        cidr -> Text,
        added_by -> Nullable<BigInt>,
        added_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        target -> Text,
        remote_addr -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    inbound_messages (id) {
        id -> BigInt,
        message_id -> Text,
        dedup_key -> Text,
        via -> Text,
        received_at -> Timestamp,
        from_address -> Nullable<Text>,
        subject -> Nullable<Text>,
        outcome -> Text,
        reason -> Nullable<Text>,
        ticket_id -> Nullable<BigInt>,
        raw -> Binary,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_runs (job) {
        job -> Text,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_started_at -> Nullable<Timestamp>,
        last_finished_at -> Nullable<Timestamp>,
        last_outcome -> Nullable<Text>,
        last_error -> Nullable<Text>,
        next_run_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mailbox_positions (source) {
        source -> Text,
        uid_validity -> BigInt,
        last_uid -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        ticket_id -> Nullable<BigInt>,
        kind -> Text,
        to_address -> Text,
        message_id -> Text,
        in_reply_to -> Nullable<Text>,
        context -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        in_doubt -> Bool,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        inbound_message_id -> Nullable<Text>,
        filename -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        data -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outages (id) {
        id -> BigInt,
        kind -> Text,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        notified_at -> Nullable<Timestamp>,
        all_organisations -> Bool,
        description -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        public_description -> Nullable<Text>,
        reminder_sent_at -> Nullable<Timestamp>,
        start_noticed_at -> Nullable<Timestamp>,
        end_noticed_at -> Nullable<Timestamp>,
        draft -> Bool,
        proposed_end_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    alerts (id) {
        id -> BigInt,
        fingerprint -> Text,
        name -> Text,
        labels -> Text,
        firing -> Bool,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        ticket_id -> BigInt,
        outage_id -> Nullable<BigInt>,
        notifications -> Integer,
        first_seen_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    outage_organisations (outage_id, organisation_id) {
        outage_id -> BigInt,
        organisation_id -> BigInt,
    }
}

diesel::table! {
    services (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        group_name -> Text,
        description -> Text,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    organisation_services (organisation_id, service_id) {
        organisation_id -> BigInt,
        service_id -> BigInt,
    }
}

diesel::table! {
    outage_services (outage_id, service_id) {
        outage_id -> BigInt,
        service_id -> BigInt,
        impact -> Text,
    }
}

diesel::table! {
    outage_updates (id) {
        id -> BigInt,
        outage_id -> BigInt,
        at -> Timestamp,
        status -> Text,
        body -> Text,
        posted_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    upstream_credits (id) {
        id -> BigInt,
        reference -> Text,
        month -> Text,
        amount_pence -> BigInt,
        description -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    upstream_credit_shares (upstream_credit_id, organisation_id) {
        upstream_credit_id -> BigInt,
        organisation_id -> BigInt,
        amount_pence -> BigInt,
    }
}

diesel::table! {
    report_versions (id) {
        id -> BigInt,
        scope -> Text,
        month -> Text,
        version -> Integer,
        data -> Text,
        kept_at -> Timestamp,
        kept_by -> Text,
        reason -> Text,
    }
}

diesel::table! {
    report_revisions_pending (id) {
        id -> BigInt,
        scope -> Text,
        month -> Text,
        at -> Timestamp,
        what -> Text,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        stage -> Text,
        csrf_token -> Text,
        pending_totp_secret -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        remote_addr -> Nullable<Text>,
        sso_provider -> Nullable<Text>,
        sso_id_token -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        name -> Text,
        url -> Text,
        format -> Text,
        secret -> Text,
        event_types -> Text,
        organisation_id -> Nullable<BigInt>,
        queue_id -> Nullable<BigInt>,
        severities -> Nullable<Text>,
        allow_private -> Bool,
        enabled -> Bool,
        failing_since -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_failure_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        disabled_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    scim_resources (id) {
        id -> Text,
        resource_type -> Text,
        realm -> Text,
        user_id -> Nullable<BigInt>,
        name_key -> Text,
        external_id -> Nullable<Text>,
        document -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mailbox_health (mailbox) {
        mailbox -> Text,
        last_success_at -> Nullable<Timestamp>,
        last_failure_at -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        consecutive_failures -> Integer,
        last_error -> Nullable<Text>,
        notified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sso_logins (state_hash) {
        state_hash -> Text,
        provider -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        login_hint -> Nullable<Text>,
        remote_addr -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sso_identities (issuer, subject) {
        issuer -> Text,
        subject -> Text,
        user_id -> BigInt,
        provider -> Text,
        created_at -> Timestamp,
        last_sign_in_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_throttles (key) {
        key -> Text,
        count -> Integer,
        window_start -> Timestamp,
        blocked_until -> Nullable<Timestamp>,
        notified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_guards (user_id) {
        user_id -> BigInt,
        failures -> Integer,
        locked_until -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    kept_figures (name) {
        name -> Text,
        computed_at -> Timestamp,
        body -> Text,
    }
}

diesel::table! {
    web_keys (id) {
        id -> BigInt,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    disputes (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        month -> Text,
        subject -> Text,
        reason -> Text,
        raised_by -> BigInt,
        raised_at -> Timestamp,
        status -> Text,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        reply -> Nullable<Text>,
        adjustment_pence -> BigInt,
        evidence -> Nullable<Text>,
        report_version -> Nullable<Integer>,
    }
}

diesel::table! {
    dispute_files (id) {
        id -> BigInt,
        dispute_id -> BigInt,
        filename -> Text,
        content_type -> Text,
        size -> BigInt,
        data -> Binary,
    }
}

diesel::joinable!(disputes -> organisations (organisation_id));
diesel::joinable!(dispute_files -> disputes (dispute_id));
diesel::joinable!(outage_organisations -> outages (outage_id));
diesel::joinable!(organisation_services -> organisations (organisation_id));
diesel::joinable!(organisation_services -> services (service_id));
diesel::joinable!(outage_services -> outages (outage_id));
diesel::joinable!(outage_updates -> outages (outage_id));
diesel::joinable!(outage_services -> services (service_id));
diesel::joinable!(outage_organisations -> organisations (organisation_id));
diesel::joinable!(upstream_credit_shares -> upstream_credits (upstream_credit_id));
diesel::joinable!(upstream_credit_shares -> organisations (organisation_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(web_sessions -> users (user_id));
diesel::joinable!(sso_identities -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(tickets -> organisations (organisation_id));
diesel::joinable!(tickets -> queues (queue_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));
diesel::joinable!(itil_events -> tickets (ticket_id));
diesel::joinable!(itil_records -> tickets (ticket_id));
diesel::joinable!(change_services -> tickets (ticket_id));
diesel::joinable!(change_services -> services (service_id));
diesel::joinable!(saved_views -> queues (queue_id));

diesel::table! {
    time_entries (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        user_id -> BigInt,
        minutes -> Integer,
        spent_on -> Date,
        note -> Nullable<Text>,
        event_seq -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(time_entries -> tickets (ticket_id));

diesel::table! {
    ticket_presence (ticket_id, user_id) {
        ticket_id -> BigInt,
        user_id -> BigInt,
        replying -> Bool,
        seen_at -> Timestamp,
    }
}

diesel::joinable!(ticket_presence -> users (user_id));

diesel::table! {
    ticket_watchers (ticket_id, user_id) {
        ticket_id -> BigInt,
        user_id -> BigInt,
        source -> Text,
        added_by -> Nullable<BigInt>,
        added_at -> Timestamp,
    }
}

diesel::joinable!(ticket_watchers -> tickets (ticket_id));

diesel::table! {
    ticket_links (from_ticket_id, to_ticket_id, kind) {
        from_ticket_id -> BigInt,
        to_ticket_id -> BigInt,
        kind -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    macros (id) {
        id -> BigInt,
        name -> Text,
        body -> Text,
        queue_id -> Nullable<BigInt>,
        owner_id -> Nullable<BigInt>,
        set_status -> Nullable<Text>,
        set_severity -> Nullable<Integer>,
        set_assignee -> Nullable<Text>,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(macros -> queues (queue_id));
diesel::joinable!(time_entries -> users (user_id));

diesel::table! {
    saved_views (id) {
        id -> BigInt,
        name -> Text,
        query -> Text,
        sort -> Nullable<Text>,
        owner_id -> Nullable<BigInt>,
        queue_id -> Nullable<BigInt>,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::allow_columns_to_appear_in_same_group_by_clause!(organisations::tier, tickets::severity);
diesel::allow_columns_to_appear_in_same_group_by_clause!(organisations::slug, tickets::reference);

diesel::table! {
    outage_tickets (outage_id, ticket_id) {
        outage_id -> BigInt,
        ticket_id -> BigInt,
        linked_by -> Nullable<BigInt>,
        linked_at -> Timestamp,
    }
}

diesel::joinable!(outage_tickets -> outages (outage_id));
diesel::joinable!(outage_tickets -> tickets (ticket_id));

diesel::table! {
    status_subscribers (id) {
        id -> BigInt,
        email -> Text,
        token -> Text,
        all_services -> Bool,
        confirmed_at -> Nullable<Timestamp>,
        user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    status_subscriber_services (subscriber_id, service_id) {
        subscriber_id -> BigInt,
        service_id -> BigInt,
    }
}

diesel::joinable!(status_subscriber_services -> status_subscribers (subscriber_id));
diesel::joinable!(status_subscriber_services -> services (service_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    disputes,
    dispute_files,
    users,
    api_tokens,
    queues,
    queue_members,
    saved_views,
    time_entries,
    ticket_presence,
    ticket_watchers,
    ticket_links,
    itil_events,
    itil_records,
    change_freezes,
    change_services,
    allowed_networks,
    sso_logins,
    sso_identities,
    mailbox_health,
    webhook_endpoints,
    scim_resources,
    macros,
    policy_versions,
    holiday_sets,
    tickets,
    ticket_events,
    audit_log,
    inbound_messages,
    outbox,
    attachments,
    outages,
    outage_organisations,
    services,
    organisation_services,
    outage_services,
    outage_updates,
    status_subscribers,
    status_subscriber_services,
    outage_tickets,
    alerts,
    upstream_credits,
    upstream_credit_shares,
    report_versions,
    report_revisions_pending,
    web_sessions,
    sign_in_guards,
    sign_in_throttles,
    recovery_codes,
    web_keys,
    kept_figures,
);
