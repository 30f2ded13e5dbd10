//! ECS: read and set a service's capacity (pre-scaling receivers, scaling standbys from
//! zero), plus provisioning helpers for tests and game-days.
//!
//! Capacity changes are absolute and monotone during an incident (desired = max), so two
//! controllers acting at once write the same value.

use crate::errors::{AwsError, Result};
use crate::types::ServiceCounts;
use aws_config::SdkConfig;
use aws_sdk_ecs::types as ecs;

const SERVICE: &str = "ecs";

/// Services per `DescribeServices` call: the API's limit.
pub const DESCRIBE_SERVICES_MAX: usize = 10;

/// A Fargate service to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FargateService {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name.
    pub name: String,
    /// Task definition ARN or family:revision.
    pub task_definition: String,
    /// Initial desired count.
    pub desired: i32,
    /// Subnet ids (awsvpc).
    pub subnets: Vec<String>,
    /// Security group ids (awsvpc; moto requires at least one).
    pub security_groups: Vec<String>,
}

/// An ECS client for one region.
#[derive(Debug, Clone)]
pub struct EcsClient {
    client: aws_sdk_ecs::Client,
}

fn invalid(e: impl std::fmt::Display) -> AwsError {
    AwsError::InvalidInput(e.to_string())
}

impl EcsClient {
    /// A client from an [`SdkConfig`].
    pub fn new(sdk: &SdkConfig) -> Self {
        EcsClient {
            client: aws_sdk_ecs::Client::new(sdk),
        }
    }

    /// Desired, running and pending counts of each of `services` (names or ARNs in
    /// `cluster`), in the order asked; `None` for one that does not exist. One
    /// `DescribeServices` call per [`DESCRIBE_SERVICES_MAX`] names, the API's limit.
    pub async fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<Vec<Option<ServiceCounts>>> {
        let mut counts = Vec::with_capacity(services.len());
        for chunk in services.chunks(DESCRIBE_SERVICES_MAX) {
            let out = self
                .client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeServices", e))?;
            // DescribeServices reports unknown services as `failures` (reason MISSING), not
            // as an error; a deleted service is returned with status INACTIVE. Answers come
            // in no promised order: each is matched to the name (or ARN) asked for.
            counts.extend(chunk.iter().map(|asked| {
                out.services()
                    .iter()
                    .filter(|s| s.status() != Some("INACTIVE"))
                    .find(|s| {
                        s.service_name() == Some(asked.as_str())
                            || s.service_arn() == Some(asked.as_str())
                    })
                    .map(|s| ServiceCounts {
                        desired: s.desired_count(),
                        running: s.running_count(),
                        pending: s.pending_count(),
                    })
            }));
        }
        Ok(counts)
    }

    /// Desired, running and pending counts of one service; `None` if it does not exist.
    pub async fn describe_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceCounts>> {
        let mut counts = self
            .describe_services(cluster, &[service.to_string()])
            .await?;
        Ok(counts.pop().flatten())
    }

    /// Sets the desired count. An unknown service is a permanent
    /// `ServiceNotFoundException` error.
    pub async fn set_desired_count(
        &self,
        cluster: &str,
        service: &str,
        desired: i32,
    ) -> Result<()> {
        self.client
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(desired)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "UpdateService", e))?;
        Ok(())
    }

    /// Creates a cluster (idempotent); returns its ARN.
    pub async fn create_cluster(&self, name: &str) -> Result<String> {
        let out = self
            .client
            .create_cluster()
            .cluster_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "CreateCluster", e))?;
        out.cluster()
            .and_then(|c| c.cluster_arn())
            .map(str::to_string)
            .ok_or_else(|| AwsError::missing(SERVICE, "CreateCluster", "clusterArn"))
    }

    /// Registers a minimal Fargate task definition (awsvpc, 256 CPU / 512 MiB, one container
    /// on port 80); returns its ARN.
    pub async fn register_fargate_task(&self, family: &str, image: &str) -> Result<String> {
        let container = ecs::ContainerDefinition::builder()
            .name("app")
            .image(image)
            .essential(true)
            .port_mappings(ecs::PortMapping::builder().container_port(80).build())
            .build();
        let out = self
            .client
            .register_task_definition()
            .family(family)
            .requires_compatibilities(ecs::Compatibility::Fargate)
            .network_mode(ecs::NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512")
            .container_definitions(container)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "RegisterTaskDefinition", e))?;
        out.task_definition()
            .and_then(|t| t.task_definition_arn())
            .map(str::to_string)
            .ok_or_else(|| {
                AwsError::missing(SERVICE, "RegisterTaskDefinition", "taskDefinitionArn")
            })
    }

    /// Creates a Fargate service; returns its ARN.
    pub async fn create_service(&self, spec: &FargateService) -> Result<String> {
        let vpc = ecs::AwsVpcConfiguration::builder()
            .set_subnets(Some(spec.subnets.clone()))
            .set_security_groups(Some(spec.security_groups.clone()))
            .assign_public_ip(ecs::AssignPublicIp::Disabled)
            .build()
            .map_err(invalid)?;
        let out = self
            .client
            .create_service()
            .cluster(&spec.cluster)
            .service_name(&spec.name)
            .task_definition(&spec.task_definition)
            .desired_count(spec.desired)
            .launch_type(ecs::LaunchType::Fargate)
            .network_configuration(
                ecs::NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "CreateService", e))?;
        out.service()
            .and_then(|s| s.service_arn())
            .map(str::to_string)
            .ok_or_else(|| AwsError::missing(SERVICE, "CreateService", "serviceArn"))
    }
}
