//! ECS and ELBv2 against moto: capacity reads/writes and weighted forward actions.

use crate::harness::{default_network, fargate_service, sdk, unique};
use regionctl_aws::AwsError;
use regionctl_aws::elbv2::Elbv2Client;
use regionctl_aws::types::TargetGroupWeight;

#[tokio::test]
async fn ecs_service_capacity() {
    let (ecs, cluster, name) = fargate_service("eu-central-1").await;
    assert_eq!(
        ecs.describe_service(&cluster, &name)
            .await
            .unwrap()
            .unwrap()
            .desired,
        2
    );
    ecs.set_desired_count(&cluster, &name, 6).await.unwrap();
    let counts = ecs
        .describe_service(&cluster, &name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counts.desired, 6);

    assert_eq!(
        ecs.describe_service(&cluster, "no-such-service")
            .await
            .unwrap(),
        None
    );
    let err = ecs
        .set_desired_count(&cluster, "no-such-service", 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ServiceNotFoundException"), "{err}");
}

/// Twelve names: two `DescribeServices` calls; answers in the order asked, `None` for the
/// missing ones.
#[tokio::test]
async fn ecs_services_described_in_batches_of_ten() {
    let (ecs, cluster, name) = fargate_service("eu-west-1").await;
    let mut asked = vec![name.clone()];
    asked.extend((0..10).map(|i| format!("missing-{i}")));
    asked.push(name.clone());
    let counts = ecs.describe_services(&cluster, &asked).await.unwrap();
    assert_eq!(counts.len(), 12);
    assert_eq!(counts[0].map(|c| c.desired), Some(2));
    assert!(counts[1..11].iter().all(Option::is_none), "{counts:?}");
    assert_eq!(counts[11].map(|c| c.desired), Some(2));
}

#[tokio::test]
async fn alb_weighted_forward() {
    let region = "us-east-1";
    let elb = Elbv2Client::new(&sdk(region).await);
    let (vpc, subnets, _sg) = default_network(region);
    let lb = elb.create_alb(&unique("alb"), &subnets[..2]).await.unwrap();
    assert_eq!(lb.vpc_id, vpc);
    let fargate = elb
        .create_ip_target_group(&unique("tgf"), &vpc)
        .await
        .unwrap();
    let lambda = elb
        .create_lambda_target_group(&unique("tgl"))
        .await
        .unwrap();
    let w = |f: u16, l: u16| {
        vec![
            TargetGroupWeight {
                target_group_arn: fargate.clone(),
                weight: f,
            },
            TargetGroupWeight {
                target_group_arn: lambda.clone(),
                weight: l,
            },
        ]
    };
    let listener = elb
        .create_weighted_listener(&lb.arn, &w(80, 20))
        .await
        .unwrap();
    assert_eq!(elb.listener_weights(&listener).await.unwrap(), w(80, 20));
    elb.set_listener_weights(&listener, &w(0, 100))
        .await
        .unwrap();
    assert_eq!(elb.listener_weights(&listener).await.unwrap(), w(0, 100));

    // Client-side validation that moto would not do.
    assert!(matches!(
        elb.set_listener_weights(&listener, &w(1000, 0)).await,
        Err(AwsError::InvalidInput(_))
    ));
    assert!(matches!(
        elb.set_listener_weights(&listener, &w(0, 0)).await,
        Err(AwsError::InvalidInput(_))
    ));
    let err = elb
        .create_alb(&unique("alb"), &["subnet-nope".to_string()])
        .await
        .unwrap_err();
    // AWS says SubnetNotFound; moto 5.2.5 says InvalidSubnetID.NotFound.
    assert_eq!(err.class(), regionctl_aws::ErrorClass::Permanent, "{err}");
    assert!(err.code().is_some_and(|c| c.contains("Subnet")), "{err}");
}
