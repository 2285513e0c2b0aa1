//! Mail over real SMTP (a receiver on a loopback port): the invitation arrives with a
//! working sign-up link, the link works once and not after it expires, failed deliveries
//! are retried with back-off and never lost; sign-in, password reset and the join link.

use poem::http::Method;
use rollcall_tests::smtp::SmtpReceiver;
use rollcall_tests::TestApp;
use serde_json::json;

/// The path of a link, for the in-process client.
fn path_of(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, r)| r);
    rest[rest.find('/').unwrap()..].to_owned()
}

async fn post(app: &TestApp, path: &str, body: serde_json::Value) -> rollcall_tests::Reply {
    app.send(Method::POST, path, Some(body), None, &[]).await
}

#[tokio::test]
async fn an_invitation_arrives_and_its_link_signs_the_person_up_once() {
    let app = TestApp::new().await;
    let smtp = SmtpReceiver::start().await;
    let worker = app.mail_worker(&smtp);
    let p = app
        .admin(Method::POST, "/people/invite", Some(json!({"email": "ada@example.com", "givenName": "Ada"})))
        .await
        .expect(201)
        .body;
    let round = worker.run_once().await.unwrap();
    assert_eq!((round.sent, round.failed), (1, 0));
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["<ada@example.com>"]);
    assert!(mails[0].data.contains("Subject: You are invited to default"));
    let link = mails[0].link("/auth/signup/").expect("a sign-up link in the mail");
    let path = path_of(&link);

    // Before signing up, the person may not sign in, and says why.
    let r = post(
        &app,
        "/auth/login",
        json!({"tenant": "default", "userName": "ada@example.com", "password": "whatever12"}),
    )
    .await
    .expect(403);
    assert_eq!(r.body["code"], "sign_in_refused");
    assert!(r.body["message"].as_str().unwrap().contains("not been accepted"));

    app.send(Method::GET, &path, None, None, &[]).await.expect(200);
    let r = post(&app, &path, json!({"password": "short"})).await.expect(400);
    assert_eq!(r.body["code"], "invalid_value");
    let r = post(&app, &path, json!({"password": "correct horse battery"})).await.expect(200);
    assert_eq!(r.body["state"], "active");
    let r = post(&app, &path, json!({"password": "correct horse battery"})).await.expect(404);
    assert_eq!(r.body["code"], "link_invalid", "a link works once");

    let r = post(
        &app,
        "/auth/login",
        json!({"tenant": "default", "userName": "ADA@example.com", "password": "correct horse battery"}),
    )
    .await
    .expect(200);
    assert_eq!(r.body["role"], "member");
    post(
        &app,
        "/auth/login",
        json!({"tenant": "default", "userName": "ada@example.com", "password": "wrong horse battery"}),
    )
    .await
    .expect(403);
    let log = app
        .admin(Method::GET, &format!("/audit?person={}&action=person.accept", p["id"].as_str().unwrap()), None)
        .await
        .expect(200)
        .body;
    assert_eq!(log[0]["actor"], format!("person:{}", p["id"].as_str().unwrap()));
    let sent = app.admin(Method::GET, "/outbox?status=sent", None).await.expect(200).body;
    assert_eq!(sent.as_array().unwrap().len(), 1);
    assert!(sent[0]["sentAt"].is_string());
}

#[tokio::test]
async fn an_expired_or_replaced_link_is_refused() {
    let app = TestApp::new().await;
    let smtp = SmtpReceiver::start().await;
    let worker = app.mail_worker(&smtp);
    let p = app.admin(Method::POST, "/people/invite", Some(json!({"email": "bo@example.com"}))).await.expect(201).body;
    worker.run_once().await.unwrap();
    let first = path_of(&smtp.mails()[0].link("/auth/signup/").unwrap());
    app.clock.advance(time::Duration::hours(25));
    let r = post(&app, &first, json!({"password": "correct horse battery"})).await.expect(410);
    assert_eq!(r.body["code"], "link_expired");
    let r = post(
        &app,
        "/auth/login",
        json!({"tenant": "default", "userName": "bo@example.com", "password": "correct horse battery"}),
    )
    .await
    .expect(403);
    assert!(r.body["message"].as_str().unwrap().contains("expired"));
    // Resend: a new link; the old one stays dead.
    app.admin(Method::POST, &format!("/people/{}/resend", p["id"].as_str().unwrap()), Some(json!({})))
        .await
        .expect(200);
    worker.run_once().await.unwrap();
    let second = path_of(&smtp.mails()[1].link("/auth/signup/").unwrap());
    assert_ne!(first, second);
    post(&app, &first, json!({"password": "correct horse battery"})).await.expect(404);
    post(&app, &second, json!({"password": "correct horse battery"})).await.expect(200);
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_back_off_and_never_lost() {
    let app = TestApp::new().await;
    let smtp = SmtpReceiver::start().await;
    let worker = app.mail_worker(&smtp);
    smtp.refuse(true);
    app.admin(Method::POST, "/people/invite", Some(json!({"email": "cy@example.com"}))).await.expect(201);
    assert_eq!(worker.run_once().await.unwrap().failed, 1);
    let pending = app.admin(Method::GET, "/outbox?status=pending", None).await.expect(200).body;
    assert_eq!(pending[0]["attempts"], 1);
    assert!(pending[0]["lastError"].as_str().unwrap().contains("451"));
    // Not due again before the back-off has passed.
    smtp.refuse(false);
    assert_eq!(worker.run_once().await.unwrap(), Default::default());
    app.clock.advance(time::Duration::seconds(31));
    assert_eq!(worker.run_once().await.unwrap().sent, 1);
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(worker.run_once().await.unwrap(), Default::default(), "sent once");
}

#[tokio::test]
async fn two_workers_never_send_one_message_twice() {
    let app = TestApp::new().await;
    let smtp = SmtpReceiver::start().await;
    for i in 0..10 {
        app.admin(Method::POST, "/people/invite", Some(json!({"email": format!("w{i}@example.com")})))
            .await
            .expect(201);
    }
    let a = app.mail_worker(&smtp);
    let mut b = app.mail_worker(&smtp);
    b.store = app.replica_store().await;
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(ra.unwrap().sent + rb.unwrap().sent, 10);
    assert_eq!(smtp.mails().len(), 10);
}

#[tokio::test]
async fn password_reset_and_the_join_link() {
    let app = TestApp::new().await;
    let smtp = SmtpReceiver::start().await;
    let worker = app.mail_worker(&smtp);
    let join = app.admin(Method::POST, "/join-link", Some(json!({}))).await.expect(200).body;
    let join_path = path_of(join["url"].as_str().unwrap());
    let r = post(&app, &join_path, json!({"email": "joiner@example.com", "givenName": "Jo"})).await.expect(201);
    assert_eq!(r.body["state"], "invited");
    worker.run_once().await.unwrap();
    let signup = path_of(&smtp.mails()[0].link("/auth/signup/").unwrap());
    post(&app, &signup, json!({"password": "first password"})).await.expect(200);
    // Rotating the join link kills the old one.
    app.admin(Method::POST, "/join-link", Some(json!({}))).await.expect(200);
    let r = post(&app, &join_path, json!({"email": "late@example.com"})).await.expect(404);
    assert_eq!(r.body["code"], "link_invalid");

    post(&app, "/auth/password-reset", json!({"tenant": "default", "userName": "joiner@example.com"}))
        .await
        .expect(202);
    post(&app, "/auth/password-reset", json!({"tenant": "default", "userName": "nobody"})).await.expect(202);
    worker.run_once().await.unwrap();
    let reset = path_of(&smtp.mails()[1].link("/auth/reset/").unwrap());
    post(&app, &reset, json!({"password": "second password"})).await.expect(200);
    post(
        &app,
        "/auth/login",
        json!({"tenant": "default", "userName": "joiner@example.com", "password": "second password"}),
    )
    .await
    .expect(200);
    post(
        &app,
        "/auth/login",
        json!({"tenant": "default", "userName": "joiner@example.com", "password": "first password"}),
    )
    .await
    .expect(403);

    // An admin may ask for a reset on the person's behalf; a used link stays dead.
    let people = app.admin(Method::GET, "/people?search=joiner", None).await.expect(200).body;
    let jid = people["items"][0]["id"].as_str().unwrap().to_owned();
    app.admin(Method::POST, &format!("/people/{jid}/password-reset"), Some(json!({}))).await.expect(200);
    worker.run_once().await.unwrap();
    let by_admin = path_of(&smtp.mails()[2].link("/auth/reset/").unwrap());
    post(&app, &reset, json!({"password": "third password"})).await.expect(404);
    post(&app, &by_admin, json!({"password": "third password"})).await.expect(200);

    // Contacts and archived people may not sign in, and are told why.
    let people = app.admin(Method::GET, "/people", None).await.expect(200).body;
    let id = people["items"][0]["id"].as_str().unwrap().to_owned();
    app.admin(Method::POST, &format!("/people/{id}/convert-to-contact"), Some(json!({}))).await.expect(200);
    let r = post(
        &app,
        "/auth/login",
        json!({"tenant": "default", "userName": "joiner@example.com", "password": "third password"}),
    )
    .await
    .expect(403);
    assert_eq!(r.body["message"], "contacts cannot sign in");
    app.admin(Method::DELETE, &format!("/people/{id}"), None).await.expect(200);
    let r = post(
        &app,
        "/auth/login",
        json!({"tenant": "default", "userName": "joiner@example.com", "password": "third password"}),
    )
    .await
    .expect(403);
    assert_eq!(r.body["message"], "this account was deleted");
    app.admin(Method::DELETE, "/join-link", None).await.expect(200);
    let current = app.admin(Method::POST, "/join-link", Some(json!({}))).await.expect(200).body;
    app.admin(Method::DELETE, "/join-link", None).await.expect(200);
    let r =
        post(&app, &path_of(current["url"].as_str().unwrap()), json!({"email": "off@example.com"})).await.expect(404);
    assert_eq!(r.body["code"], "link_invalid", "a disabled join link lets nobody in");
}

#[tokio::test]
async fn links_stored_under_their_bare_hash_before_time_digits_still_work() {
    let app = TestApp::new().await;
    let smtp = SmtpReceiver::start().await;
    let worker = app.mail_worker(&smtp);
    app.admin(Method::POST, "/people/invite", Some(json!({"email": "old@example.com"}))).await.expect(201);
    worker.run_once().await.unwrap();
    let path = path_of(&smtp.mails()[0].link("/auth/signup/").unwrap());
    let token = path.rsplit('/').next().unwrap();
    let [key, bare] = scim_server::domain::secret::link_keys(token);
    assert_eq!(key.len(), 12 + 64, "new links are stored under their time digits and hash");
    // As a link made before 6 December 2026 was stored.
    app.execute(&format!("UPDATE person_links SET token_hash = '{bare}' WHERE token_hash = '{key}'")).await;
    app.send(Method::GET, &path, None, None, &[]).await.expect(200);
    let r = post(&app, &path, json!({"password": "correct horse battery"})).await.expect(200);
    assert_eq!(r.body["state"], "active");
    post(&app, &path, json!({"password": "correct horse battery"})).await.expect(404);

    let join = app.admin(Method::POST, "/join-link", Some(json!({}))).await.expect(200).body;
    let join_path = path_of(join["url"].as_str().unwrap());
    let [key, bare] = scim_server::domain::secret::link_keys(join_path.rsplit('/').next().unwrap());
    app.execute(&format!("UPDATE tenant_settings SET join_link_hash = '{bare}' WHERE join_link_hash = '{key}'")).await;
    post(&app, &join_path, json!({"email": "joiner@example.com"})).await.expect(201);
}
