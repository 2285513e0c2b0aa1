//! Property: for random plans over random books of work, processed on a real database,
//! every record is either with exactly one eligible target or still with the leaver and
//! counted unassigned; the counts add up; nothing is lost or duplicated.

use std::collections::{BTreeMap, BTreeSet};

use poem::http::Method;
use proptest::prelude::*;
use rollcall_tests::TestApp;
use serde_json::{json, Value};

use super::reassignment::{fill, owned, seller, sso};

#[derive(Debug, Clone)]
enum Rule {
    Unassigned,
    Group,
    Listed { strategy: &'static str, numbers: Vec<u64> },
}

fn rule() -> impl Strategy<Value = Rule> {
    prop_oneof![
        Just(Rule::Unassigned),
        Just(Rule::Group),
        (prop::sample::select(vec!["ratio", "hardcoded", "round_robin"]), prop::collection::vec(0u64..15, 1..4))
            .prop_map(|(strategy, mut numbers)| {
                // A ratio needs someone with a number: it could never assign everything else.
                if strategy == "ratio" && numbers.iter().all(|n| *n == 0) {
                    numbers[0] = 1;
                }
                Rule::Listed { strategy, numbers }
            }),
    ]
}

fn body(rule: &Rule, sellers: &[String], group: &str) -> Value {
    match rule {
        Rule::Unassigned => json!({"strategy": "unassigned"}),
        Rule::Group => json!({"strategy": "round_robin", "group": group}),
        Rule::Listed { strategy, numbers } => {
            let targets: Vec<Value> =
                sellers.iter().zip(numbers).map(|(id, n)| json!({"id": id, "count": n})).collect();
            json!({"strategy": strategy, "targets": targets})
        }
    }
}

async fn all_moves(app: &TestApp, job: &str) -> Vec<Value> {
    let mut moves = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.admin(Method::GET, &format!("/reassignments/{job}/moves?count=1000{cursor}"), None).await;
        let page = page.expect(200).body;
        moves.extend(page["moves"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return moves,
        }
    }
}

async fn check(books: [usize; 4], rules: [Rule; 3]) {
    let app = TestApp::new().await;
    sso(&app).await;
    let leaver = seller(&app, "leaver").await;
    let mut sellers = Vec::new();
    for i in 0..3 {
        sellers.push(seller(&app, &format!("seller{i}")).await);
    }
    // In the group too: a plain member (tasks only) and someone who is no longer active.
    let plain = app.user("plain").await;
    let gone = seller(&app, "gone").await;
    app.admin(Method::POST, &format!("/people/{gone}/convert-to-contact"), Some(json!({}))).await.expect(200);
    let members: Vec<&str> = sellers.iter().map(String::as_str).chain([plain.as_str(), gone.as_str()]).collect();
    let group = app.group("Team", &members).await;
    let [contacts, leads, pending, completed] = books;
    fill(&app, &leaver, "contact", None, contacts).await;
    fill(&app, &leaver, "lead", None, leads).await;
    fill(&app, &leaver, "task", Some("pending"), pending).await;
    fill(&app, &leaver, "task", Some("completed"), completed).await;

    let plan = json!({"contacts": body(&rules[0], &sellers, &group), "leads": body(&rules[1], &sellers, &group),
                      "tasks": body(&rules[2], &sellers, &group)});
    let job = app.admin(Method::POST, &format!("/people/{leaver}/reassignment"), Some(plan)).await.expect(200).body;
    let moves = all_moves(&app, job["id"].as_str().unwrap()).await;

    let mut seen = BTreeSet::new();
    for m in &moves {
        assert!(seen.insert(m["record"].as_str().unwrap().to_owned()), "a record moved twice: {m}");
    }
    for (kind, plural, total, rule) in [
        ("contact", "contacts", contacts, &rules[0]),
        ("lead", "leads", leads, &rules[1]),
        ("task", "tasks", pending, &rules[2]),
    ] {
        let eligible: BTreeSet<&str> = match rule {
            Rule::Unassigned => BTreeSet::new(),
            Rule::Group if kind == "task" => sellers.iter().map(String::as_str).chain([plain.as_str()]).collect(),
            Rule::Group => sellers.iter().map(String::as_str).collect(),
            Rule::Listed { .. } => sellers.iter().map(String::as_str).collect(),
        };
        let mut to: BTreeMap<&str, u64> = BTreeMap::new();
        for m in moves.iter().filter(|m| m["type"] == kind && m["action"] == "move") {
            let target = m["to"].as_str().unwrap();
            assert!(eligible.contains(target), "{kind} went to {target}, not an eligible target");
            *to.entry(target).or_default() += 1;
        }
        let moved: u64 = to.values().sum();
        let result = job["result"]["types"].as_array().unwrap().iter().find(|t| t["type"] == plural).unwrap();
        assert_eq!(result["total"], total as u64);
        assert_eq!(result["assigned"].as_u64().unwrap(), moved, "{result}");
        assert_eq!(moved + result["unassigned"].as_u64().unwrap(), total as u64, "counts add up: {result}");
        for t in result["targets"].as_array().unwrap() {
            let id = t["id"].as_str().unwrap();
            assert_eq!(t["count"].as_u64().unwrap(), to.get(id).copied().unwrap_or(0), "{result}");
            assert_eq!(owned(&app, id, kind, false).await as u64, t["count"].as_u64().unwrap());
        }
        let kept = owned(&app, &leaver, kind, false).await as u64;
        assert_eq!(kept, total as u64 - moved, "the unassigned stay with the leaver");
    }
    assert_eq!(owned(&app, &leaver, "task", true).await, completed, "completed tasks archived with the leaver");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn every_record_is_accounted_for_exactly_once(
        books in [0usize..40, 0usize..40, 0usize..15, 0usize..4],
        rules in [rule(), rule(), rule()],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(check(books, rules));
    }
}
