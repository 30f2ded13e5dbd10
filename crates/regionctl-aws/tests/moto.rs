//! Integration tests against moto (one test binary: each extra binary costs a large link).
//!
//! Run `scripts/moto.sh install` once; the tests start their own moto server on a free
//! 127.0.0.1 port (or use `MOTO_ENDPOINT`) through the test kit (`regionctl-testkit`).
//! Every test uses unique resource names, so the tests run in parallel against one server.

/// The test kit's moto harness, and SDK configurations for its server.
mod harness {
    pub use regionctl_testkit::moto::{default_network, endpoint, unique};

    use regionctl_aws::ecs::{EcsClient, FargateService};

    /// Test SDK configuration for `region` (static credentials, no SDK retries).
    pub async fn sdk(region: &str) -> regionctl_aws::config::SdkConfig {
        regionctl_aws::config::load_for_tests(region, endpoint()).await
    }

    /// A new Fargate service (desired 2) in a new cluster on moto's default network in
    /// `region`: an ECS client there, the cluster and the service's name.
    pub async fn fargate_service(region: &str) -> (EcsClient, String, String) {
        let ecs = EcsClient::new(&sdk(region).await);
        let (_vpc, subnets, sg) = default_network(region);
        let cluster = unique("cluster");
        ecs.create_cluster(&cluster)
            .await
            .expect("create a cluster");
        let task = ecs
            .register_fargate_task(&unique("task"), "public.ecr.aws/nginx/nginx:latest")
            .await
            .expect("register a task");
        let name = unique("svc");
        ecs.create_service(&FargateService {
            cluster: cluster.clone(),
            name: name.clone(),
            task_definition: task,
            desired: 2,
            subnets,
            security_groups: vec![sg],
        })
        .await
        .expect("create a service");
        (ecs, cluster, name)
    }
}

#[path = "moto/route53.rs"]
mod route53;

#[path = "moto/cloudwatch.rs"]
mod cloudwatch;

#[path = "moto/events.rs"]
mod events;

#[path = "moto/dynamodb.rs"]
mod dynamodb;

#[path = "moto/compute.rs"]
mod compute;

#[path = "moto/world.rs"]
mod world;
