use super::*;

fn rule(strategy: &str, targets: &[(&str, u64)], group: Option<&str>) -> Spec {
    Spec {
        strategy: strategy.into(),
        targets: targets.iter().map(|(id, count)| TargetSpec { id: (*id).into(), count: *count }).collect(),
        group: group.map(str::to_owned),
    }
}

#[test]
fn rules_are_checked_for_shape_before_any_person_is_looked_up() {
    assert!(rule("ratio", &[("a", 5)], None).check().is_ok());
    assert!(rule("round_robin", &[], Some("g")).check().is_ok());
    assert!(Spec::unassigned().check().is_ok());
    assert!(rule("ratio", &[], Some("g")).check().is_err(), "a group only shares by round robin");
    assert!(rule("round_robin", &[("a", 0)], Some("g")).check().is_err(), "targets or a group");
    assert!(rule("hardcoded", &[], None).check().is_err(), "no one to give the work to");
    assert!(rule("evenly", &[("a", 1)], None).check().is_err());
    let many: Vec<(String, u64)> = (0..=MAX_TARGETS).map(|i| (format!("p{i}"), 1)).collect();
    let many: Vec<(&str, u64)> = many.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    assert!(matches!(rule("ratio", &many, None).check(), Err(Error::TooMany(_))));
}

#[test]
fn a_plan_names_the_kind_whose_rule_is_wrong() {
    let mut plan = PlanSpec::all(&rule("ratio", &[("a", 1)], None));
    plan.leads = rule("hardcoded", &[], None);
    let err = plan.check().unwrap_err().to_string();
    assert!(err.contains("leads"), "{err}");
}

#[test]
fn policies_and_job_states_round_trip() {
    let p = Policy { mode: PolicyMode::Manager, fallback: Some("f".into()) };
    let back: Policy = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
    assert_eq!(back, p);
    assert_eq!(PolicyMode::parse("unassigned").unwrap(), PolicyMode::Unassigned);
    assert!(PolicyMode::parse("drop").is_err());
    for s in ["pending", "done", "failed", "superseded", "undone"] {
        assert_eq!(JobState::parse(s).unwrap().as_str(), s);
    }
}
