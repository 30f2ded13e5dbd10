use super::*;
use std::sync::{Arc, Mutex, PoisonError};

/// Log lines captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        lines.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
            .collect()
    }
}

/// The decision id in a line's spans, if it is inside a decision.
fn decision_id(line: &serde_json::Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "decision")?["decision_id"]
        .as_str()
}

/// Goal: one decision can be followed in the JSON logs: its steps' lines carry its id
/// (through the `decision` span), and its own line states its status. Method: a shipped
/// game-day (a region lost, traffic evacuated) on the simulated world, logged with the
/// daemon's JSON formatter into memory.
#[test]
fn a_decision_is_followed_through_its_steps_in_json_lines() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(json_layer(captured.clone()).with_filter(EnvFilter::new(DEFAULT_FILTER)));
    let run = tracing::subscriber::with_default(subscriber, || {
        let scenario = std::path::Path::new("chaos/partition-and-region-loss.yaml");
        let (loaded, bundle, controllers) =
            regionctl_sim::engine::prepare(scenario).expect("shipped scenario loads");
        let options = regionctl_sim::engine::Options { seed: Some(1) };
        regionctl_sim::engine::run(loaded, bundle, controllers, &options, &mut |_| {})
    });
    let lines = captured.lines();
    let step = lines
        .iter()
        .find(|l| l["message"] == "step" && l["status"] == "done")
        .expect("a step done is logged");
    let id = decision_id(step).expect("a step line carries its decision's id");
    let spans: Vec<&str> = step["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(spans, ["decide", "decision", "step"], "{step}");
    assert!(step["spans"][2]["kind"].is_string(), "{step}");
    let decision = lines
        .iter()
        .find(|l| l["message"] == "decision" && decision_id(l) == Some(id))
        .expect("the decision's own line");
    assert!(decision["status"].is_string(), "{decision}");
    assert!(
        format!("{:?}", run.evidence).contains(id),
        "the logged id is a decision the run recorded"
    );
}
