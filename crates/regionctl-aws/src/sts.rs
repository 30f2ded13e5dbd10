//! STS: who the credentials belong to. `gameday --target aws` compares the caller's account
//! with the scenario's `guardrails.accounts` (and the operator's `--confirm-account`) before
//! it touches anything.

use crate::errors::{AwsError, Result};
use aws_config::SdkConfig;

const SERVICE: &str = "sts";

/// The identity behind the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// AWS account id (12 digits).
    pub account: String,
    /// ARN of the caller (user or assumed role).
    pub arn: String,
}

/// An STS client.
#[derive(Debug, Clone)]
pub struct StsClient {
    client: aws_sdk_sts::Client,
}

impl StsClient {
    /// A client from an [`SdkConfig`].
    pub fn new(sdk: &SdkConfig) -> Self {
        StsClient {
            client: aws_sdk_sts::Client::new(sdk),
        }
    }

    /// `GetCallerIdentity` (needs no IAM permission: any valid credentials may call it).
    pub async fn caller_identity(&self) -> Result<CallerIdentity> {
        let out = self
            .client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "GetCallerIdentity", e))?;
        let Some(account) = out.account() else {
            return Err(AwsError::UnexpectedResponse {
                service: SERVICE,
                operation: "GetCallerIdentity",
                message: "no Account in the response".into(),
            });
        };
        Ok(CallerIdentity {
            account: account.to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }
}
