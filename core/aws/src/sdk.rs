//! The AWS SDK clients, configured the standard way: aws-config's default chain (environment,
//! profiles, SSO, credential processes), `--profile`/`--region`, `AWS_ENDPOINT_URL` and the
//! per-service `AWS_ENDPOINT_URL_<SERVICE>` overrides, and the SDK's standard retry mode.
//!
//! Two deliberate departures from the SDK's defaults:
//! - TLS is rustls on *ring* (the SDK's default, aws-lc, needs a C toolchain with cmake and
//!   minutes of build time), and the same provider serves reqwest;
//! - retries are not rationed by the standard mode's token bucket: a deploy is a burst of
//!   calls the user is waiting for, and giving up on a throttled call halfway through a deploy
//!   helps nobody. Attempts are still bounded and backed off.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use mcpkit_workspace::error::{Error, Problem, Result};
use std::time::Duration;

/// Where and as whom to deploy.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// The clients of every service the AWS target uses, and the account and region they act in.
#[derive(Clone)]
pub struct Aws {
    pub region: String,
    pub account: String,
    pub partition: String,
    /// Base URL of the Cognito identity-provider endpoint (discovery documents live there).
    pub cognito_base: String,
    pub config: SdkConfig,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub agentcore: aws_sdk_bedrockagentcorecontrol::Client,
    /// CloudWatch Logs: the runtimes' application logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

fn retry_partition() -> RetryPartition {
    RetryPartition::custom("mcpkit").token_bucket(TokenBucket::unlimited()).build()
}

/// Loads the configuration and finds out which account it acts in (one STS call).
async fn load(settings: &Settings) -> Result<(SdkConfig, String)> {
    mcpkit_deploy::install_crypto();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).retry_config(
        RetryConfig::standard()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(10)),
    );
    if let Some(p) = &settings.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &settings.region {
        loader = loader.region(Region::new(r.clone()));
    }
    let config = loader.load().await;
    let Some(region) = config.region().map(|r| r.to_string()) else {
        return Err(Error::input(
            Problem::new("no AWS region is configured")
                .field("--region")
                .hint("pass --region, set AWS_REGION, or set `region` under [targets.aws] in mcpkit.toml"),
        ));
    };
    Ok((config, region))
}

/// The region the settings resolve to, without asking AWS anything.
pub async fn region(settings: &Settings) -> Result<String> {
    Ok(load(settings).await?.1)
}

/// The partition a region belongs to.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub async fn connect(settings: &Settings) -> Result<Aws> {
    let (config, region) = load(settings).await?;
    let sts = aws_sdk_sts::Client::new(&config);
    let me = sts.get_caller_identity().send().await.map_err(|e| {
        Error::world(format!("cannot find out which AWS account to deploy to: {}", message(&e)))
            .with_hint("check your AWS credentials (`aws sts get-caller-identity`), or pass --profile")
    })?;
    let account = me.account().unwrap_or_default().to_string();
    let partition =
        me.arn().and_then(|a| a.split(':').nth(1)).filter(|p| !p.is_empty()).unwrap_or("aws").to_string();
    let cognito_base = std::env::var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
        .ok()
        .or_else(|| config.endpoint_url().map(str::to_string))
        .unwrap_or_else(|| format!("https://cognito-idp.{region}.amazonaws.com"));

    let cognito = aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(&config)
            .retry_partition(retry_partition())
            .build(),
    );
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&config).retry_partition(retry_partition()).build(),
    );
    // Path-style addressing when an endpoint is overridden: S3-compatible endpoints on a host
    // name of their own rarely serve `{bucket}.{host}`.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .retry_partition(retry_partition())
            .force_path_style(config.endpoint_url().is_some())
            .build(),
    );
    let ecr = aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::config::Builder::from(&config).retry_partition(retry_partition()).build(),
    );
    let agentcore = aws_sdk_bedrockagentcorecontrol::Client::from_conf(
        aws_sdk_bedrockagentcorecontrol::config::Builder::from(&config)
            .retry_partition(retry_partition())
            .build(),
    );
    let logs = aws_sdk_cloudwatchlogs::Client::from_conf(
        aws_sdk_cloudwatchlogs::config::Builder::from(&config).retry_partition(retry_partition()).build(),
    );
    Ok(Aws { region, account, partition, cognito_base, config, cognito, iam, s3, ecr, agentcore, logs })
}

impl Aws {
    /// `arn:{partition}:{service}:{region}:{account}:{resource}`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{}:{}:{resource}", self.partition, self.region, self.account)
    }
}

/// The service's error code, when the call got an answer.
pub fn code<E: ProvideErrorMetadata>(e: &E) -> Option<&str> {
    e.code()
}

/// A one-line description of an SDK error: the service's code and message when it answered,
/// the transport failure otherwise.
pub fn message<E>(e: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => {
            // No modelled error: the chain of causes, without the SDK's debug dump of the
            // raw response.
            let full = chain(e);
            let mut out: String = full.chars().take(400).collect();
            if full.chars().count() > 400 {
                out.push('…');
            }
            out
        }
    }
}

/// An error and its causes on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Error codes that mean "no such resource" across the services used.
const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "RepositoryNotFoundException",
    "ImageNotFoundException",
];

/// Turns SDK results into mcpkit results, naming what was being done.
pub trait SdkResult<T> {
    /// Any error is a failure of the world, described with `what`.
    fn ctx(self, what: &str) -> Result<T>;
    /// "Not found" is `None`; other errors are failures.
    fn found(self, what: &str) -> Result<Option<T>>;
    /// "Not found" is success (for deletes).
    fn gone_ok(self, what: &str) -> Result<()>;
}

/// What to do about a call IAM refused.
pub const ACCESS_DENIED_HINT: &str = "the AWS identity mcpkit runs as lacks this permission: `mcpkit aws policy` prints the policy it needs for this workspace";

/// Error codes AWS services answer when IAM denies the caller.
const ACCESS_DENIED: &[&str] = &["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"];

/// A failed call as mcpkit reports it: what was being done, AWS's message, and, when IAM
/// denied it, where to find the permissions the deploying identity needs.
pub fn failure<E>(what: &str, e: &E) -> Error
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let err = Error::world(format!("{what}: {}", message(e)));
    if e.code().is_some_and(|c| ACCESS_DENIED.contains(&c)) { err.with_hint(ACCESS_DENIED_HINT) } else { err }
}

impl<T, E> SdkResult<T> for std::result::Result<T, E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn ctx(self, what: &str) -> Result<T> {
        self.map_err(|e| failure(what, &e))
    }
    fn found(self, what: &str) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code().is_some_and(|c| NOT_FOUND.contains(&c)) => Ok(None),
            Err(e) => Err(failure(what, &e)),
        }
    }
    fn gone_ok(self, what: &str) -> Result<()> {
        self.found(what).map(|_| ())
    }
}
