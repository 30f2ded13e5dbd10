//! What the world looks like now: record weights, ECS capacity, ALB splits.
//!
//! Adapters (AWS or the simulated world) fill this in; the planner compares it with the
//! desired state. Indexed like the bundle, so comparing 150,000 weights is a loop over arrays.

use crate::grid::Grid;
use crate::policy::raw::Role;
use crate::policy::{Bundle, Service};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// ECS service capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsState {
    /// Desired count.
    pub desired: u32,
    /// Running tasks.
    pub running: u32,
    /// Pending tasks.
    pub pending: u32,
}

/// ALB forward weights (0–999 each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbState {
    /// Fargate target group weight.
    pub fargate: u32,
    /// Lambda target group weight.
    pub lambda: u32,
}

impl AlbState {
    /// All traffic on Fargate.
    pub const FARGATE_ONLY: AlbState = AlbState {
        fargate: 100,
        lambda: 0,
    };

    /// Lambda's share in percent (0 when both weights are 0).
    pub fn lambda_percent(self) -> u32 {
        (self.lambda * 100)
            .checked_div(self.fargate + self.lambda)
            .unwrap_or(0)
    }
}

/// Live state of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveService {
    /// Route 53 weight per (cell, local region); `None` if the record is missing.
    pub weights: Grid<Option<u8>>,
    /// ECS per local region, if configured and readable.
    pub ecs: Vec<Option<EcsState>>,
    /// ALB per local region, if configured and readable.
    pub alb: Vec<Option<AlbState>>,
    /// When automation last made a discretionary move (failback, rebalancing) for this
    /// service; cooldown counts from here. From the journal.
    pub last_discretionary_change: Option<Timestamp>,
    /// Last-known desired counts per local region, from the journal: used to pre-scale
    /// receivers when a region's own ECS API is unreachable.
    pub last_known_desired: Vec<Option<u32>>,
    /// Data-plane switch states per (slot, local region) as last published (`true` = may
    /// serve; `None` = never published or unreadable, which Route 53 treats as healthy).
    /// No slots for services without switches. Slots in [`crate::switch`].
    pub switches: Grid<Option<bool>>,
}

/// Live state of every service, aligned with `bundle.services`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveState {
    /// Per service.
    pub services: Vec<LiveService>,
}

impl LiveState {
    /// The policy's steady state: baseline weights, primaries at full capacity (all
    /// running), standbys at standby capacity, ALBs all on Fargate. `plan` assumes this
    /// when it has no live state to read.
    pub fn steady(bundle: &Bundle) -> Self {
        LiveState {
            services: bundle.services.iter().map(steady_service).collect(),
        }
    }
}

/// The steady state of one service.
pub fn steady_service(service: &Service) -> LiveService {
    let nr = service.regions.len();
    let weights = Grid::from_fn(service.cells.len(), nr, |c, r| {
        Some(service.cells[c].baseline_weights[r])
    });
    let ecs = (0..nr)
        .map(|r| {
            service.ecs.as_ref().map(|e| {
                let n = steady_desired(service, r);
                let _ = e;
                EcsState {
                    desired: n,
                    running: n,
                    pending: 0,
                }
            })
        })
        .collect();
    let alb = (0..nr)
        .map(|_| service.alb.as_ref().map(|_| AlbState::FARGATE_ONLY))
        .collect();
    LiveService {
        weights,
        ecs,
        alb,
        last_discretionary_change: None,
        last_known_desired: vec![None; nr],
        switches: Grid::new(crate::switch::slots(service), nr, Some(true)),
    }
}

/// Desired count of region `r` in steady state.
pub fn steady_desired(service: &Service, r: usize) -> u32 {
    match &service.ecs {
        Some(e) => {
            if service.regions[r].role == Role::Primary && service.baseline_share(r) > 0.0 {
                e.full_count
            } else {
                e.standby_count
            }
        }
        None => 0,
    }
}
