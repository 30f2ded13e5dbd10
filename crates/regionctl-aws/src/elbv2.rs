//! ELBv2: weighted forward actions between target groups (Fargate ↔ Lambda compute
//! shifting), plus provisioning helpers.
//!
//! Weights are written absolutely, so repeating a write is harmless.
//!
//! # Design
//! A listener's default actions are more than the forward regionctl shifts: an
//! `authenticate-oidc` or `authenticate-cognito` action before it, their `Order`, the
//! forward's target-group stickiness. `ModifyListener` replaces the whole list, so a shift
//! reads the listener, changes only the forward's target-group weights ([`reweighted`]) and
//! writes every action back. A listener whose default forward goes anywhere but the two
//! target groups regionctl shifts between is refused, naming the listener: rewriting it
//! would route someone else's traffic.

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

/// The target-group tuples of a weighted forward to `weights`, validated.
fn target_groups(weights: &[TargetGroupWeight]) -> Result<Vec<elb::TargetGroupTuple>> {
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
    Ok(weights
        .iter()
        .map(|w| {
            elb::TargetGroupTuple::builder()
                .target_group_arn(&w.target_group_arn)
                .weight(i32::from(w.weight))
                .build()
        })
        .collect())
}

/// A forward action to `weights` (a new listener's only default action).
fn forward(weights: &[TargetGroupWeight]) -> Result<elb::Action> {
    Ok(elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Forward)
        .forward_config(
            elb::ForwardActionConfig::builder()
                .set_target_groups(Some(target_groups(weights)?))
                .build(),
        )
        .build())
}

/// The target groups a forward action sends to: its weighted groups, or its single
/// `TargetGroupArn`.
fn forward_groups(action: &elb::Action) -> Vec<&str> {
    match action.forward_config() {
        Some(cfg) if !cfg.target_groups().is_empty() => cfg
            .target_groups()
            .iter()
            .filter_map(elb::TargetGroupTuple::target_group_arn)
            .collect(),
        _ => action.target_group_arn().into_iter().collect(),
    }
}

/// `actions` (a listener's default actions, as read) with only the forward action's
/// target-group weights set to `weights`: every other action, every `Order` and the
/// forward's stickiness are kept. Errors, naming the listener, when there is no forward
/// action or when it sends to a target group outside `weights`.
///
/// An `authenticate-oidc` action goes back with `UseExistingClientSecret` and without a
/// secret: `DescribeListeners` never returns the secret, and `ModifyListener` needs either
/// the secret or that flag.
pub fn reweighted(
    listener_arn: &str,
    actions: &[elb::Action],
    weights: &[TargetGroupWeight],
) -> Result<Vec<elb::Action>> {
    let groups = target_groups(weights)?;
    let wanted: Vec<&str> = weights
        .iter()
        .map(|w| w.target_group_arn.as_str())
        .collect();
    let forwards = actions
        .iter()
        .filter(|a| a.r#type() == Some(&elb::ActionTypeEnum::Forward))
        .count();
    if forwards != 1 {
        return Err(AwsError::InvalidInput(format!(
            "listener {listener_arn}: {forwards} forward default action(s) where regionctl expects one to {}; regionctl does not rewrite it",
            wanted.join(", ")
        )));
    }
    let mut out = Vec::with_capacity(actions.len());
    for action in actions {
        let mut action = action.clone();
        if action.r#type() == Some(&elb::ActionTypeEnum::Forward) {
            let current = forward_groups(&action);
            if current.is_empty() || current.iter().any(|g| !wanted.contains(g)) {
                return Err(AwsError::InvalidInput(format!(
                    "listener {listener_arn}: its default forward goes to [{}], not only to the target groups regionctl shifts between ({}); regionctl does not rewrite it",
                    current.join(", "),
                    wanted.join(", ")
                )));
            }
            let stickiness = action
                .forward_config()
                .and_then(|c| c.target_group_stickiness_config())
                .cloned();
            // A weighted forward names its groups in ForwardConfig only: AWS refuses a
            // TargetGroupArn beside several groups.
            action.target_group_arn = None;
            action.forward_config = Some(
                elb::ForwardActionConfig::builder()
                    .set_target_groups(Some(groups.clone()))
                    .set_target_group_stickiness_config(stickiness)
                    .build(),
            );
        }
        if let Some(oidc) = action.authenticate_oidc_config.as_mut() {
            oidc.client_secret = None;
            oidc.use_existing_client_secret = Some(true);
        }
        out.push(action);
    }
    Ok(out)
}

impl Elbv2Client {
    /// A client from an [`SdkConfig`].
    pub fn new(sdk: &SdkConfig) -> Self {
        Elbv2Client {
            client: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
        }
    }

    /// A listener's default actions, as `DescribeListeners` returns them.
    async fn default_actions(&self, listener_arn: &str) -> Result<Vec<elb::Action>> {
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
        Ok(listener.default_actions().to_vec())
    }

    /// The weights of a listener's default forward action. A plain single-target forward
    /// reads as weight 1.
    pub async fn listener_weights(&self, listener_arn: &str) -> Result<Vec<TargetGroupWeight>> {
        let actions = self.default_actions(listener_arn).await?;
        let action = actions
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

    /// Sets the weights of a listener's default forward action to `weights`, keeping
    /// every other default action, their order and the forward's stickiness
    /// ([`reweighted`]): one `DescribeListeners`, one `ModifyListener`.
    pub async fn set_listener_weights(
        &self,
        listener_arn: &str,
        weights: &[TargetGroupWeight],
    ) -> Result<()> {
        // Validate before reading: a bad weight needs no call.
        target_groups(weights)?;
        let actions = reweighted(
            listener_arn,
            &self.default_actions(listener_arn).await?,
            weights,
        )?;
        self.client
            .modify_listener()
            .listener_arn(listener_arn)
            .set_default_actions(Some(actions))
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

#[cfg(test)]
mod tests {
    use super::*;

    const LISTENER: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/playback/1/1";
    const FARGATE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/f/1";
    const LAMBDA: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/l/1";

    fn w(fargate: u16, lambda: u16) -> Vec<TargetGroupWeight> {
        vec![
            TargetGroupWeight {
                target_group_arn: FARGATE.into(),
                weight: fargate,
            },
            TargetGroupWeight {
                target_group_arn: LAMBDA.into(),
                weight: lambda,
            },
        ]
    }

    fn oidc(order: i32) -> elb::Action {
        elb::Action::builder()
            .r#type(elb::ActionTypeEnum::AuthenticateOidc)
            .order(order)
            .authenticate_oidc_config(
                elb::AuthenticateOidcActionConfig::builder()
                    .issuer("https://idp.example.com")
                    .authorization_endpoint("https://idp.example.com/auth")
                    .token_endpoint("https://idp.example.com/token")
                    .user_info_endpoint("https://idp.example.com/userinfo")
                    .client_id("regionctl-test")
                    .scope("openid")
                    .build(),
            )
            .build()
    }

    fn cognito(order: i32) -> elb::Action {
        elb::Action::builder()
            .r#type(elb::ActionTypeEnum::AuthenticateCognito)
            .order(order)
            .authenticate_cognito_config(
                elb::AuthenticateCognitoActionConfig::builder()
                    .user_pool_arn("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/p")
                    .user_pool_client_id("c")
                    .user_pool_domain("d")
                    .build(),
            )
            .build()
    }

    fn sticky_forward(order: i32, groups: &[(&str, i32)]) -> elb::Action {
        let tuples = groups
            .iter()
            .map(|(arn, weight)| {
                elb::TargetGroupTuple::builder()
                    .target_group_arn(*arn)
                    .weight(*weight)
                    .build()
            })
            .collect();
        elb::Action::builder()
            .r#type(elb::ActionTypeEnum::Forward)
            .order(order)
            .forward_config(
                elb::ForwardActionConfig::builder()
                    .set_target_groups(Some(tuples))
                    .target_group_stickiness_config(
                        elb::TargetGroupStickinessConfig::builder()
                            .enabled(true)
                            .duration_seconds(300)
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn weights_of(action: &elb::Action) -> Vec<(String, i32)> {
        action
            .forward_config()
            .map(|c| {
                c.target_groups()
                    .iter()
                    .map(|t| {
                        (
                            t.target_group_arn().unwrap_or_default().to_string(),
                            t.weight().unwrap_or(-1),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn only_the_forward_weights_change() {
        let before = vec![
            cognito(1),
            oidc(2),
            sticky_forward(3, &[(FARGATE, 80), (LAMBDA, 20)]),
        ];
        let after = reweighted(LISTENER, &before, &w(0, 100)).unwrap();
        assert_eq!(after.len(), 3);
        // The authenticate actions are kept as they were, in their order.
        assert_eq!(after[0], before[0]);
        assert_eq!(
            after.iter().map(elb::Action::order).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
        assert_eq!(
            after[1].r#type(),
            Some(&elb::ActionTypeEnum::AuthenticateOidc)
        );
        // The forward keeps its stickiness; only its weights moved.
        assert_eq!(
            weights_of(&after[2]),
            [(FARGATE.to_string(), 0), (LAMBDA.to_string(), 100)]
        );
        assert_eq!(
            after[2]
                .forward_config()
                .and_then(|c| c.target_group_stickiness_config()),
            before[2]
                .forward_config()
                .and_then(|c| c.target_group_stickiness_config())
        );
    }

    #[test]
    fn an_oidc_action_goes_back_with_its_existing_secret() {
        let mut with_secret = oidc(1);
        if let Some(c) = with_secret.authenticate_oidc_config.as_mut() {
            c.client_secret = Some("what an emulator returns".into());
        }
        let before = vec![with_secret, sticky_forward(2, &[(FARGATE, 100)])];
        let after = reweighted(LISTENER, &before, &w(50, 50)).unwrap();
        let sent = after[0].authenticate_oidc_config().unwrap();
        assert_eq!(sent.client_secret(), None);
        assert_eq!(sent.use_existing_client_secret(), Some(true));
        // Everything else of the action is as read.
        let mut expected = before[0].clone();
        if let Some(c) = expected.authenticate_oidc_config.as_mut() {
            c.client_secret = None;
            c.use_existing_client_secret = Some(true);
        }
        assert_eq!(after[0], expected);
    }

    #[test]
    fn a_plain_forward_to_one_of_the_groups_becomes_weighted() {
        let plain = elb::Action::builder()
            .r#type(elb::ActionTypeEnum::Forward)
            .target_group_arn(FARGATE)
            .build();
        let after = reweighted(LISTENER, &[plain], &w(80, 20)).unwrap();
        assert_eq!(after[0].target_group_arn(), None);
        assert_eq!(
            weights_of(&after[0]),
            [(FARGATE.to_string(), 80), (LAMBDA.to_string(), 20)]
        );
    }

    #[test]
    fn a_listener_without_a_forward_to_the_two_groups_is_refused_by_name() {
        let fixed = elb::Action::builder()
            .r#type(elb::ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                elb::FixedResponseActionConfig::builder()
                    .status_code("503")
                    .build(),
            )
            .build();
        let other = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/other/1";
        for actions in [
            vec![fixed],
            vec![oidc(1)],
            vec![sticky_forward(1, &[(FARGATE, 50), (other, 50)])],
            vec![
                elb::Action::builder()
                    .r#type(elb::ActionTypeEnum::Forward)
                    .target_group_arn(other)
                    .build(),
            ],
        ] {
            let err = reweighted(LISTENER, &actions, &w(0, 100)).unwrap_err();
            assert!(matches!(err, AwsError::InvalidInput(_)), "{err}");
            assert!(err.to_string().contains(LISTENER), "{err}");
        }
    }

    #[test]
    fn bad_weights_are_refused_before_anything_is_read() {
        let actions = [sticky_forward(1, &[(FARGATE, 100)])];
        assert!(matches!(
            reweighted(LISTENER, &actions, &w(1000, 0)),
            Err(AwsError::InvalidInput(_))
        ));
        assert!(matches!(
            reweighted(LISTENER, &actions, &w(0, 0)),
            Err(AwsError::InvalidInput(_))
        ));
    }
}
