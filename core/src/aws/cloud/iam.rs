//! IAM roles: a trust policy, one inline policy named `mcpkit`, mcpkit's tags. Nothing is
//! attached from outside, so deleting a role means deleting what mcpkit put on it (and
//! whatever someone attached since, which would otherwise block the delete).

use super::{AwsCloud, recorded_id};
use crate::aws::sdk::SdkResult;
use crate::engine::{Desired, Key, Live, Record};
use crate::error::Result;
use serde_json::json;

const POLICY_NAME: &str = "mcpkit";

fn live(arn: &str, name: &str) -> Live {
    Live { id: arn.to_string(), outputs: json!({ "arn": arn, "name": name }) }
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
        let trust = d.config["trust"].to_string();
        let policy = d.config["policy"].to_string();
        let description = d.config["description"].as_str().unwrap_or("mcpkit");
        let tags: Vec<aws_sdk_iam::types::Tag> = self
            .tags(&d.key)
            .into_iter()
            .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| crate::Error::world(format!("internal: {e}")))?;
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
            out.role().map(|r| r.arn().to_string()).unwrap_or_default()
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
            out.role().map(|r| r.arn().to_string()).unwrap_or_default()
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
        Ok(live(&arn, name))
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
        iam.delete_role().role_name(name).send().await.gone_ok(&format!("delete IAM role {name}"))
    }
}
