//! SLA evidence in a real browser, with axe on every new page: a customer
//! disputes a closed month's breach from the report page, a manager finds
//! it on the dashboard and upholds it, and the customer's report shows a
//! new version with the credit changed; the ticket page's "Why is it due
//! then?" panel explains the breach in the customer's words.

use fantoccini::Locator;

use crate::browser::{Browser, Factor, TOTP, people};
use crate::helpers::{Db, a_closed_october, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_goes_from_a_customers_click_to_a_new_report_version_with_the_credit_changed() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    a_closed_october(&t, "carl@acme.example").await;

    // The customer: the breach explained on the ticket, then disputed.
    let b = Browser::start(&t.address).await;
    b.sign_in("carl@acme.example", None).await;
    b.goto("/tickets/SD-000001").await;
    b.click("#why-due summary").await;
    let why = b.text("#why-due").await;
    assert!(why.contains("breached at"), "{why}");
    assert!(why.contains("outside business hours"), "{why}");
    b.check_page("ticket-why-due").await;
    b.goto("/reports?month=2026-10").await;
    assert!(b.text(".standing").await.contains("Closed: version 1"));
    let before = b.text("#report").await;
    assert!(before.contains("£25.00"), "1% of £2,500: {before}");
    b.client
        .find(Locator::Css("#d-subject"))
        .await
        .unwrap()
        .select_by_value("breach:SD-000001:resolve")
        .await
        .unwrap();
    b.fill(
        "#d-reason",
        "Payroll was down for two working days; 1% does not cover it.",
    )
    .await;
    b.check_page("report-dispute-form").await;
    b.submit("#d-raise").await;
    assert_eq!(b.path().await, "/disputes/1", "{}", b.body().await);
    assert!(b.text("h1").await.contains("open"));
    b.check_page("dispute-open").await;
    b.sign_out().await;

    // The manager: on the dashboard, then upheld with £25 more.
    b.sign_in("mona@desk.example", Some(Factor::Totp(TOTP))).await;
    assert!(b.text("#disputes-title").await.contains("Open disputes"));
    b.submit("a[href='/disputes/1']").await;
    b.check_page("dispute-decide").await;
    b.click("input[name=outcome][value=uphold]").await;
    b.fill("#d-adjustment", "25.00").await;
    b.fill("#d-reply", "Agreed: a second day's credit is added.").await;
    b.submit("#d-decide").await;
    let outcome = b.text("#dispute-outcome").await;
    assert!(
        outcome.contains("upheld") && outcome.contains("£25.00") && outcome.contains("version 2"),
        "{outcome}"
    );
    b.sign_out().await;

    // The customer's report: version 2, the credit changed by the dispute.
    b.sign_in("carl@acme.example", None).await;
    b.goto("/reports?month=2026-10").await;
    let standing = b.text(".standing").await;
    assert!(standing.contains("Closed: version 2"), "{standing}");
    assert!(
        !standing.contains("[object"),
        "each version says when it was kept: {standing}"
    );
    let after = b.text("#report").await;
    assert!(after.contains("dispute 1 upheld"), "{after}");
    assert!(after.contains("£50.00"), "£25 + £25: {after}");
    assert!(after.contains("Disputes"), "{after}");
    b.check_page("report-after-dispute").await;
    b.close().await;

    // And the decision went out by mail to whoever raised it.
    assert!(
        t.outbox().iter().any(|(kind, to, ctx)| kind == "dispute_decided"
            && to == "carl@acme.example"
            && ctx["outcome"] == "upheld")
    );
}
