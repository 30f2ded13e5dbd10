//! ELBv2: weighted forward actions between target groups (Fargate ↔ Lambda compute
//! shifting), plus provisioning helpers.
//!
//! Weights are written absolutely (the whole forward action is replaced), so repeating a
//! write is harmless.

use crate::errors::{AwsError, Result};
use crate::types::TargetGroupWeight;
use aws_config::SdkConfig;
use aws_sdk_elasticloadbalancingv2::types as elb;

const SERVICE: &str = "elasticloadbalancingv2";
/// ELBv2's maximum target group weight.
pub const MAX_WEIGHT: u16 = 999;

/// A created load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerInfo {
    /// ARN.
    pub arn: String,
    /// DNS name (alias target for Route 53).
    pub dns_name: String,
    /// Route 53 hosted zone id of the load balancer (alias target zone).
    pub canonical_zone_id: String,
    /// VPC id.
    pub vpc_id: String,
}

/// An ELBv2 client for one region.
#[derive(Debug, Clone)]
pub struct Elbv2Client {
    client: aws_sdk_elasticloadbalancingv2::Client,
}

fn forward(weights: &[TargetGroupWeight]) -> Result<elb::Action> {
    if let Some(w) = weights.iter().find(|w| w.weight > MAX_WEIGHT) {
        return Err(AwsError::InvalidInput(format!(
            "weight {} over {MAX_WEIGHT}",
            w.weight
        )));
    }
    if weights.is_empty() || weights.iter().all(|w| w.weight == 0) {
        return Err(AwsError::InvalidInput(
            "a forward action needs a non-zero weight".into(),
        ));
    }
    let groups = weights
        .iter()
        .map(|w| {
            elb::TargetGroupTuple::builder()
                .target_group_arn(&w.target_group_arn)
                .weight(i32::from(w.weight))
                .build()
        })
        .collect();
    Ok(elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Forward)
        .forward_config(
            elb::ForwardActionConfig::builder()
                .set_target_groups(Some(groups))
                .build(),
        )
        .build())
}

impl Elbv2Client {
    /// A client from an [`SdkConfig`].
    pub fn new(sdk: &SdkConfig) -> Self {
        Elbv2Client {
            client: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
        }
    }

    /// The weights of a listener's default forward action. A plain single-target forward
    /// reads as weight 1.
    pub async fn listener_weights(&self, listener_arn: &str) -> Result<Vec<TargetGroupWeight>> {
        let out = self
            .client
            .describe_listeners()
            .listener_arns(listener_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeListeners", e))?;
        let listener = out
            .listeners()
            .first()
            .ok_or_else(|| AwsError::missing(SERVICE, "DescribeListeners", "Listener"))?;
        let action = listener
            .default_actions()
            .iter()
            .find(|a| a.r#type() == Some(&elb::ActionTypeEnum::Forward))
            .ok_or_else(|| AwsError::missing(SERVICE, "DescribeListeners", "forward action"))?;
        if let Some(cfg) = action
            .forward_config()
            .filter(|c| !c.target_groups().is_empty())
        {
            return Ok(cfg
                .target_groups()
                .iter()
                .filter_map(|t| {
                    Some(TargetGroupWeight {
                        target_group_arn: t.target_group_arn()?.to_string(),
                        weight: u16::try_from(t.weight().unwrap_or(1)).unwrap_or(0),
                    })
                })
                .collect());
        }
        let arn = action
            .target_group_arn()
            .ok_or_else(|| AwsError::missing(SERVICE, "DescribeListeners", "TargetGroupArn"))?;
        Ok(vec![TargetGroupWeight {
            target_group_arn: arn.to_string(),
            weight: 1,
        }])
    }

    /// Replaces a listener's default action with a weighted forward to `weights`.
    pub async fn set_listener_weights(
        &self,
        listener_arn: &str,
        weights: &[TargetGroupWeight],
    ) -> Result<()> {
        let action = forward(weights)?;
        self.client
            .modify_listener()
            .listener_arn(listener_arn)
            .default_actions(action)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "ModifyListener", e))?;
        Ok(())
    }

    /// Creates an internal application load balancer in `subnets` (at least two AZs).
    pub async fn create_alb(&self, name: &str, subnets: &[String]) -> Result<LoadBalancerInfo> {
        let out = self
            .client
            .create_load_balancer()
            .name(name)
            .set_subnets(Some(subnets.to_vec()))
            .r#type(elb::LoadBalancerTypeEnum::Application)
            .scheme(elb::LoadBalancerSchemeEnum::Internal)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "CreateLoadBalancer", e))?;
        let lb = out
            .load_balancers()
            .first()
            .ok_or_else(|| AwsError::missing(SERVICE, "CreateLoadBalancer", "LoadBalancer"))?;
        let field = |v: Option<&str>, name: &str| {
            v.map(str::to_string)
                .ok_or_else(|| AwsError::missing(SERVICE, "CreateLoadBalancer", name))
        };
        Ok(LoadBalancerInfo {
            arn: field(lb.load_balancer_arn(), "LoadBalancerArn")?,
            dns_name: field(lb.dns_name(), "DNSName")?,
            canonical_zone_id: field(lb.canonical_hosted_zone_id(), "CanonicalHostedZoneId")?,
            vpc_id: field(lb.vpc_id(), "VpcId")?,
        })
    }

    /// Creates an `ip` target group (Fargate tasks) on HTTP:80; returns its ARN.
    pub async fn create_ip_target_group(&self, name: &str, vpc_id: &str) -> Result<String> {
        let req = self
            .client
            .create_target_group()
            .name(name)
            .target_type(elb::TargetTypeEnum::Ip)
            .protocol(elb::ProtocolEnum::Http)
            .port(80)
            .vpc_id(vpc_id);
        Self::target_group_arn(
            req.send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "CreateTargetGroup", e))?,
        )
    }

    /// Creates a `lambda` target group; returns its ARN.
    pub async fn create_lambda_target_group(&self, name: &str) -> Result<String> {
        let req = self
            .client
            .create_target_group()
            .name(name)
            .target_type(elb::TargetTypeEnum::Lambda);
        Self::target_group_arn(
            req.send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "CreateTargetGroup", e))?,
        )
    }

    fn target_group_arn(
        out: aws_sdk_elasticloadbalancingv2::operation::create_target_group::CreateTargetGroupOutput,
    ) -> Result<String> {
        out.target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .map(str::to_string)
            .ok_or_else(|| AwsError::missing(SERVICE, "CreateTargetGroup", "TargetGroupArn"))
    }

    /// Creates an HTTP:80 listener whose default action is a weighted forward; returns its ARN.
    pub async fn create_weighted_listener(
        &self,
        lb_arn: &str,
        weights: &[TargetGroupWeight],
    ) -> Result<String> {
        let out = self
            .client
            .create_listener()
            .load_balancer_arn(lb_arn)
            .protocol(elb::ProtocolEnum::Http)
            .port(80)
            .default_actions(forward(weights)?)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "CreateListener", e))?;
        out.listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .map(str::to_string)
            .ok_or_else(|| AwsError::missing(SERVICE, "CreateListener", "ListenerArn"))
    }
}
