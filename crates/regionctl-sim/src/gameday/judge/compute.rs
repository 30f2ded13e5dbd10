//! `ecs-desired` and `lambda-share`: a region's ECS desired count, or its ALB listener's
//! Lambda share, over time: reached within a deadline and held, or held throughout.

use super::{Game, Outcome, label_of, service_and_region};
use crate::duration::clock;
use crate::gameday::compute::{Quantity, Steps};
use crate::scenario::Expectation;
use regionctl_core::policy::Service;

/// The bounds of one expectation, with its tolerance.
struct Bounds {
    at_most: Option<f64>,
    at_least: Option<f64>,
    tolerance: f64,
}

impl Bounds {
    fn inside(&self, v: f64) -> bool {
        self.at_most.is_none_or(|m| v <= m + self.tolerance)
            && self.at_least.is_none_or(|l| v >= l - self.tolerance)
    }

    fn text(&self, q: Quantity) -> String {
        let unit = |v: f64| show(q, v);
        match (self.at_least, self.at_most) {
            (Some(l), Some(m)) if l == m => unit(l),
            (Some(l), Some(m)) => format!("between {} and {}", unit(l), unit(m)),
            (Some(l), None) => format!("at least {}", unit(l)),
            (None, Some(m)) => format!("at most {}", unit(m)),
            (None, None) => "?".to_string(),
        }
    }
}

/// A value as people read it: a task count, or a percent.
fn show(q: Quantity, v: f64) -> String {
    match q {
        Quantity::EcsDesired => format!("{v}"),
        Quantity::LambdaShare => format!("{v:.0}%"),
    }
}

fn what(q: Quantity, svc: &Service, region: &str) -> String {
    match q {
        Quantity::EcsDesired => format!("{}'s ECS desired count in {region}", svc.name),
        Quantity::LambdaShare => format!("the Lambda share of {}'s ALB in {region}", svc.name),
    }
}

/// Judges an `ecs-desired` (`q` = [`Quantity::EcsDesired`]) or `lambda-share` expectation.
pub(super) fn compute(game: &Game<'_>, x: &Expectation, out: Outcome, q: Quantity) -> Outcome {
    let (s, svc, r) = match service_and_region(game, x, out.clone()) {
        Ok(found) => found,
        Err(missing) => return missing,
    };
    let mut out = out;
    let region = &svc.regions[r].name;
    let bounds = Bounds {
        at_most: x.at_most,
        at_least: x.at_least,
        tolerance: match q {
            Quantity::EcsDesired => 0.0,
            Quantity::LambdaShare => x.tolerance_percent.unwrap_or(0.0),
        },
    };
    let (after, after_label) = label_of(game, x.after.as_deref(), 0);
    let (until, until_label) = match &x.until {
        Some(u) => label_of(game, Some(u), game.end),
        None => (game.end, "the end".to_string()),
    };
    let subject = what(q, svc, region);
    out.expected = match x.within {
        Some(w) => format!(
            "{subject} is {} within {w} after {after_label}, held until {until_label}",
            bounds.text(q)
        ),
        None => format!(
            "{subject} stays {} from {after_label} until {until_label}",
            bounds.text(q)
        ),
    };
    let configured = match q {
        Quantity::EcsDesired => svc.ecs.is_some(),
        Quantity::LambdaShare => svc.alb.is_some(),
    };
    let steps = game.evidence.compute.get((q, s, r));
    let steps = match (configured, steps) {
        (false, _) => {
            out.observed = format!("{}'s policy names no {}", svc.name, noun(q));
            return out;
        }
        (true, None) => {
            out.observed = format!("not observed: this target never read {subject}");
            return out;
        }
        (true, Some(steps)) => steps,
    };
    match x.within {
        Some(within) => {
            let deadline = after + within.secs();
            reached_and_held(steps, &bounds, q, (after, deadline, until), out)
        }
        None => held(steps, &bounds, q, (after, until), out),
    }
}

fn noun(q: Quantity) -> &'static str {
    match q {
        Quantity::EcsDesired => "ECS service",
        Quantity::LambdaShare => "ALB listener",
    }
}

/// In the bounds by `deadline`, then never out of them until `until`.
fn reached_and_held(
    steps: &Steps,
    bounds: &Bounds,
    q: Quantity,
    (after, deadline, until): (u64, u64, u64),
    mut out: Outcome,
) -> Outcome {
    let reached = steps
        .window(after, deadline)
        .find(|(_, v)| bounds.inside(*v));
    let Some((t0, v0)) = reached else {
        let then = steps
            .value_at(deadline)
            .map_or("nothing seen".into(), |v| show(q, v));
        let later = steps
            .window(deadline, until)
            .find(|(_, v)| bounds.inside(*v))
            .map_or(String::new(), |(t, v)| {
                format!("; it was {} at {}", show(q, v), clock(t))
            });
        out.at = Some(deadline);
        out.observed = format!("{then} at the {} deadline{later}", clock(deadline));
        return out;
    };
    match steps.window(t0, until).find(|(_, v)| !bounds.inside(*v)) {
        Some((t1, v1)) => {
            out.at = Some(t1);
            out.observed = format!(
                "{} at {}, then {} at {}",
                show(q, v0),
                clock(t0),
                show(q, v1),
                clock(t1)
            );
        }
        None => out.met_at(t0, format!("{} at {}, and held", show(q, v0), clock(t0))),
    }
    out
}

/// Never out of the bounds from `after` to `until`.
fn held(
    steps: &Steps,
    bounds: &Bounds,
    q: Quantity,
    (after, until): (u64, u64),
    mut out: Outcome,
) -> Outcome {
    match steps.window(after, until).find(|(_, v)| !bounds.inside(*v)) {
        Some((t, v)) => {
            out.at = Some(t);
            out.observed = format!("{} at {}", show(q, v), clock(t));
        }
        None => {
            let seen: Vec<String> = steps
                .window(after, until)
                .map(|(t, v)| format!("{} from {}", show(q, v), clock(t)))
                .collect();
            if seen.is_empty() {
                out.observed = format!("nothing seen from {} to {}", clock(after), clock(until));
            } else {
                out.met_at(until, seen.join(", "));
            }
        }
    }
    out
}
