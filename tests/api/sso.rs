//! Single sign-on against a real OpenID provider (the npm `oidc-provider`,
//! two of them: organisation A's, which is also the staff's, and B's),
//! through the pages as a browser goes: the sign-in form, the provider's
//! redirects, the callback. Covered: a contact of A made at first sign-in
//! through A's provider; a replayed state; B's answer (code and issuer)
//! refused for a sign-in begun at A, and B's provider refused for A's
//! people; a changed e-mail claim following the same account; a disabled
//! account; staff with a role from a claim; SSO required for an
//! organisation's contacts; signing out at the provider too.

use reqwest::redirect::Policy;
use serde_json::{Value, json};
use sladesk::app::Role;
use sladesk::app::sso::{SsoFile, SsoSettings};

use crate::helpers::{Db, TestApp, spawn_app, web_users};
use crate::peers::Idp;

crate::both_backends!(single_sign_on_through_a_real_provider);

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location in a {}", r.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// The sign-in form's anti-forgery value.
async fn pre(b: &reqwest::Client, t: &TestApp) -> String {
    let page = b
        .get(format!("{}/sign-in", t.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("name=\"pre\" value=\"").expect("the sign-in form") + 18;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

/// Presses a single sign-on button and follows the provider's redirects to
/// the desk's callback, not calling it: its address.
async fn to_callback(b: &reqwest::Client, t: &TestApp, form: &[(&str, &str)]) -> String {
    let pre = pre(b, t).await;
    let mut fields: Vec<(&str, &str)> = vec![("pre", &pre)];
    fields.extend_from_slice(form);
    let r = b
        .post(format!("{}/sign-in/sso", t.address))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let mut next = location(&r);
    for _ in 0..10 {
        if next.starts_with(&format!("{}/sign-in/sso/callback", t.address)) {
            return next;
        }
        let r = b.get(&next).send().await.unwrap();
        assert!(
            r.status().is_redirection(),
            "{next}: {} {}",
            r.status(),
            r.text().await.unwrap()
        );
        let to = location(&r);
        next = if to.starts_with('/') {
            let u = reqwest::Url::parse(&next).unwrap();
            format!(
                "{}://{}{to}",
                u.scheme(),
                u.host_str().unwrap().to_owned() + &u.port().map(|p| format!(":{p}")).unwrap_or_default()
            )
        } else {
            to
        };
    }
    panic!("the provider never sent the browser back");
}

/// Calls the callback: its status and page.
async fn land(b: &reqwest::Client, url: &str) -> (u16, String) {
    let r = b.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A whole sign-in, which must succeed; the home page as the person sees it.
async fn sign_in(b: &reqwest::Client, t: &TestApp, form: &[(&str, &str)]) -> String {
    let cb = to_callback(b, t, form).await;
    let (status, page) = land(b, &cb).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Signed in"), "{page}");
    let mut home = b.get(format!("{}/", t.address)).send().await.unwrap();
    if home.status().as_u16() == 303 {
        let to = location(&home);
        assert!(!to.contains("sign-in"), "signed in, so not sent to sign in: {to}");
        home = b.get(format!("{}{to}", t.address)).send().await.unwrap();
    }
    assert_eq!(home.status().as_u16(), 200, "{:?}", home.headers());
    home.text().await.unwrap()
}

async fn user(t: &TestApp, email: &str) -> Option<Value> {
    let users = t.get("/api/v1/users", &t.admin).await;
    users
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .cloned()
}

async fn audit_actions(t: &TestApp, target: &str) -> Vec<String> {
    let app = t.app.clone();
    let target = target.to_string();
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        audit_log::table
            .filter(audit_log::target.eq(target))
            .select(audit_log::action)
            .load(&mut app.conn().unwrap())
            .unwrap()
    })
    .await
    .unwrap()
}

async fn single_sign_on_through_a_real_provider(db: Db) {
    let t = spawn_app(db).await;
    t.app.set_public_url(&t.address);
    let a = Idp::start(
        &t.address,
        &[
            ("desk-acme", "acme-secret-0123456789abcdef0123"),
            ("desk-staff", "staff-secret-0123456789abcdef012"),
        ],
    );
    let b_idp = Idp::start(&t.address, &[("desk-globex", "globex-secret-0123456789abcdef01")]);
    let file: SsoFile = toml::from_str(&format!(
        r#"
        [staff]
        issuer = "{a}"
        client_id = "desk-staff"
        client_secret = "staff-secret-0123456789abcdef012"
        domains = ["desk.example"]
        role_claim = "roles"
        scopes = ["roles"]
        label = "Sign in with Desk ID"

        [organisations.acme]
        issuer = "{a}"
        client_id = "desk-acme"
        client_secret = "acme-secret-0123456789abcdef0123"
        domains = ["acme.example"]

        [organisations.globex]
        issuer = "{b}"
        client_id = "desk-globex"
        client_secret = "globex-secret-0123456789abcdef01"
        domains = ["globex.example"]
        "#,
        a = a.issuer,
        b = b_idp.issuer
    ))
    .unwrap();
    t.app.set_sso(SsoSettings::from_file(&file).unwrap());

    // The sign-in page offers both ways.
    let page = browser().get(format!("{}/sign-in", t.address)).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Continue to your organisation") && page.contains("Sign in with Desk ID"),
        "{page}"
    );
    // Tests running at once add their own providers to the same list.
    let form_action = csp
        .split(';')
        .find(|d| d.trim().starts_with("form-action"))
        .unwrap_or_default();
    assert!(form_action.split_whitespace().any(|o| o == a.issuer), "{csp}");

    // 1. A new contact of acme signs in through acme's provider: the
    //    account is made, as a customer of acme, and audited.
    a.account("a-001", "ada@acme.example", "Ada Lovelace", &[]).await;
    let ada = browser();
    let home = sign_in(&ada, &t, &[("email", "ada@acme.example")]).await;
    assert!(home.contains("Ada Lovelace"), "the home page names her: {home}");
    let u = user(&t, "ada@acme.example").await.expect("made at first sign-in");
    assert_eq!(u["role"], "customer");
    assert_eq!(u["organisation"], "acme");
    let actions = audit_actions(&t, "user:ada@acme.example").await;
    assert!(
        actions.contains(&"user.create".to_string()) && actions.contains(&"sign_in".to_string()),
        "{actions:?}"
    );
    // Her session reaches her organisation's pages and nothing of staff.
    let r = ada.get(format!("{}/tickets", t.address)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // 2. A replayed state (the same callback again) is refused.
    let again = browser();
    let cb = to_callback(&again, &t, &[("email", "ada@acme.example")]).await;
    assert_eq!(land(&again, &cb).await.0, 200);
    let (status, page) = land(&again, &cb).await;
    assert_eq!(status, 403, "a replayed state: {page}");
    assert!(page.contains("not one we began"), "{page}");

    // 3. B's answer for a sign-in begun at A: B's code with B's issuer, and
    //    B's code alone, are both refused; and B's provider vouching for an
    //    address at A's domain is refused too.
    b_idp.account("b-001", "gus@globex.example", "Gus", &[]).await;
    let mallory = browser();
    let begun_at_a = to_callback(&mallory, &t, &[("email", "ada@acme.example")]).await;
    let state_a = reqwest::Url::parse(&begun_at_a)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let from_b = to_callback(&browser(), &t, &[("email", "gus@globex.example")]).await;
    let b_url = reqwest::Url::parse(&from_b).unwrap();
    let code_b = b_url.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let iss_b = b_url
        .query_pairs()
        .find(|(k, _)| k == "iss")
        .map(|(_, v)| v.to_string());
    assert_eq!(
        iss_b.as_deref(),
        Some(b_idp.issuer.as_str()),
        "the provider names itself (RFC 9207)"
    );
    let mut forged = reqwest::Url::parse(&format!("{}/sign-in/sso/callback", t.address)).unwrap();
    forged
        .query_pairs_mut()
        .append_pair("state", &state_a)
        .append_pair("code", &code_b)
        .append_pair("iss", iss_b.as_deref().unwrap());
    let (status, page) = land(&mallory, forged.as_str()).await;
    assert_eq!(status, 403, "B's issuer for A's sign-in: {page}");
    assert!(page.contains("not from the provider"), "{page}");
    let state_a2 = {
        let cb = to_callback(&mallory, &t, &[("email", "ada@acme.example")]).await;
        reqwest::Url::parse(&cb)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .to_string()
    };
    let mut forged = reqwest::Url::parse(&format!("{}/sign-in/sso/callback", t.address)).unwrap();
    forged
        .query_pairs_mut()
        .append_pair("state", &state_a2)
        .append_pair("code", &code_b);
    let (status, page) = land(&mallory, forged.as_str()).await;
    assert_eq!(status, 403, "B's code at A: {page}");
    assert!(
        user(&t, "gus@globex.example").await.is_none(),
        "nobody made from B's code"
    );
    b_idp.account("b-002", "eve@acme.example", "Eve", &[]).await;
    let cb = to_callback(
        &browser(),
        &t,
        &[("provider", "org:globex"), ("email", "eve@acme.example")],
    )
    .await;
    let (status, page) = land(&browser(), &cb).await;
    assert_eq!(status, 403, "B's provider for an address at A's domain: {page}");
    assert!(page.contains("not at a domain"), "{page}");
    assert!(user(&t, "eve@acme.example").await.is_none());

    // 4. A changed e-mail claim: the provider's subject is the same, so the
    //    same account follows it to its new address, audited.
    let before = user(&t, "ada@acme.example").await.unwrap();
    a.account("a-001", "ada.king@acme.example", "Ada King", &[]).await;
    let home = sign_in(&browser(), &t, &[("email", "ada.king@acme.example")]).await;
    assert!(home.contains("Ada King"), "{home}");
    let after = user(&t, "ada.king@acme.example")
        .await
        .expect("the account moved to the new address");
    assert_eq!(after["id"], before["id"], "the same account");
    assert!(user(&t, "ada@acme.example").await.is_none(), "no second account");
    assert!(
        audit_actions(&t, "user:ada.king@acme.example")
            .await
            .contains(&"user.email_changed".to_string())
    );

    // 5. A disabled account is refused, and its open session ends.
    let r = t
        .patch(
            "/api/v1/users/ada.king@acme.example",
            &t.admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let cb = to_callback(&browser(), &t, &[("email", "ada.king@acme.example")]).await;
    let (status, page) = land(&browser(), &cb).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("disabled"), "{page}");
    let r = ada.get(format!("{}/tickets", t.address)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "the disabled account's session is over");

    // 6. Staff through the staff's provider, the role from its claim; one
    //    without a sladesk role is refused.
    a.account("s-001", "sam@desk.example", "Sam Manager", &["Manager"])
        .await;
    let sam = browser();
    // The staff button sends no address; this test provider signs in
    // whoever the login hint names, so the test adds one to the form.
    let sam_home = sign_in(&sam, &t, &[("provider", "staff"), ("email", "sam@desk.example")]).await;
    let u = user(&t, "sam@desk.example").await.expect("staff made at first sign-in");
    assert_eq!(u["role"], "manager");
    a.account("s-002", "nora@desk.example", "Nora", &["viewer"]).await;
    let cb = to_callback(&browser(), &t, &[("email", "nora@desk.example")]).await;
    let (status, page) = land(&browser(), &cb).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("no sladesk role"), "{page}");

    // 7. An organisation that requires single sign-on: its contacts'
    //    passwords no longer sign them in, even when right.
    web_users(
        &t,
        "a long enough password",
        &[("pat@acme.example", Role::Customer, Some("acme"))],
        &[],
    )
    .await;
    let password = |b: reqwest::Client| {
        let t_addr = t.address.clone();
        async move {
            let pre = {
                let page = b
                    .get(format!("{t_addr}/sign-in"))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                let at = page.find("name=\"pre\" value=\"").unwrap() + 18;
                page[at..at + page[at..].find('"').unwrap()].to_string()
            };
            let r = b
                .post(format!("{t_addr}/sign-in"))
                .form(&[
                    ("pre", pre.as_str()),
                    ("email", "pat@acme.example"),
                    ("password", "a long enough password"),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(password(browser()).await.0, 303, "a password works before");
    let mut file = file.clone();
    file.organisations.get_mut("acme").unwrap().require_sso = true;
    t.app.set_sso(SsoSettings::from_file(&file).unwrap());
    let (status, page) = password(browser()).await;
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("single sign-on"), "{page}");

    // 8. Signing out ends the desk's session and goes on to the provider's
    //    end-session endpoint with the ID token as a hint.
    let home = sam_home;
    let at = home
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("the sign-out form: {home}"))
        + 19;
    let csrf = home[at..at + home[at..].find('"').unwrap()].to_string();
    let r = sam
        .post(format!("{}/sign-out", t.address))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let to = location(&r);
    assert!(to.starts_with(&format!("{}/session/end", a.issuer)), "{to}");
    assert!(to.contains("id_token_hint="), "{to}");
    let r = sam.get(format!("{}/tickets", t.address)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "signed out here");
}
