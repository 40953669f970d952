mod support;
use support::Run;

#[test]
fn appliance_repair_harness_walks_to_sign_off() {
    let mut run = Run::new("appliance_repair");
    run.signed();
    run.at("11:00");
    run.ok(serde_json::json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true}));
    assert_eq!(run.state().outcome, Some(doorstep_core::Outcome::Fixed));
    doorstep_core::signoff::verify(run.state()).unwrap();
}
