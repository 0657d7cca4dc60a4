//! `sladesk service`: the services the desk runs and which organisations
//! each is for, through the same use cases as the API.

use super::super::*;
use crate::app::services::{NewServiceRequest, SubscriptionsRequest};

pub(in crate::cli) fn run(command: ServiceCommand) -> Result<ExitCode, Failure> {
    let op = Principal::operator();
    match command {
        ServiceCommand::Add {
            db,
            slug,
            name,
            group,
            description,
        } => {
            let service = open_app(&db)?
                .create_service(
                    &op,
                    NewServiceRequest {
                        slug,
                        name,
                        group,
                        description,
                    },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&service)?);
        }
        ServiceCommand::List { db } => {
            for s in open_app(&db)?.list_services(&op).map_err(cli_error)? {
                println!("{}", serde_json::to_string(&s)?);
            }
        }
        ServiceCommand::Subscribe { db, org, services } => {
            let now = open_app(&db)?
                .set_organisation_services(&op, &org, SubscriptionsRequest { services }, crate::app::now())
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&now)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
