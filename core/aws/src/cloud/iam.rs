//! IAM roles: a trust policy, one inline policy named `mcpkit`, mcpkit's tags, and, for a
//! gateway whose permissions outgrow IAM's inline quota, customer-managed policies
//! `{role}-{n}` under the path `/mcpkit/` (see `aws::policy`). Nothing else is attached from
//! outside, so deleting a role means deleting what mcpkit put on it (and whatever someone
//! attached since, which would otherwise block the delete).

use super::{AwsCloud, recorded_id};
use crate::resources::{self as res, Outputs, RoleConfig, RoleOut};
use crate::sdk::{SdkResult, code};
use mcpkit_engine::{Desired, Key, Live, Record};
use mcpkit_workspace::error::Result;
use mcpkit_workspace::names;
use serde_json::Value;

const POLICY_NAME: &str = "mcpkit";

fn live(arn: &str, name: &str) -> Live {
    RoleOut { arn: arn.to_string(), name: name.to_string() }.live(arn)
}

impl AwsCloud {
    pub(super) async fn role_read(&self, key: &Key, recorded: Option<&Record>) -> Result<Option<Live>> {
        let Some(out) = self.aws.iam.get_role().role_name(&key.name).send().await.found("read IAM role")?
        else {
            return Ok(None);
        };
        let Some(role) = out.role() else { return Ok(None) };
        if recorded_id(recorded).is_none() && !self.ours(key, role.tags().iter().map(|t| (&t.key, &t.value)))
        {
            return Err(self.conflict(key, role.arn()));
        }
        Ok(Some(live(role.arn(), role.role_name())))
    }

    /// Creates the role (or brings an adopted one up to date): trust, inline policy, tags.
    pub(super) async fn role_put(&self, d: &Desired, create: bool) -> Result<Live> {
        let name = &d.key.name;
        let config: RoleConfig = res::config(d)?;
        let trust = config.trust.to_string();
        let policy = config.policy.to_string();
        let description = config.description.as_str();
        let tags: Vec<aws_sdk_iam::types::Tag> = self
            .tags(&d.key)
            .into_iter()
            .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| mcpkit_workspace::Error::world(format!("internal: {e}")))?;
        let arn = if create {
            let out = self
                .aws
                .iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(&trust)
                .description(description)
                .set_tags(Some(tags))
                .send()
                .await
                .ctx(&format!("create IAM role {name}"))?;
            out.role().map(|r| r.arn().to_string()).ok_or_else(|| {
                mcpkit_workspace::Error::world(format!("IAM answered without the ARN of role {name}"))
            })?
        } else {
            self.aws
                .iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(&trust)
                .send()
                .await
                .ctx(&format!("update the trust policy of IAM role {name}"))?;
            self.aws
                .iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(tags))
                .send()
                .await
                .ctx(&format!("tag IAM role {name}"))?;
            let out = self.aws.iam.get_role().role_name(name).send().await.ctx("read IAM role")?;
            out.role().map(|r| r.arn().to_string()).ok_or_else(|| {
                mcpkit_workspace::Error::world(format!("IAM answered without the ARN of role {name}"))
            })?
        };
        self.aws
            .iam
            .put_role_policy()
            .role_name(name)
            .policy_name(POLICY_NAME)
            .policy_document(&policy)
            .send()
            .await
            .ctx(&format!("set the policy of IAM role {name}"))?;
        self.managed_put(name, &config.managed).await?;
        Ok(live(&arn, name))
    }

    fn managed_arn(&self, policy: &str) -> String {
        format!(
            "arn:{}:iam::{}:policy{}{policy}",
            self.aws.partition,
            self.aws.account,
            names::MANAGED_POLICY_PATH
        )
    }

    /// Makes the role's managed policies say `docs` (creating each, or giving it a new
    /// default version), attaches them, and removes those of a larger topology before.
    async fn managed_put(&self, role: &str, docs: &[Value]) -> Result<()> {
        let iam = &self.aws.iam;
        for (i, doc) in docs.iter().enumerate() {
            let name = names::managed_policy(role, i + 1);
            let arn = self.managed_arn(&name);
            let text = doc.to_string();
            let created = iam
                .create_policy()
                .policy_name(&name)
                .path(names::MANAGED_POLICY_PATH)
                .policy_document(&text)
                .description(format!("mcpkit: part {} of IAM role {role}'s permissions", i + 1))
                .send()
                .await;
            match created {
                Ok(_) => {}
                Err(e) if code(&e) == Some("EntityAlreadyExists") => {
                    // IAM keeps at most five versions of a policy: drop the oldest spare one.
                    let versions = iam
                        .list_policy_versions()
                        .policy_arn(&arn)
                        .send()
                        .await
                        .ctx("list policy versions")?;
                    let mut spare: Vec<_> =
                        versions.versions().iter().filter(|v| !v.is_default_version()).collect();
                    spare.sort_by_key(|v| v.create_date().map(|d| d.secs()));
                    if versions.versions().len() >= 5
                        && let Some(oldest) = spare.first().and_then(|v| v.version_id())
                    {
                        iam.delete_policy_version()
                            .policy_arn(&arn)
                            .version_id(oldest)
                            .send()
                            .await
                            .gone_ok("delete policy version")?;
                    }
                    iam.create_policy_version()
                        .policy_arn(&arn)
                        .policy_document(&text)
                        .set_as_default(true)
                        .send()
                        .await
                        .ctx(&format!("update IAM policy {name}"))?;
                }
                Err(e) => return Err(crate::sdk::failure(&format!("create IAM policy {name}"), &e)),
            }
            iam.attach_role_policy()
                .role_name(role)
                .policy_arn(&arn)
                .send()
                .await
                .ctx(&format!("attach IAM policy {name} to {role}"))?;
        }
        self.managed_delete(role, docs.len()).await
    }

    /// Detaches and deletes the role's managed policies numbered above `keep`, found by their
    /// path and name, so one left by an interrupted run goes too.
    async fn managed_delete(&self, role: &str, keep: usize) -> Result<()> {
        let iam = &self.aws.iam;
        let prefix = format!("{role}-");
        let mut pages = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .path_prefix(names::MANAGED_POLICY_PATH)
            .into_paginator()
            .send();
        let mut ours = vec![];
        while let Some(page) = pages.next().await {
            for p in page.ctx("list IAM policies")?.policies() {
                let n = p
                    .policy_name()
                    .and_then(|n| n.strip_prefix(&prefix))
                    .and_then(|n| n.parse::<usize>().ok());
                if let (Some(n), Some(arn)) = (n, p.arn())
                    && n > keep
                {
                    ours.push(arn.to_string());
                }
            }
        }
        for arn in ours {
            let detached = iam.detach_role_policy().role_name(role).policy_arn(&arn).send().await;
            detached.gone_ok("detach IAM policy")?;
            if let Some(versions) =
                iam.list_policy_versions().policy_arn(&arn).send().await.found("list policy versions")?
            {
                for v in versions.versions().iter().filter(|v| !v.is_default_version()) {
                    if let Some(id) = v.version_id() {
                        let gone = iam.delete_policy_version().policy_arn(&arn).version_id(id).send().await;
                        gone.gone_ok("delete policy version")?;
                    }
                }
            }
            iam.delete_policy().policy_arn(&arn).send().await.gone_ok(&format!("delete IAM policy {arn}"))?;
        }
        Ok(())
    }

    pub(super) async fn role_delete(&self, r: &Record) -> Result<()> {
        let name = &r.key.name;
        let iam = &self.aws.iam;
        let Some(inline) =
            iam.list_role_policies().role_name(name).send().await.found("list role policies")?
        else {
            return Ok(());
        };
        for p in inline.policy_names() {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(p)
                .send()
                .await
                .gone_ok("delete role policy")?;
        }
        if let Some(attached) =
            iam.list_attached_role_policies().role_name(name).send().await.found("list attached policies")?
        {
            for p in attached.attached_policies() {
                if let Some(arn) = p.policy_arn() {
                    iam.detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send()
                        .await
                        .gone_ok("detach role policy")?;
                }
            }
        }
        self.managed_delete(name, 0).await?;
        iam.delete_role().role_name(name).send().await.gone_ok(&format!("delete IAM role {name}"))
    }
}
