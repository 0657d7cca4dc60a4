//! Administration over HTTP: organisations, users, queues, tokens and
//! recomputing clocks.

use super::*;

#[utoipa::path(get, path = "/api/v1/organisations", tag = "administration", security(("bearer" = [])), responses((status = 200, description = "Customers see their own only", body = Vec<OrganisationView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem)))]
pub(super) async fn list_organisations(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_organisations(&who)).await?))
}

#[utoipa::path(post, path = "/api/v1/organisations", tag = "administration", request_body = NewOrganisationRequest, security(("bearer" = [])), responses((status = 201, body = OrganisationView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_organisation(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewOrganisationRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created()
        .json(run(move || app.create_organisation(&who, b.into_inner(), crate::app::now())).await?))
}

#[utoipa::path(patch, path = "/api/v1/organisations/{slug}", tag = "administration", request_body = OrganisationPatch, params(("slug" = String, Path, description = "The organisation")), security(("bearer" = [])), responses((status = 200, body = OrganisationView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn update_organisation(
    app: State,
    Caller(who): Caller,
    slug: web::Path<String>,
    b: web::Json<OrganisationPatch>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let slug = slug.into_inner();
    Ok(HttpResponse::Ok()
        .json(run(move || app.update_organisation(&who, &slug, b.into_inner(), crate::app::now())).await?))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "administration", security(("bearer" = [])), responses((status = 200, body = Vec<UserView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem)))]
pub(super) async fn list_users(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_users(&who)).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "administration", request_body = NewUserRequest, security(("bearer" = [])), responses((status = 201, body = UserView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_user(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewUserRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created().json(run(move || app.create_user(&who, b.into_inner(), crate::app::now())).await?))
}

#[utoipa::path(get, path = "/api/v1/queues", tag = "administration", security(("bearer" = [])), responses((status = 200, body = Vec<QueueView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem)))]
pub(super) async fn list_queues(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_queues(&who)).await?))
}

#[utoipa::path(post, path = "/api/v1/queues", tag = "administration", request_body = NewQueueRequest, security(("bearer" = [])), responses((status = 201, body = QueueView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_queue(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewQueueRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created().json(run(move || app.create_queue(&who, b.into_inner(), crate::app::now())).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    user: String,
    name: String,
    #[serde(default)]
    scope: Option<String>,
    expires_in_days: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "administration", request_body = NewTokenRequest, security(("bearer" = [])), responses((status = 201, description = "The token, shown this once", body = Object), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_token(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewTokenRequest>,
) -> Result<HttpResponse, Problem> {
    let b = b.into_inner();
    let days = match b.expires_in_days {
        None => None,
        Some(d) if (1..=3650).contains(&d) => Some(chrono::Duration::days(d)),
        Some(_) => return Err(invalid("expires_in_days", "expected 1 to 3650").into()),
    };
    let app = app.get_ref().clone();
    let user = b.user.clone();
    let token = run(move || {
        app.create_token(
            &who,
            &b.user,
            &b.name,
            b.scope.as_deref().unwrap_or("full"),
            days,
            crate::app::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(serde_json::json!({"user": user, "token": token})))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "Every token, never the secret", body = Vec<TokenView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub(super) async fn list_tokens(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_tokens(&who)).await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "administration", params(("id" = i64, Path, description = "The token's id")),
    security(("bearer" = [])), responses((status = 204, description = "Revoked"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn revoke_token(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    run(move || app.revoke_token(&who, id, crate::app::now())).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(patch, path = "/api/v1/users/{email}", tag = "administration", params(("email" = String, Path, description = "The user's email")),
    request_body = UserPatch, security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn update_user(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    b: web::Json<UserPatch>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let email = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.update_user(&who, &email, b.into_inner(), crate::app::now())).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecomputeRequest {
    organisation: Option<String>,
    ticket: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// Admin: recompute open tickets on the policy and holidays now in force.
#[utoipa::path(post, path = "/api/v1/sla/recompute", tag = "administration", request_body = RecomputeRequest, security(("bearer" = [])), responses((status = 200, description = "Per ticket: old and new policy, due instants and breach state", body = Vec<RecomputeLine>), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn recompute(
    app: State,
    Caller(who): Caller,
    b: web::Json<RecomputeRequest>,
) -> Result<HttpResponse, Problem> {
    let b = b.into_inner();
    let app = app.get_ref().clone();
    let lines = run(move || {
        app.recompute(
            &who,
            b.organisation.as_deref(),
            b.ticket.as_deref(),
            b.dry_run,
            crate::app::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(lines))
}
