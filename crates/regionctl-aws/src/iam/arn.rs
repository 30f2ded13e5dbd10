//! ARNs of the resources the policies name, and the spellings IAM condition keys compare.

/// Builds ARNs in one partition and account.
#[derive(Debug, Clone)]
pub struct Arns {
    partition: String,
    /// The account id, or `*` when none was given.
    account: String,
}

impl Arns {
    /// ARNs in `partition` (`aws`, `aws-cn`, `aws-us-gov`) and `account` (`None`: any
    /// account, `*`).
    pub fn new(partition: &str, account: Option<&str>) -> Arns {
        Arns {
            partition: partition.to_string(),
            account: account.unwrap_or("*").to_string(),
        }
    }

    fn regional(&self, service: &str, region: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            self.partition, self.account
        )
    }

    /// A Route 53 hosted zone (global: no region, no account).
    pub fn hosted_zone(&self, id: &str) -> String {
        format!("arn:{}:route53:::hostedzone/{id}", self.partition)
    }

    /// Every Route 53 change: their ids are known only once a change is made.
    pub fn any_change(&self) -> String {
        format!("arn:{}:route53:::change/*", self.partition)
    }

    /// Every Route 53 health check: their ids are known only once they are created.
    pub fn any_health_check(&self) -> String {
        format!("arn:{}:route53:::healthcheck/*", self.partition)
    }

    /// A CloudWatch alarm.
    pub fn alarm(&self, region: &str, name: &str) -> String {
        self.regional("cloudwatch", region, &format!("alarm:{name}"))
    }

    /// A DynamoDB table (a global table's replica in `region`).
    pub fn table(&self, region: &str, name: &str) -> String {
        self.regional("dynamodb", region, &format!("table/{name}"))
    }

    /// An ECS service (the long ARN format, with the cluster).
    pub fn ecs_service(&self, region: &str, cluster: &str, service: &str) -> String {
        self.regional("ecs", region, &format!("service/{cluster}/{service}"))
    }

    /// An EventBridge bus.
    pub fn event_bus(&self, region: &str, name: &str) -> String {
        self.regional("events", region, &format!("event-bus/{name}"))
    }

    /// An EventBridge rule (on the default bus).
    pub fn rule(&self, region: &str, name: &str) -> String {
        self.regional("events", region, &format!("rule/{name}"))
    }

    /// An SQS queue.
    pub fn queue(&self, region: &str, name: &str) -> String {
        self.regional("sqs", region, name)
    }
}

/// The load balancers, of any id, named like the one a listener ARN belongs to
/// (`…:listener/app/NAME/LB-ID/LISTENER-ID` → `…:loadbalancer/app/NAME/*`): what a sandbox
/// may create before the listener exists. `None` for anything else.
pub fn load_balancers_like(listener_arn: &str) -> Option<String> {
    let (head, path) = listener_arn.split_once(":listener/")?;
    let mut parts = path.split('/');
    let (kind, name) = (parts.next()?, parts.next()?);
    Some(format!("{head}:loadbalancer/{kind}/{name}/*"))
}

/// The target groups, of any id, named like `target_group_arn`
/// (`…:targetgroup/NAME/ID` → `…:targetgroup/NAME/*`). `None` for anything else.
pub fn target_groups_like(target_group_arn: &str) -> Option<String> {
    let (head, path) = target_group_arn.split_once(":targetgroup/")?;
    let name = path.split('/').next()?;
    Some(format!("{head}:targetgroup/{name}/*"))
}

/// A record name as `route53:ChangeResourceRecordSetsNormalizedRecordNames` compares it:
/// lower case, no trailing dot, and every character but `a-z`, `0-9`, `-`, `_` and the `.`
/// between labels as a `\` and three octal digits (`*` is `\052`). (Route 53 Developer
/// Guide, "Using IAM policy conditions for fine-grained access control".)
pub fn normalized_record_name(name: &str) -> String {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    let mut out = String::with_capacity(lower.len());
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.') {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\{b:03o}"));
            }
        }
    }
    out
}
