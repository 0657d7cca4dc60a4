//! SCIM 2.0 over HTTP (`/scim/v2`): discovery (`ServiceProviderConfig`,
//! `ResourceTypes`, `Schemas`), and `Users` and `Groups` with list
//! (`filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`),
//! create, read, replace, patch and delete, behind a token of scope `scim`
//! (the staff) or `scim:<slug>` (an organisation's contacts). Bodies are
//! `application/scim+json`; errors are SCIM `Error` documents.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::State;
use crate::app::scim::{Kind, ScimCaller, ScimError};

const CONTENT_TYPE: &str = "application/scim+json";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The most a SCIM body may weigh, and the most a page may hold.
const BODY_LIMIT: usize = 256 * 1024;
const MAX_PAGE: usize = 200;

fn schemas() -> Vec<Value> {
    serde_json::from_str(include_str!("scim_schemas.json")).expect("the SCIM schemas are JSON")
}

fn answer(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .body(body.to_string())
}

fn error(e: &ScimError) -> HttpResponse {
    let mut body = json!({"schemas": [ERROR], "status": e.status.to_string(), "detail": e.detail});
    if let Some(t) = e.scim_type {
        body["scimType"] = json!(t);
    }
    answer(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &body,
    )
}

fn fail(status: u16, detail: impl Into<String>) -> ScimError {
    ScimError {
        status,
        scim_type: None,
        detail: detail.into(),
    }
}

/// Who is asking, from the bearer token.
async fn caller(req: &HttpRequest, app: &State) -> Result<ScimCaller, ScimError> {
    let token = super::auth::bearer_token(req).map_err(|_| fail(401, "send Authorization: Bearer <a scim token>"))?;
    let remote = super::client::Client::of(req).addr_text();
    let a = app.get_ref().clone();
    web::block(move || a.authenticate_scim(&token, remote, crate::app::now()))
        .await
        .map_err(|e| fail(503, e.to_string()))?
        .map_err(ScimError::from)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ScimError> + Send + 'static,
) -> Result<T, ScimError> {
    web::block(f).await.map_err(|e| fail(503, e.to_string()))?
}

fn parse(body: &web::Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| ScimError {
        status: 400,
        scim_type: Some("invalidSyntax"),
        detail: format!("the body is not JSON: {e}"),
    })
}

fn kind_of(path: &str) -> Result<Kind, ScimError> {
    match path {
        "Users" => Ok(Kind::User),
        "Groups" => Ok(Kind::Group),
        other => Err(fail(404, format!("no resource type {other}"))),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scim/v2")
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .route("/ServiceProviderConfig", web::get().to(service_provider_config))
            .route("/ServiceProviderConfig", web::route().to(read_only))
            .route("/ResourceTypes", web::get().to(resource_types))
            .route("/ResourceTypes", web::route().to(read_only))
            .route("/ResourceTypes/{id}", web::get().to(resource_type))
            .route("/ResourceTypes/{id}", web::route().to(read_only))
            .route("/Schemas", web::get().to(all_schemas))
            .route("/Schemas", web::route().to(read_only))
            .route("/Schemas/{id}", web::get().to(one_schema))
            .route("/Schemas/{id}", web::route().to(read_only))
            .route("/.search", web::post().to(search_all))
            .route("/{kind}/.search", web::post().to(search))
            .route("/{kind}", web::get().to(list))
            .route("/{kind}", web::post().to(create))
            .route("/{kind}/{id}", web::get().to(get))
            .route("/{kind}/{id}", web::put().to(replace))
            .route("/{kind}/{id}", web::patch().to(patch))
            .route("/{kind}/{id}", web::delete().to(delete))
            .default_service(web::to(|| async { error(&fail(404, "no such SCIM endpoint")) })),
    );
}

/// Discovery is read-only: other methods are not allowed (405).
async fn read_only() -> HttpResponse {
    let mut r = error(&fail(405, "this endpoint is read-only: GET"));
    r.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static("GET"),
    );
    r
}

fn list_response(resources: Vec<Value>, total: usize, start: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

fn resource_type_doc(kind: Kind, base: &str) -> Value {
    let (name, endpoint, schema) = match kind {
        Kind::User => ("User", "/Users", crate::app::scim::USER_SCHEMA),
        Kind::Group => ("Group", "/Groups", crate::app::scim::GROUP_SCHEMA),
    };
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": name, "name": name, "endpoint": endpoint, "schema": schema,
        "description": format!("{name}s the desk provisions"),
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/{name}")},
    })
}

async fn service_provider_config(req: HttpRequest, app: State) -> HttpResponse {
    if let Err(e) = caller(&req, &app).await {
        return error(&e);
    }
    let base = app.page_url("");
    answer(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": format!("{base}/api/v1/openapi.json"),
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_PAGE},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer token", "description": "A sladesk API token of scope scim or scim:<organisation>", "primary": true}],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/scim/v2/ServiceProviderConfig")},
        }),
    )
}

async fn resource_types(req: HttpRequest, app: State) -> HttpResponse {
    if let Err(e) = caller(&req, &app).await {
        return error(&e);
    }
    let base = app.page_url("");
    let all = vec![
        resource_type_doc(Kind::User, &base),
        resource_type_doc(Kind::Group, &base),
    ];
    answer(StatusCode::OK, &list_response(all, 2, 1))
}

async fn resource_type(req: HttpRequest, app: State, id: web::Path<String>) -> HttpResponse {
    if let Err(e) = caller(&req, &app).await {
        return error(&e);
    }
    let base = app.page_url("");
    match id.as_str() {
        "User" => answer(StatusCode::OK, &resource_type_doc(Kind::User, &base)),
        "Group" => answer(StatusCode::OK, &resource_type_doc(Kind::Group, &base)),
        other => error(&fail(404, format!("no resource type {other}"))),
    }
}

async fn all_schemas(req: HttpRequest, app: State) -> HttpResponse {
    if let Err(e) = caller(&req, &app).await {
        return error(&e);
    }
    let all = schemas();
    let n = all.len();
    answer(StatusCode::OK, &list_response(all, n, 1))
}

async fn one_schema(req: HttpRequest, app: State, id: web::Path<String>) -> HttpResponse {
    if let Err(e) = caller(&req, &app).await {
        return error(&e);
    }
    match schemas().into_iter().find(|s| s["id"] == id.as_str()) {
        Some(s) => answer(StatusCode::OK, &s),
        None => error(&fail(404, format!("no schema {id}"))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Projection {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

async fn list(req: HttpRequest, app: State, kind: web::Path<String>, q: web::Query<ListQuery>) -> HttpResponse {
    let outcome = async {
        let kind = kind_of(&kind)?;
        let who = caller(&req, &app).await?;
        let q = q.into_inner();
        let start = q.start_index.unwrap_or(1).max(1) as usize;
        let count = q.count.unwrap_or(100).clamp(0, MAX_PAGE as i64) as usize;
        let a = app.get_ref().clone();
        let filter = q.filter.clone();
        let (total, page) = blocking(move || a.scim_list(&who, kind, filter.as_deref(), start, count)).await?;
        let page = page
            .into_iter()
            .map(|r| crate::app::scim::patch::project(r, q.attributes.as_deref(), q.excluded_attributes.as_deref()))
            .collect();
        Ok::<_, ScimError>(list_response(page, total, start))
    }
    .await;
    match outcome {
        Ok(v) => answer(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

/// `POST /.search`: the same over Users and Groups together.
async fn search_all(req: HttpRequest, app: State, body: web::Bytes) -> HttpResponse {
    searching(req, app, None, body).await
}

/// `POST /{kind}/.search`: a list query in the body (RFC 7644 §3.4.3).
async fn search(req: HttpRequest, app: State, kind: web::Path<String>, body: web::Bytes) -> HttpResponse {
    searching(req, app, Some(kind.into_inner()), body).await
}

async fn searching(req: HttpRequest, app: State, kind: Option<String>, body: web::Bytes) -> HttpResponse {
    let outcome = async {
        let kinds = match kind {
            Some(k) => vec![kind_of(&k)?],
            None => vec![Kind::User, Kind::Group],
        };
        let who = caller(&req, &app).await?;
        let q = parse(&body)?;
        let text = |k: &str| q.get(k).and_then(Value::as_str).map(String::from);
        let list = |k: &str| match q.get(k) {
            Some(Value::Array(a)) => Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let start = q.get("startIndex").and_then(Value::as_i64).unwrap_or(1).max(1) as usize;
        let count = q
            .get("count")
            .and_then(Value::as_i64)
            .unwrap_or(100)
            .clamp(0, MAX_PAGE as i64) as usize;
        let (attributes, excluded) = (list("attributes"), list("excludedAttributes"));
        let filter = text("filter");
        let a = app.get_ref().clone();
        let all = blocking(move || {
            let mut all = Vec::new();
            for k in kinds {
                all.extend(a.scim_list(&who, k, filter.as_deref(), 1, usize::MAX)?.1);
            }
            Ok(all)
        })
        .await?;
        let total = all.len();
        let page = all
            .into_iter()
            .skip(start - 1)
            .take(count)
            .map(|r| crate::app::scim::patch::project(r, attributes.as_deref(), excluded.as_deref()))
            .collect();
        Ok::<_, ScimError>(list_response(page, total, start))
    }
    .await;
    match outcome {
        Ok(v) => answer(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

async fn get(
    req: HttpRequest,
    app: State,
    path: web::Path<(String, String)>,
    q: web::Query<Projection>,
) -> HttpResponse {
    let (kind, id) = path.into_inner();
    let outcome = async {
        let kind = kind_of(&kind)?;
        let who = caller(&req, &app).await?;
        let a = app.get_ref().clone();
        let v = blocking(move || a.scim_get(&who, kind, &id)).await?;
        Ok::<_, ScimError>(crate::app::scim::patch::project(
            v,
            q.attributes.as_deref(),
            q.excluded_attributes.as_deref(),
        ))
    }
    .await;
    match outcome {
        Ok(v) => answer(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

async fn create(req: HttpRequest, app: State, kind: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let outcome = async {
        let kind = kind_of(&kind)?;
        let who = caller(&req, &app).await?;
        let doc = parse(&body)?;
        let a = app.get_ref().clone();
        blocking(move || a.scim_create(&who, kind, doc, crate::app::now())).await
    }
    .await;
    match outcome {
        Ok(v) => {
            let location = v["meta"]["location"].as_str().unwrap_or_default().to_string();
            let mut r = answer(StatusCode::CREATED, &v);
            if let Ok(h) = actix_web::http::header::HeaderValue::from_str(&location) {
                r.headers_mut().insert(actix_web::http::header::LOCATION, h);
            }
            r
        }
        Err(e) => error(&e),
    }
}

async fn replace(req: HttpRequest, app: State, path: web::Path<(String, String)>, body: web::Bytes) -> HttpResponse {
    let (kind, id) = path.into_inner();
    let outcome = async {
        let kind = kind_of(&kind)?;
        let who = caller(&req, &app).await?;
        let doc = parse(&body)?;
        let a = app.get_ref().clone();
        blocking(move || a.scim_replace(&who, kind, &id, doc, crate::app::now())).await
    }
    .await;
    match outcome {
        Ok(v) => answer(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

async fn patch(req: HttpRequest, app: State, path: web::Path<(String, String)>, body: web::Bytes) -> HttpResponse {
    let (kind, id) = path.into_inner();
    let outcome = async {
        let kind = kind_of(&kind)?;
        let who = caller(&req, &app).await?;
        let ops = parse(&body)?;
        let a = app.get_ref().clone();
        blocking(move || a.scim_patch(&who, kind, &id, ops, crate::app::now())).await
    }
    .await;
    match outcome {
        Ok(v) => answer(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

async fn delete(req: HttpRequest, app: State, path: web::Path<(String, String)>) -> HttpResponse {
    let (kind, id) = path.into_inner();
    let outcome = async {
        let kind = kind_of(&kind)?;
        let who = caller(&req, &app).await?;
        let a = app.get_ref().clone();
        blocking(move || a.scim_delete(&who, kind, &id, crate::app::now())).await
    }
    .await;
    match outcome {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => error(&e),
    }
}
