//! The capacity ports: `Compute` (ECS desired/running/pending counts) and `Balancer` (an
//! ALB listener's Fargate/Lambda split).

use super::{AwsWorld, Host};
use crate::types::TargetGroupWeight;
use regionctl_controller::ports::{Balancer, Compute, PortResult};
use regionctl_core::live::{AlbState, EcsState};

/// The largest weight ELBv2 accepts for a target group.
const MAX_TARGET_GROUP_WEIGHT: u32 = 999;

impl<H: Host> Compute for AwsWorld<H> {
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> PortResult<Vec<Option<EcsState>>> {
        let clients = self.region(region, "DescribeServices")?;
        let counts = clients
            .ecs
            .describe_services(cluster, services)
            .await
            .map_err(|e| e.into_port("ecs", "DescribeServices"))?;
        Ok(counts
            .into_iter()
            .map(|c| {
                c.map(|c| EcsState {
                    desired: u32::try_from(c.desired).unwrap_or(0),
                    running: u32::try_from(c.running).unwrap_or(0),
                    pending: u32::try_from(c.pending).unwrap_or(0),
                })
            })
            .collect())
    }

    async fn set_desired(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> PortResult<()> {
        let clients = self.region(region, "UpdateService")?;
        let desired = i32::try_from(desired).unwrap_or(i32::MAX);
        clients
            .ecs
            .set_desired_count(cluster, service, desired)
            .await
            .map_err(|e| e.into_port("ecs", "UpdateService"))?;
        self.host.after_scale();
        Ok(())
    }
}

impl<H> Balancer for AwsWorld<H> {
    async fn read_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
    ) -> PortResult<Option<AlbState>> {
        let clients = self.region(region, "DescribeListeners")?;
        let weights = clients
            .elbv2
            .listener_weights(listener)
            .await
            .map_err(|e| e.into_port("elbv2", "DescribeListeners"))?;
        let find = |arn: &str| {
            weights
                .iter()
                .find(|w| w.target_group_arn == arn)
                .map(|w| u32::from(w.weight))
        };
        Ok(match (find(fargate), find(lambda)) {
            (None, None) => None,
            (f, l) => Some(AlbState {
                fargate: f.unwrap_or(0),
                lambda: l.unwrap_or(0),
            }),
        })
    }

    async fn set_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
        weights: AlbState,
    ) -> PortResult<()> {
        let clients = self.region(region, "ModifyListener")?;
        let tg = |arn: &str, w: u32| TargetGroupWeight {
            target_group_arn: arn.to_string(),
            weight: u16::try_from(w.min(MAX_TARGET_GROUP_WEIGHT)).unwrap_or(999),
        };
        clients
            .elbv2
            .set_listener_weights(
                listener,
                &[tg(fargate, weights.fargate), tg(lambda, weights.lambda)],
            )
            .await
            .map_err(|e| e.into_port("elbv2", "ModifyListener"))
    }
}
