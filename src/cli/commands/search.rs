//! `sladesk search`: find tickets from the command line, and rebuild the
//! index. Finding goes through the same use case as the search box, as the
//! operator (staff: every ticket, notes included).

use super::super::*;
use crate::app::tickets::SearchRequest;

pub(in crate::cli) fn run(command: SearchCommand) -> Result<ExitCode, Failure> {
    let op = Principal::operator();
    match command {
        SearchCommand::Find { db, query, limit } => {
            let found = open_app(&db)?
                .search_tickets(
                    &op,
                    &SearchRequest {
                        q: query,
                        limit: Some(limit),
                        offset: None,
                        sort: None,
                    },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            if let Some(reference) = &found.jump {
                println!("{reference}");
            }
            for hit in &found.items {
                let passage: String = hit
                    .snippet
                    .iter()
                    .map(|p| if p.hit { format!("[{}]", p.text) } else { p.text.clone() })
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                println!(
                    "{}\t{}\t{}\t{}",
                    hit.ticket.reference, hit.ticket.status, hit.ticket.subject, passage
                );
            }
            if found.window_full {
                eprintln!(
                    "sladesk: the best of the newest {} matches; narrow with filters, before: or after:",
                    crate::app::tickets::SEARCH_WINDOW
                );
            }
        }
        SearchCommand::Reindex { db } => {
            let n = open_app(&db)?
                .rebuild_search_index(&op, crate::app::now())
                .map_err(cli_error)?;
            println!("{n} tickets indexed");
        }
    }
    Ok(ExitCode::SUCCESS)
}
