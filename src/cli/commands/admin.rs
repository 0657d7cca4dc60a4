//! `sladesk org`, `queue`, `user`, `token` and `totp-code`: administration.
//! The arms of the command line's dispatch for these commands, as they were
//! in `cli/mod.rs`; the shared helpers (settings, opening the app, errors)
//! stay there.

use super::super::*;

pub(in crate::cli) fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Org {
            command:
                OrgCommand::Add {
                    db,
                    slug,
                    name,
                    tier,
                    region,
                    email_domains,
                    monthly_charge_pence,
                    contract_start,
                    contract_end,
                    may_declare_severity,
                    account_contact,
                    ticket_sharing,
                },
        } => {
            let ticket_sharing = sharing(&ticket_sharing)?;
            let app = open_app(&db)?;
            let org = app
                .create_organisation(
                    &Principal::operator(),
                    NewOrganisationRequest {
                        slug,
                        name,
                        tier,
                        region,
                        email_domains,
                        monthly_charge_pence,
                        contract_start,
                        contract_end,
                        may_declare_severity,
                        account_contact,
                        ticket_sharing,
                    },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&org)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Org {
            command:
                OrgCommand::Set {
                    db,
                    slug,
                    ticket_sharing,
                    may_declare_severity,
                },
        } => {
            let patch = crate::app::admin::OrganisationPatch {
                ticket_sharing: ticket_sharing.as_deref().map(sharing).transpose()?,
                may_declare_severity,
            };
            let app = open_app(&db)?;
            let org = app
                .update_organisation(&Principal::operator(), &slug, patch, crate::app::now())
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&org)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Org {
            command:
                OrgCommand::Networks {
                    db,
                    slug,
                    staff,
                    networks,
                },
        } => {
            let scope = match (staff, slug) {
                (true, _) => crate::app::admin::NetworkScope::Staff,
                (false, Some(slug)) => crate::app::admin::NetworkScope::Organisation(slug),
                (false, None) => return Err(Failure("name an organisation, or give --staff".into(), 2)),
            };
            let app = open_app(&db)?;
            let set = app
                .set_networks(
                    &Principal::operator(),
                    &scope,
                    &crate::app::admin::Networks { networks },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&set)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Queue {
            command:
                QueueCommand::Add {
                    db,
                    slug,
                    name,
                    inbound_address,
                    lead,
                    members,
                    default_severity,
                    customer_selectable,
                },
        } => {
            let app = open_app(&db)?;
            let queue = app
                .create_queue(
                    &Principal::operator(),
                    crate::app::admin::NewQueueRequest {
                        slug,
                        name,
                        inbound_address,
                        lead,
                        members,
                        default_severity,
                        customer_selectable,
                    },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&queue)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command:
                UserCommand::Add {
                    db,
                    role,
                    email,
                    org,
                    name,
                },
        } => {
            let app = open_app(&db)?;
            let password = std::env::var("SLADESK_PASSWORD").ok();
            let user = app
                .create_user(
                    &Principal::operator(),
                    NewUserRequest {
                        email,
                        name,
                        role,
                        organisation: org,
                        password,
                    },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&user)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    db,
                    user,
                    name,
                    scope,
                    expires_in_days,
                },
        } => {
            let app = open_app(&db)?;
            let token = app
                .create_token(
                    &Principal::operator(),
                    &user,
                    &name,
                    &scope,
                    expires_in_days.map(chrono::Duration::days),
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::TotpCode { secret } => {
            let compact: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
            let code = crate::app::sessions::totp_code(&compact.to_ascii_uppercase(), "sladesk", crate::app::now())
                .map_err(|e| Failure(format!("secret: {e}"), 2))?;
            println!("{code}");
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!("cli::run sends only Org, Queue, User, Token, TotpCode here"),
    }
}

/// `--ticket-sharing` as the app's word, or a usage error naming the flag.
fn sharing(text: &str) -> Result<crate::app::tickets::TicketSharing, Failure> {
    text.parse()
        .map_err(|e: String| Failure(format!("--ticket-sharing: {e}"), 2))
}
