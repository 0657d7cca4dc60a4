//! `sladesk report`, `export`, `outage` and `upstream-credit`: the month's figures and what feeds them.
//! The arms of the command line's dispatch for these commands, as they were
//! in `cli/mod.rs`; the shared helpers (settings, opening the app, errors)
//! stay there.

use super::super::*;

pub(in crate::cli) fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Report {
            command:
                ReportCommand::Monthly {
                    db,
                    org,
                    month,
                    format,
                    out,
                    version,
                    recompute,
                    reason,
                },
        } => {
            let month = parse_month(&month)?;
            let format: crate::reports::render::Format =
                format.parse().map_err(|e| Failure(format!("--format: {e}"), 2))?;
            let app = open_app(&db)?;
            let now = crate::app::now();
            if recompute {
                let kept = app
                    .recompute_month(
                        &Principal::operator(),
                        month,
                        reason.as_deref().unwrap_or_default(),
                        now,
                    )
                    .map_err(cli_error)?;
                eprintln!("{}", kept_summary(month, &kept, "recomputed"));
            }
            let report = app
                .monthly_report(&Principal::operator(), org.as_deref(), month, version, now)
                .map_err(cli_error)?;
            let text = crate::reports::render::render(&report.document().map_err(cli_error)?, format)
                .map_err(|e| Failure(e, 1))?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| Failure(format!("--out {}: {e}", path.display()), 1))?
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            command: ReportCommand::Close { db, month },
        } => {
            let month = parse_month(&month)?;
            let kept = open_app(&db)?
                .close_month(&Principal::operator(), month, crate::app::now())
                .map_err(cli_error)?;
            println!("{}", kept_summary(month, &kept, "closed"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { db, org, out } => {
            if out.exists() && std::fs::read_dir(&out).map(|mut d| d.next().is_some()).unwrap_or(true) {
                return Err(Failure(
                    format!("--out {}: exists and is not an empty folder", out.display()),
                    2,
                ));
            }
            let app = open_app(&db)?;
            let mut sink = |path: &str, bytes: &[u8]| -> Result<(), String> {
                let file = out.join(path);
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                std::fs::write(&file, bytes).map_err(|e| e.to_string())
            };
            let summary = app
                .export_organisation(&Principal::operator(), &org, crate::app::now(), &mut sink)
                .map_err(cli_error)?;
            println!(
                "{}",
                serde_json::json!({
                    "organisation": summary.organisation,
                    "out": out.display().to_string(),
                    "tickets": summary.tickets,
                    "attachments": summary.attachments,
                    "messages": summary.messages,
                    "reports": summary.reports,
                    "files": summary.files.len() + 1,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Outage { command } => {
            let instant = |flag: &str, v: &str| parse_instant(v).map_err(|e| Failure(format!("--{flag}: {e}"), 2));
            match command {
                OutageCommand::Add {
                    db,
                    kind,
                    start,
                    end,
                    notified_at,
                    orgs,
                    all,
                    services,
                    description,
                    public_description,
                } => {
                    if all && !orgs.is_empty() {
                        return Err(Failure("give --org (repeatable) or --all, not both".into(), 2));
                    }
                    if !all && orgs.is_empty() && services.is_empty() {
                        return Err(Failure("give --service, --org (each repeatable) or --all".into(), 2));
                    }
                    let req = crate::app::outages::NewOutageRequest {
                        kind,
                        start: instant("start", &start)?,
                        end: end.as_deref().map(|e| instant("end", e)).transpose()?,
                        notified_at: notified_at.as_deref().map(|e| instant("notified-at", e)).transpose()?,
                        organisations: if all {
                            Some(crate::app::outages::Affected::All("all".into()))
                        } else if orgs.is_empty() {
                            None
                        } else {
                            Some(crate::app::outages::Affected::Some(orgs))
                        },
                        services: services
                            .iter()
                            .map(|s| {
                                let (service, impact) = match s.split_once(':') {
                                    Some((service, impact)) => (service, Some(impact.to_string())),
                                    None => (s.as_str(), None),
                                };
                                crate::app::outages::ServiceImpact {
                                    service: service.to_string(),
                                    impact,
                                }
                            })
                            .collect(),
                        description,
                        public_description,
                    };
                    let v = open_app(&db)?
                        .create_outage(&Principal::operator(), req, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                OutageCommand::Update {
                    db,
                    id,
                    status,
                    body,
                    at,
                } => {
                    let req = crate::app::outages::PostUpdateRequest {
                        status,
                        body,
                        at: at.as_deref().map(|a| instant("at", a)).transpose()?,
                    };
                    let v = open_app(&db)?
                        .post_outage_update(&Principal::operator(), id, req, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                OutageCommand::Link { db, id, tickets } => {
                    let req = crate::app::outages::LinkTicketsRequest { tickets };
                    let v = open_app(&db)?
                        .link_tickets(&Principal::operator(), id, req, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                OutageCommand::Unlink { db, id, ticket } => {
                    open_app(&db)?
                        .unlink_ticket(&Principal::operator(), id, &ticket, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::json!({"outage": id, "unlinked": ticket}));
                }
                OutageCommand::Confirm { db, id } => {
                    let v = open_app(&db)?
                        .confirm_outage(&Principal::operator(), id, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                OutageCommand::ResolveLinked { db, id, note } => {
                    let req = crate::app::outages::ResolveLinkedRequest { note };
                    let n = open_app(&db)?
                        .resolve_linked(&Principal::operator(), id, req, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::json!({"outage": id, "resolved": n}));
                }
                OutageCommand::End { db, id, at } => {
                    let patch = crate::app::outages::OutagePatch {
                        end: Some(instant("at", &at)?),
                        ..Default::default()
                    };
                    let v = open_app(&db)?
                        .patch_outage(&Principal::operator(), id, patch, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                OutageCommand::List { db, month, org } => {
                    let month = month
                        .map(|m| m.parse::<crate::domain::availability::Month>())
                        .transpose()
                        .map_err(|e| Failure(format!("--month: {e}"), 2))?;
                    for v in open_app(&db)?
                        .list_outages(&Principal::operator(), month, org.as_deref(), crate::app::now())
                        .map_err(cli_error)?
                    {
                        println!("{}", serde_json::to_string(&v)?);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::UpstreamCredit { command } => {
            use crate::app::outages::{Affected, NewUpstreamCreditRequest, ShareRequest};
            match command {
                UpstreamCreditCommand::Add {
                    db,
                    reference,
                    month,
                    amount_pence,
                    description,
                    orgs,
                    all,
                    shares,
                } => {
                    let given = [all, !orgs.is_empty(), !shares.is_empty()]
                        .iter()
                        .filter(|g| **g)
                        .count();
                    if given != 1 {
                        return Err(Failure(
                            "give one of --org (repeatable), --all or --share SLUG=PENCE".into(),
                            2,
                        ));
                    }
                    let shares = shares
                        .iter()
                        .map(|s| {
                            s.split_once('=')
                                .and_then(|(o, p)| {
                                    Some(ShareRequest {
                                        organisation: o.to_string(),
                                        amount_pence: p.parse().ok()?,
                                    })
                                })
                                .ok_or_else(|| Failure(format!("--share: '{s}': expected SLUG=PENCE"), 2))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let req = NewUpstreamCreditRequest {
                        reference,
                        month,
                        amount_pence,
                        description,
                        organisations: match (all, orgs.is_empty()) {
                            (true, _) => Some(Affected::All("all".into())),
                            (false, false) => Some(Affected::Some(orgs)),
                            (false, true) => None,
                        },
                        shares: (!shares.is_empty()).then_some(shares),
                    };
                    let v = open_app(&db)?
                        .create_upstream_credit(&Principal::operator(), req, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                UpstreamCreditCommand::List { db, month } => {
                    let month = month
                        .map(|m| m.parse::<crate::domain::availability::Month>())
                        .transpose()
                        .map_err(|e| Failure(format!("--month: {e}"), 2))?;
                    for v in open_app(&db)?
                        .list_upstream_credits(&Principal::operator(), month)
                        .map_err(cli_error)?
                    {
                        println!("{}", serde_json::to_string(&v)?);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!("cli::run sends only Report, Export, Outage, UpstreamCredit here"),
    }
}
