//! `decide` against the scripted world: one service's decision from intent to outcome. The
//! plans are the planner's own, on the example bundle, for one region degraded 90 s ago
//! (past `fail_after`, inside the capacity-wait bound).

use super::*;
use crate::fake::world::{FakeWorld, block_on};
use crate::fake::{degraded, example};
use crate::journal::{self, Approval};
use crate::observe::AlarmReads;
use crate::pace::Route53Pace;
use crate::ports::Journal as _;
use crate::status::{OutcomeStatus, RecordedStep, StepStatus};
use regionctl_core::controls::Controls;
use regionctl_core::policy::Bundle;
use std::collections::BTreeMap;

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const APPROVAL_TIMEOUT_SECS: u64 = 900;

fn ago(secs: i64) -> Timestamp {
    Timestamp(NOW.millis() - secs * 1000)
}

/// One controller's pass over one service, against `world`.
struct Pass<'a> {
    bundle: &'a Bundle,
    reads: AlarmReads,
    health: HealthView,
    live: LiveState,
    plan: Plan,
    /// Episode starts by service (none unless a test sets one).
    episodes: BTreeMap<String, Timestamp>,
}

impl<'a> Pass<'a> {
    /// The planner's plan for `bundle` with `service` degraded in `region`, from the live
    /// state of the steady world.
    fn new(bundle: &'a Bundle, service: &str, region: &str) -> Self {
        let health = degraded(bundle, service, &[region], ago(90));
        let live = LiveState::steady(bundle);
        let plan = regionctl_core::plan::plan(regionctl_core::plan::Inputs {
            bundle,
            health: &health,
            live: &live,
            controls: &Controls::default(),
            now: NOW,
        });
        Pass {
            bundle,
            reads: AlarmReads::new(bundle),
            health,
            live,
            plan,
            episodes: BTreeMap::new(),
        }
    }

    /// The same pass in the episode of `service` that started at `start`.
    fn in_episode(mut self, service: &str, start: Timestamp) -> Self {
        self.episodes.insert(service.into(), start);
        self
    }

    /// `service`'s decision by the controller in `region`.
    fn decide(&self, world: &FakeWorld, region: &str, service: &str) -> DecisionSummary {
        let ctx = Context {
            bundle: self.bundle,
            region: region.into(),
            controllers: self.bundle.regions.clone(),
            heartbeat_ttl_secs: 30,
            approval_timeout_secs: APPROVAL_TIMEOUT_SECS,
            alarm_reads: &self.reads,
        };
        let input = DecideInput {
            ctx: &ctx,
            plan: &self.plan,
            health: &self.health,
            live: &self.live,
            controls: &Controls::default(),
            leader: true,
            episodes: &self.episodes,
            pace: &Route53Pace::default(),
            now: world.now.get(),
        };
        let s = self.bundle.service_index(service).expect("service");
        let steps: Vec<&Step> = self.plan.steps_of(s).collect();
        assert!(!steps.is_empty(), "{service} has steps");
        let steps = ServiceSteps {
            sp: &self.plan.services[s],
            applicable: steps.clone(),
            steps,
        };
        block_on(decide(world, &input, &steps))
    }
}

fn outcomes(world: &FakeWorld, service: &str, id: &str) -> Vec<OutcomeRecord> {
    world
        .items(&format!("DECISION#{service}"), &format!("{id}#OUTCOME#"))
        .into_iter()
        .map(|it| serde_json::from_value(it.body).expect("outcome parses"))
        .collect()
}

fn approve(world: &FakeWorld, id: &str, at: Timestamp) {
    approve_round(world, id, at, 0);
}

fn approve_round(world: &FakeWorld, id: &str, at: Timestamp, round: u32) {
    let approval = Approval {
        id: id.into(),
        who: "arn:aws:iam::123456789012:user/an-operator".into(),
        at,
        round,
    };
    block_on(world.put(&journal::approval_item(&approval, "eu-west-1"))).expect("approved");
}

#[test]
fn an_intent_is_recorded_once_by_two_controllers() {
    let b = example();
    // content is `enforce`, active-active: the cells leave eu-central-1 at once.
    let pass = Pass::new(&b, "content", "eu-central-1");
    let world = FakeWorld::steady(&b, NOW);
    let first = pass.decide(&world, "eu-west-1", "content");
    world.advance(3);
    let second = pass.decide(&world, "us-east-1", "content");
    assert!(first.new && !second.new);
    assert_eq!(first.id, second.id, "same plan, same id");
    let intents = world.items("DECISION#content", &format!("{}#INTENT", first.id));
    assert_eq!(intents.len(), 1);
    let record: DecisionRecord =
        serde_json::from_value(intents[0].body.clone()).expect("intent parses");
    assert_eq!((record.recorded_by.as_str(), record.at), ("eu-west-1", NOW));
    // Both applied (the effects are absolute and idempotent) and say so, each in its own
    // outcome; both published.
    assert_eq!(first.status, OutcomeStatus::Applied);
    assert_eq!(second.status, OutcomeStatus::Applied);
    let regions: Vec<String> = outcomes(&world, "content", &first.id)
        .into_iter()
        .map(|o| o.region)
        .collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(world.events.borrow().len(), 2);
    // The evacuation happened: eu-central-1 has no weight left.
    assert_eq!(
        world.weight("Z0CONTENTEXAMPLE001", "eu-eu-central-1"),
        Some(0)
    );
    assert!(
        first
            .written
            .iter()
            .any(|w| w.2 == "eu-eu-central-1" && w.3 == 0)
    );
}

#[test]
fn a_propose_decision_waits_and_is_applied_after_an_approval() {
    let b = example();
    // search is `propose`, pilot light: us-east-1 scales from 0 before taking traffic.
    let pass = Pass::new(&b, "search", "eu-west-1");
    let world = FakeWorld::steady(&b, NOW);
    let waiting = pass.decide(&world, "eu-west-1", "search");
    assert!(waiting.new);
    assert_eq!(waiting.status, OutcomeStatus::AwaitingApproval);
    assert_eq!(waiting.calls, 0);
    assert!(!world.calls.borrow().contains(&"UpdateService"));
    // Recorded once, with no steps run.
    let recorded = outcomes(&world, "search", &waiting.id);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, OutcomeStatus::AwaitingApproval);
    assert!(recorded[0].steps.is_empty());
    // Not approved yet: nothing is rewritten on the next pass.
    world.advance(10);
    let again = pass.decide(&world, "eu-west-1", "search");
    assert_eq!(again.status, OutcomeStatus::AwaitingApproval);
    assert!(!again.new);
    assert_eq!(outcomes(&world, "search", &waiting.id)[0].at, NOW);

    approve(&world, &waiting.id, NOW.plus_secs(60));
    world.advance(60);
    let applied = pass.decide(&world, "eu-west-1", "search");
    assert_eq!(applied.id, waiting.id);
    assert_eq!(
        applied.status,
        OutcomeStatus::Waiting,
        "scaled, waiting for us-east-1's tasks"
    );
    assert_eq!(applied.log, ["scale us-east-1 6"]);
    let outcome = &outcomes(&world, "search", &waiting.id)[0];
    assert_eq!(outcome.status, OutcomeStatus::Waiting);
    assert_eq!(
        outcome.steps,
        [
            RecordedStep::Applied(StepStatus::Done),
            RecordedStep::Applied(StepStatus::Waiting),
            RecordedStep::Applied(StepStatus::Skipped),
        ]
    );
}

#[test]
fn an_approval_after_the_deadline_does_not_count() {
    let b = example();
    let pass = Pass::new(&b, "search", "eu-west-1");
    let world = FakeWorld::steady(&b, NOW);
    let proposed = pass.decide(&world, "eu-west-1", "search");
    // Approved one second after the proposal lapsed, seen by a controller that did not
    // record the intent (it reads when it was first recorded).
    let deadline = NOW.plus_secs(APPROVAL_TIMEOUT_SECS);
    approve(&world, &proposed.id, deadline.plus_secs(1));
    world.advance(APPROVAL_TIMEOUT_SECS + 1);
    let lapsed = pass.decide(&world, "us-east-1", "search");
    assert!(!lapsed.new);
    assert_eq!(lapsed.status, OutcomeStatus::ApprovalExpired);
    assert!(!world.calls.borrow().contains(&"UpdateService"));
    let statuses: Vec<(String, OutcomeStatus)> = outcomes(&world, "search", &proposed.id)
        .into_iter()
        .map(|o| (o.region, o.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("eu-west-1".to_string(), OutcomeStatus::AwaitingApproval),
            ("us-east-1".to_string(), OutcomeStatus::ApprovalExpired),
        ]
    );
    // An approval just in time counts, even seen after the deadline.
    let world = FakeWorld::steady(&b, NOW);
    let proposed = pass.decide(&world, "eu-west-1", "search");
    approve(&world, &proposed.id, Timestamp(deadline.millis() - 1000));
    world.advance(APPROVAL_TIMEOUT_SECS + 1);
    assert_eq!(
        pass.decide(&world, "us-east-1", "search").status,
        OutcomeStatus::Waiting
    );
}

#[test]
fn a_wait_step_blocks_the_steps_after_it_and_each_plane_says_how_far_it_got() {
    let b = example();
    // auth is warm standby with switches: scale eu-west-1, wait for its tasks, then the
    // switch and the shift, neither waiting for the other.
    let pass = Pass::new(&b, "auth", "eu-central-1");
    let world = FakeWorld::steady(&b, NOW);
    let d = pass.decide(&world, "eu-west-1", "auth");
    assert_eq!(d.status, OutcomeStatus::Waiting);
    assert_eq!(d.log, ["scale eu-west-1 10"]);
    assert!(d.switched.is_empty() && d.written.is_empty());
    assert_eq!(
        world.weight("Z0AUTHEXAMPLE000001", "auth-eu-central-1"),
        Some(100)
    );
    let outcome = &outcomes(&world, "auth", &d.id)[0];
    let planes: Vec<(String, String)> = outcome
        .planes
        .into_iter()
        .map(|(p, s)| (p.clone(), s.to_string()))
        .collect();
    assert_eq!(
        planes,
        [
            ("data plane (switch)".to_string(), "skipped".to_string()),
            ("ecs control plane".to_string(), "done".to_string()),
            ("no api call".to_string(), "waiting".to_string()),
            ("route53 control plane".to_string(), "skipped".to_string()),
        ]
    );
    // Next pass: the tasks run; the rest goes out, and the planes the pass did not need
    // keep what the earlier pass recorded.
    for state in world.ecs.borrow_mut().values_mut() {
        state.running = state.desired;
    }
    world.advance(10);
    let d = pass.decide(&world, "eu-west-1", "auth");
    assert_eq!(d.status, OutcomeStatus::Applied);
    assert_eq!(
        world.weight("Z0AUTHEXAMPLE000001", "auth-eu-central-1"),
        Some(0)
    );
    let outcome = &outcomes(&world, "auth", &d.id)[0];
    assert!(
        outcome
            .planes
            .into_iter()
            .all(|(_, s)| *s == StepStatus::Done),
        "{:?}",
        outcome.planes
    );
}

#[test]
fn a_failed_step_fails_the_outcome() {
    let b = example();
    let pass = Pass::new(&b, "auth", "eu-central-1");
    let world = FakeWorld::steady(&b, NOW);
    world.fail("UpdateService");
    let d = pass.decide(&world, "eu-west-1", "auth");
    assert_eq!(d.status, OutcomeStatus::Failed);
    let outcome = &outcomes(&world, "auth", &d.id)[0];
    assert_eq!(
        outcome.steps[0].to_string(),
        "failed: ecs UpdateService failed (Retryable): scripted failure"
    );
    assert_eq!(
        outcome
            .planes
            .get("ecs control plane")
            .map(ToString::to_string),
        Some("failed: ecs UpdateService failed (Retryable): scripted failure".to_string())
    );
    assert!(!outcome.discretionary);
}

#[test]
fn steps_left_to_the_leader_are_recorded_as_such() {
    let b = example();
    let pass = Pass::new(&b, "auth", "eu-central-1");
    let s = b.service_index("auth").expect("auth");
    let steps: Vec<&Step> = pass.plan.steps_of(s).collect();
    // Say the last two were discretionary: a non-leader applies the others only.
    let applicable = &steps[..steps.len() - 2];
    let done = vec![RecordedStep::Applied(StepStatus::Done); applicable.len()];
    let recorded = recorded_steps(&steps, applicable, done);
    assert_eq!(recorded.len(), steps.len());
    assert!(
        recorded[..applicable.len()]
            .iter()
            .all(|r| *r == RecordedStep::Applied(StepStatus::Done))
    );
    assert!(
        recorded[applicable.len()..]
            .iter()
            .all(|r| *r == RecordedStep::LeftToLeader)
    );
    assert_eq!(
        recorded.last().map(ToString::to_string).as_deref(),
        Some("left to the discretionary leader")
    );
}

#[test]
fn steps_the_guard_refuses_just_before_apply_are_held_with_an_alert() {
    let b = example();
    let mut pass = Pass::new(&b, "content", "eu-central-1");
    // By the time the steps are about to be applied, eu-west-1 — where the evacuation
    // sends the eu cell — is degraded too.
    pass.health = degraded(&b, "content", &["eu-central-1", "eu-west-1"], ago(90));
    let world = FakeWorld::steady(&b, NOW);
    let d = pass.decide(&world, "us-east-1", "content");
    assert_eq!(d.status, OutcomeStatus::Held);
    assert_eq!(d.calls, 0);
    assert!(!world.calls.borrow().contains(&"ChangeResourceRecordSets"));
    assert_eq!(
        world.weight("Z0CONTENTEXAMPLE001", "eu-eu-central-1"),
        Some(60)
    );
    // Its weights (rule 2) and, with eu-central-1's switch turned off, the traffic Route 53
    // would answer (rule 5).
    let why = "cell eu: traffic to degraded region eu-west-1 while a healthy one exists; \
               cell eu: Route 53 would answer unhealthy region eu-west-1 while a healthy one exists";
    assert_eq!(
        d.alerts,
        [format!(
            "content [guard-violation]: steps held by the safety guard before apply: {why}"
        )]
    );
    let outcome = &outcomes(&world, "content", &d.id)[0];
    assert_eq!(outcome.status, OutcomeStatus::Held);
    assert!(
        outcome
            .steps
            .iter()
            .all(|s| *s == RecordedStep::Held(why.into())),
        "{:?}",
        outcome.steps
    );
    assert_eq!(
        serde_json::to_value(&outcome.steps[0]).expect("serializes"),
        serde_json::json!(format!("held: {why}"))
    );
}

/// The calls that change traffic or capacity.
fn effects(world: &FakeWorld) -> Vec<&'static str> {
    world
        .calls
        .borrow()
        .iter()
        .copied()
        .filter(|op| {
            matches!(
                *op,
                "UpdateService" | "ChangeResourceRecordSets" | "ModifyListener" | "PutMetricData"
            )
        })
        .collect()
}

#[test]
fn an_intent_the_journal_refuses_applies_nothing_and_alerts() {
    let b = example();
    let pass = Pass::new(&b, "content", "eu-central-1");
    let world = FakeWorld::steady(&b, NOW);
    world.fail_writes_of("#INTENT");
    let before = world.weight("Z0CONTENTEXAMPLE001", "eu-eu-central-1");
    assert_ne!(before, Some(0));
    let d = pass.decide(&world, "eu-west-1", "content");
    assert_eq!(d.status, OutcomeStatus::Unrecorded);
    let why = d.unrecorded.as_deref().expect("why");
    assert!(why.contains("not in the journal when read back"), "{why}");
    assert!(
        d.alerts[0].starts_with("content [intent-unrecorded]: decision "),
        "{:?}",
        d.alerts
    );
    // Nothing applied, nothing recorded, nothing published.
    assert_eq!(effects(&world), Vec::<&str>::new());
    assert_eq!(
        world.weight("Z0CONTENTEXAMPLE001", "eu-eu-central-1"),
        before
    );
    assert!(world.items("DECISION#content", "").is_empty());
    assert!(world.events.borrow().is_empty());
}

#[test]
fn an_intent_whose_write_fails_is_applied_when_it_reads_back() {
    let b = example();
    let pass = Pass::new(&b, "content", "eu-central-1");
    let world = FakeWorld::steady(&b, NOW);
    // A peer recorded it; this controller's conditional write then fails outright (as a
    // timed-out write that landed would): the read-back finds the intent.
    let first = pass.decide(&world, "us-east-1", "content");
    world.fail_writes_of("#INTENT");
    world.advance(3);
    let d = pass.decide(&world, "eu-west-1", "content");
    assert_eq!((d.id.as_str(), d.new), (first.id.as_str(), false));
    assert_eq!(d.status, OutcomeStatus::Applied, "{:?}", d.unrecorded);
    assert_eq!(outcomes(&world, "content", &d.id).len(), 2);
}

#[test]
fn an_outcome_the_journal_refuses_is_handed_back_to_be_written_later() {
    let b = example();
    let pass = Pass::new(&b, "content", "eu-central-1");
    let world = FakeWorld::steady(&b, NOW);
    world.fail_writes_of("#OUTCOME#");
    let d = pass.decide(&world, "eu-west-1", "content");
    assert_eq!(d.status, OutcomeStatus::Applied);
    assert!(outcomes(&world, "content", &d.id).is_empty());
    assert_eq!(d.unwritten.len(), 1);
    assert_eq!(d.unwritten[0].kind, crate::pending::PendingKind::Outcome);
    assert!(d.unwritten[0].item.sk.ends_with("#OUTCOME#eu-west-1"));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.starts_with("outcome not recorded (retried next pass)")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn a_lapsed_proposal_is_proposed_afresh_and_can_be_approved_in_its_new_round() {
    let b = example();
    let pass = Pass::new(&b, "search", "eu-west-1");
    let world = FakeWorld::steady(&b, NOW);
    let proposed = pass.decide(&world, "eu-west-1", "search");
    assert_eq!(proposed.status, OutcomeStatus::AwaitingApproval);
    assert_eq!(world.events.borrow().len(), 1);
    // Round 0 lapses: recorded and published once.
    world.advance(APPROVAL_TIMEOUT_SECS + 1);
    let lapsed = pass.decide(&world, "eu-west-1", "search");
    assert_eq!(lapsed.status, OutcomeStatus::ApprovalExpired);
    assert_eq!(outcomes(&world, "search", &proposed.id)[0].round, 0);
    assert_eq!(world.events.borrow().len(), 2);
    // The next pass proposes it afresh, in round 1, and asks again.
    world.advance(10);
    let again = pass.decide(&world, "eu-west-1", "search");
    assert_eq!(again.status, OutcomeStatus::AwaitingApproval);
    let outcome = &outcomes(&world, "search", &proposed.id)[0];
    assert_eq!(
        (outcome.status, outcome.round),
        (OutcomeStatus::AwaitingApproval, 1)
    );
    assert_eq!(world.events.borrow().len(), 3);
    // Quiet until something changes.
    world.advance(10);
    pass.decide(&world, "eu-west-1", "search");
    assert_eq!(world.events.borrow().len(), 3);
    // A late approval of round 0 still does not count; one of round 1, given in it, does.
    approve_round(&world, &proposed.id, world.now.get(), 0);
    world.advance(1);
    assert_eq!(
        pass.decide(&world, "eu-west-1", "search").status,
        OutcomeStatus::AwaitingApproval
    );
    approve_round(&world, &proposed.id, world.now.get(), 1);
    world.advance(10);
    let applied = pass.decide(&world, "eu-west-1", "search");
    assert_eq!(
        applied.status,
        OutcomeStatus::Waiting,
        "approved in round 1"
    );
    assert_eq!(applied.log, ["scale us-east-1 6"]);
}

#[test]
fn an_approval_in_one_incident_does_not_apply_the_same_decision_in_the_next() {
    let b = example();
    let world = FakeWorld::steady(&b, NOW);
    let first = Pass::new(&b, "search", "eu-west-1").in_episode("search", ago(120));
    let proposed = first.decide(&world, "eu-west-1", "search");
    approve(&world, &proposed.id, NOW.plus_secs(30));
    world.advance(60);
    assert_eq!(
        first.decide(&world, "eu-west-1", "search").status,
        OutcomeStatus::Waiting
    );
    // A month later the same evacuation, from the same (steady) state: another incident.
    let scaled = world
        .calls
        .borrow()
        .iter()
        .filter(|op| **op == "UpdateService")
        .count();
    let month = 30 * 86_400;
    world.advance(month);
    let later = Pass::new(&b, "search", "eu-west-1").in_episode("search", NOW.plus_secs(month));
    let next = later.decide(&world, "eu-west-1", "search");
    assert_ne!(next.id, proposed.id, "the episode start is part of the id");
    assert!(next.new);
    assert_eq!(next.status, OutcomeStatus::AwaitingApproval);
    assert_eq!(
        world
            .calls
            .borrow()
            .iter()
            .filter(|op| **op == "UpdateService")
            .count(),
        scaled,
        "nothing applied on the old approval"
    );
}
