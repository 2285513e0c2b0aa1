//! Cursor pagination (RFC 9865): walks on GET and `.search`, sorted and not, with writes
//! interleaved; tampered, foreign and expired cursors; the ServiceProviderConfig entry.

use std::collections::{BTreeSet, HashMap};

use poem::http::Method;
use proptest::prelude::*;
use rollcall_tests::TestApp;
use serde_json::{json, Value};

/// Creates users `prefix-0 … prefix-(n-1)`; answers their ids in creation order.
async fn users(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut body = json!({"userName": format!("{prefix}-{i:03}")});
        // Every third user has no title, to walk past absent sort values.
        if i % 3 != 0 {
            body["title"] = json!(format!("t{}", (i * 7) % 5));
        }
        ids.push(app.post("/Users", body).await.expect(201).body["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn ids_of(body: &Value) -> Vec<String> {
    body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

fn next_cursor(body: &Value) -> Option<String> {
    body.get("nextCursor").and_then(Value::as_str).map(str::to_owned)
}

/// Walks `path` (which carries its own `?…` query) with GET and `cursor`, calling `between`
/// after each page; answers every id seen, in order.
async fn walk<F, Fut>(app: &TestApp, path: &str, mut between: F) -> Vec<String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for page in 0.. {
        let r = app.get(&format!("{path}&cursor={cursor}")).await.expect(200);
        assert!(r.body.get("startIndex").is_none(), "cursor pages carry no startIndex");
        seen.extend(ids_of(&r.body));
        match next_cursor(&r.body) {
            Some(c) => cursor = c,
            None => break,
        }
        between(page).await;
        assert!(page < 1000, "the walk does not end");
    }
    seen
}

#[tokio::test]
async fn a_walk_visits_every_user_once_and_the_last_page_has_no_next_cursor() {
    let app = TestApp::new().await;
    let ids = users(&app, "walk", 23).await;
    let seen = walk(&app, "/Users?count=5", |_| async {}).await;
    assert_eq!(seen, ids, "unsorted walks go in id (creation) order");

    let first = app.get("/Users?cursor&count=5").await.expect(200);
    assert_eq!(first.body["totalResults"], 23);
    assert_eq!(first.body["itemsPerPage"], 5);
    // A page that ends exactly at the end has no nextCursor either.
    let all = app.get("/Users?cursor=&count=23").await.expect(200);
    assert_eq!(ids_of(&all.body).len(), 23);
    assert!(next_cursor(&all.body).is_none());
    // Index paging is untouched: the default, with startIndex and no cursor.
    let index = app.get("/Users?startIndex=6&count=5").await.expect(200);
    assert_eq!(index.body["startIndex"], 6);
    assert!(index.body.get("nextCursor").is_none());
    assert_eq!(ids_of(&index.body), ids[5..10]);
}

/// Index pages read their total from counts the database keeps as users and groups come and
/// go, and find their first resource on an index: both must agree with the resources.
#[tokio::test]
async fn index_pages_count_the_live_resources_of_their_tenant_only() {
    let app = TestApp::new().await;
    let ids = users(&app, "count", 12).await;
    let other = app.tenant("other").await;
    let theirs = json!({"userName": "someone-else"});
    app.send(Method::POST, "/Users", Some(theirs), Some(&other), &[]).await.expect(201);

    app.delete(&format!("/Users/{}", ids[3])).await.expect(204);
    let live: Vec<String> = ids.iter().filter(|id| **id != ids[3]).cloned().collect();
    let page = app.get("/Users?startIndex=3&count=4").await.expect(200).body;
    assert_eq!(page["totalResults"], 11, "the archived user leaves the total; the other tenant's never counts");
    assert_eq!(ids_of(&page), live[2..6]);
    let past = app.get("/Users?startIndex=50&count=4").await.expect(200).body;
    assert_eq!(past["totalResults"], 11);
    assert!(ids_of(&past).is_empty(), "a page past the end is empty");
    let last = app.get("/Users?startIndex=10&count=4").await.expect(200).body;
    assert_eq!(ids_of(&last), live[9..]);

    // Posting the archived person again restores them: back in the total and the pages.
    app.post("/Users", json!({"userName": "count-003"})).await.expect(201);
    let all = app.get("/Users?startIndex=1&count=100").await.expect(200).body;
    assert_eq!(all["totalResults"], 12);
    assert_eq!(ids_of(&all), ids);
    let theirs = app.send(Method::GET, "/Users?startIndex=1", None, Some(&other), &[]).await.expect(200).body;
    assert_eq!(theirs["totalResults"], 1);

    let mut groups = Vec::new();
    for name in ["g1", "g2", "g3"] {
        let created = app.post("/Groups", json!({"displayName": name})).await.expect(201).body;
        groups.push(created["id"].as_str().unwrap().to_owned());
    }
    app.delete(&format!("/Groups/{}", groups[1])).await.expect(204);
    let page = app.get("/Groups?startIndex=2&count=5").await.expect(200).body;
    assert_eq!(page["totalResults"], 2);
    assert_eq!(page["Resources"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn sorted_walks_follow_the_sort_with_absent_values_last() {
    let app = TestApp::new().await;
    users(&app, "sorted", 17).await;
    for order in ["ascending", "descending"] {
        let path = format!("/Users?sortBy=title&sortOrder={order}&count=4");
        let seen = walk(&app, &path, |_| async {}).await;
        let index = app.get(&format!("/Users?sortBy=title&sortOrder={order}&count=100")).await.expect(200);
        assert_eq!(seen, ids_of(&index.body), "{order}: the walk is the index order, page by page");
    }
    let seen = walk(
        &app,
        "/Users?sortBy=userName&sortOrder=descending&count=3&filter=userName+sw+%22sorted-01%22",
        |_| async {},
    )
    .await;
    assert_eq!(seen.len(), 7);
}

#[tokio::test]
async fn writes_during_a_walk_neither_skip_nor_repeat_the_users_that_stay() {
    let app = TestApp::new().await;
    let ids = users(&app, "stay", 30).await;
    let doomed: Vec<String> = ids.iter().skip(1).step_by(4).cloned().collect();
    for (path, sorted) in [("/Users?count=4", false), ("/Users?count=4&sortBy=userName", true)] {
        let mut created = 0;
        let doomed = doomed.clone();
        let app = &app;
        let seen = walk(app, path, |page| {
            let doomed = doomed.clone();
            let prefix = if sorted { "sorted-new" } else { "new" };
            created += 1;
            let n = created;
            async move {
                // New users at both ends of the order, a deletion, and changes that move nothing.
                app.post("/Users", json!({"userName": format!("a-{prefix}-{n}")})).await.expect(201);
                app.post("/Users", json!({"userName": format!("z-{prefix}-{n}")})).await.expect(201);
                if let Some(id) = doomed.get(page) {
                    app.delete(&format!("/Users/{id}")).await;
                }
                let victim = &ids_of_all(app).await[0];
                app.patch(
                    &format!("/Users/{victim}"),
                    json!({"Operations": [{"op": "replace", "path": "title", "value": format!("p{page}")}]}),
                )
                .await
                .expect(200);
            }
        })
        .await;
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{path}: a user came twice");
        for id in ids.iter().filter(|id| !doomed.contains(id)) {
            assert!(seen.contains(id), "{path}: user {id}, there throughout, was skipped");
        }
    }
}

async fn ids_of_all(app: &TestApp) -> Vec<String> {
    ids_of(&app.get("/Users?count=1000").await.expect(200).body)
}

#[tokio::test]
async fn search_walks_including_the_root_across_types() {
    let app = TestApp::new().await;
    let user_ids = users(&app, "search", 5).await;
    let mut group_ids = Vec::new();
    for i in 0..4 {
        group_ids.push(app.group(&format!("g{i}"), &[]).await);
    }
    // POST /Users/.search with a cursor in the body.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app.post("/Users/.search", json!({"cursor": cursor, "count": 2})).await.expect(200);
        seen.extend(ids_of(&r.body));
        match next_cursor(&r.body) {
            Some(c) => cursor = c,
            None => break,
        }
    }
    assert_eq!(seen, user_ids);
    // The root walks users then groups; page boundaries fall inside and between the types.
    for count in [1, 3, 5, 9] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let r = app.post("/.search", json!({"cursor": cursor, "count": count})).await.expect(200);
            assert_eq!(r.body["totalResults"], 9);
            seen.extend(ids_of(&r.body));
            match next_cursor(&r.body) {
                Some(c) => cursor = c,
                None => break,
            }
        }
        let expected: Vec<String> = user_ids.iter().chain(&group_ids).cloned().collect();
        assert_eq!(seen, expected, "count {count}");
    }
}

#[tokio::test]
async fn bad_foreign_and_expired_cursors_are_refused() {
    let app = TestApp::new().await;
    let clock = app.clock.clone();
    users(&app, "bad", 4).await;
    let first = app.get("/Users?cursor&count=2").await.expect(200);
    let cursor = next_cursor(&first.body).unwrap();
    let refused = |path: String, scim_type: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&path).await.expect(400);
            assert_eq!(r.body["scimType"], scim_type, "{path}: {}", r.body);
        }
    };
    refused("/Users?cursor=garbage&count=2".into(), "invalidCursor").await;
    let mut tampered = cursor.clone().into_bytes();
    tampered[2] = if tampered[2] == b'x' { b'y' } else { b'x' };
    refused(format!("/Users?count=2&cursor={}", String::from_utf8(tampered).unwrap()), "invalidCursor").await;
    // A cursor belongs to its query: another filter, sort or resource type is refused.
    refused(format!("/Users?count=2&cursor={cursor}&filter=userName+pr"), "invalidCursor").await;
    refused(format!("/Users?count=2&cursor={cursor}&sortBy=userName"), "invalidCursor").await;
    refused(format!("/Groups?count=2&cursor={cursor}"), "invalidCursor").await;
    refused(format!("/Users?count=0&cursor={cursor}"), "invalidCount").await;
    // And to its tenant.
    let other = app.tenant("other").await;
    let r = app
        .send(poem::http::Method::GET, &format!("/Users?count=2&cursor={cursor}"), None, Some(&other), &[])
        .await
        .expect(400);
    assert_eq!(r.body["scimType"], "invalidCursor");
    // A different page size is the same walk.
    app.get(&format!("/Users?count=3&cursor={cursor}")).await.expect(200);
    // Cursors expire after the advertised timeout.
    let spc = app.get("/ServiceProviderConfig").await.expect(200);
    let timeout = spc.body["pagination"]["cursorTimeout"].as_u64().unwrap();
    clock.advance(time::Duration::seconds(i64::try_from(timeout).expect("timeout") + 1));
    refused(format!("/Users?count=2&cursor={cursor}"), "expiredCursor").await;
}

#[tokio::test]
async fn service_provider_config_advertises_both_methods_with_index_the_default() {
    let app = TestApp::new().await;
    let spc = app.get("/ServiceProviderConfig").await.expect(200);
    let p = &spc.body["pagination"];
    assert_eq!(p["cursor"], true);
    assert_eq!(p["index"], true);
    assert_eq!(p["defaultPaginationMethod"], "index");
    assert_eq!(p["maxPageSize"], spc.body["filter"]["maxResults"]);
}

#[tokio::test]
async fn replicas_on_one_database_accept_each_others_cursors() {
    let app = TestApp::new().await;
    users(&app, "replica", 5).await;
    let first = app.get("/Users?cursor&count=2").await.expect(200);
    let cursor = next_cursor(&first.body).unwrap();
    let replica = rollcall_tests::TestServer::start(app.replica_store().await).await;
    let r = reqwest::Client::new()
        .get(format!("{}/Users?count=2&cursor={cursor}", replica.base_url))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(ids_of(&body).len(), 2);
}

/// One step of the property test: what happens between two pages.
#[derive(Debug, Clone)]
enum Step {
    Create(u8),
    Delete(usize),
    Rename(usize, u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any::<u8>().prop_map(Step::Create),
        (0usize..40).prop_map(Step::Delete),
        ((0usize..40), any::<u8>()).prop_map(|(i, n)| Step::Rename(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Whatever is created, deleted or changed between pages, a walk (in id order, or by
    /// displayName, which the steps never change) returns every user that was there from the
    /// first page to the last exactly once.
    #[test]
    fn walks_are_exact_for_the_users_that_stay(steps in proptest::collection::vec(step(), 1..12), page in 1u64..7, sorted: bool) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let app = TestApp::new().await;
            let mut live: HashMap<String, ()> = HashMap::new();
            for i in 0..25 {
                let id = app.post("/Users", json!({"userName": format!("p{i}"), "displayName": format!("d{:02}", 24 - i)}))
                    .await.expect(201).body["id"].as_str().unwrap().to_owned();
                live.insert(id, ());
            }
            let original: Vec<String> = live.keys().cloned().collect();
            let mut deleted = BTreeSet::new();
            let sort = if sorted { "&sortBy=displayName" } else { "" };
            let mut seen = Vec::new();
            let mut cursor = String::new();
            let mut steps = steps.into_iter();
            loop {
                let r = app.get(&format!("/Users?count={page}{sort}&cursor={cursor}")).await.expect(200);
                seen.extend(ids_of(&r.body));
                let Some(c) = next_cursor(&r.body) else { break };
                cursor = c;
                match steps.next() {
                    Some(Step::Create(n)) => {
                        app.post("/Users", json!({"userName": format!("new{n}-{}", seen.len()), "displayName": format!("d{n:02}")})).await.expect(201);
                    }
                    Some(Step::Delete(i)) => {
                        let id = &original[i % original.len()];
                        app.delete(&format!("/Users/{id}")).await;
                        deleted.insert(id.clone());
                    }
                    Some(Step::Rename(i, n)) => {
                        let id = &original[i % original.len()];
                        if !deleted.contains(id) {
                            app.patch(&format!("/Users/{id}"), json!({"Operations": [{"op": "replace", "path": "title", "value": format!("t{n}")}]})).await.expect(200);
                        }
                    }
                    None => {}
                }
            }
            let unique: BTreeSet<&String> = seen.iter().collect();
            assert_eq!(unique.len(), seen.len(), "a user came twice");
            for id in original.iter().filter(|id| !deleted.contains(*id)) {
                assert!(seen.contains(id), "user {id} was skipped");
            }
        });
    }
}
