//! Cognito, the built-in `cognito` auth provider on AWS: for each protected resource a user
//! pool, a domain (the token endpoint's host), a resource server with the scope `invoke`, and
//! a machine-to-machine client (client_credentials only, with a generated secret).
//!
//! Only the pool carries tags; its domain, resource server and clients are found through it.
//! Client secrets never enter the state: they are read from Cognito when needed.

use super::{AwsCloud, input, input_str, output, recorded_id};
use crate::kind;
use crate::sdk::SdkResult;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, DomainStatusType, OAuthFlowType, ResourceServerScopeType,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mcpkit_engine::{Desired, Inputs, Key, Live, Record};
use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::names;
use mcpkit_workspace::secret::Secret;
use serde_json::json;
use std::time::{Duration, Instant};

impl AwsCloud {
    fn pool_live(&self, id: &str, arn: Option<&str>) -> Live {
        Live {
            id: id.to_string(),
            outputs: json!({
                "pool_id": id,
                "arn": arn,
                "discovery_url": names::cognito_discovery_url(&self.aws.cognito_base, id),
            }),
        }
    }

    /// This project's pool of that name, if one exists (pool names need not be unique, so a
    /// pool of someone else's with the same name is no conflict).
    async fn find_pool(&self, key: &Key) -> Result<Option<String>> {
        let mut pools = self.aws.cognito.list_user_pools().max_results(60).into_paginator().items().send();
        while let Some(p) = pools.next().await {
            let p = p.ctx("list Cognito user pools")?;
            if p.name() != Some(names::physical(&key.name)) {
                continue;
            }
            let Some(id) = p.id() else { continue };
            let d = self.aws.cognito.describe_user_pool().user_pool_id(id).send().await;
            if let Some(d) = d.found("read Cognito user pool")? {
                let tags = d.user_pool().and_then(|p| p.user_pool_tags());
                if tags.is_some_and(|t| self.ours(key, t.iter())) {
                    return Ok(Some(id.to_string()));
                }
            }
        }
        Ok(None)
    }

    pub(super) async fn pool_read(&self, key: &Key, recorded: Option<&Record>) -> Result<Option<Live>> {
        let id = match recorded_id(recorded) {
            Some(id) => id.to_string(),
            None => match self.find_pool(key).await? {
                Some(id) => id,
                None => return Ok(None),
            },
        };
        let out = self.aws.cognito.describe_user_pool().user_pool_id(&id).send().await;
        Ok(out
            .found("read Cognito user pool")?
            .map(|o| self.pool_live(&id, o.user_pool().and_then(|p| p.arn()))))
    }

    pub(super) async fn pool_create(&self, d: &Desired) -> Result<Live> {
        let out = self
            .aws
            .cognito
            .create_user_pool()
            .pool_name(names::physical(&d.key.name))
            .admin_create_user_config(
                AdminCreateUserConfigType::builder().allow_admin_create_user_only(true).build(),
            )
            .set_user_pool_tags(Some(self.tags(&d.key)))
            .send()
            .await
            .ctx(&format!("create Cognito user pool {}", d.key.name))?;
        let pool = out.user_pool().ok_or_else(|| Error::world("Cognito returned no user pool"))?;
        let id = pool.id().unwrap_or_default();
        Ok(self.pool_live(id, pool.arn()))
    }

    pub(super) async fn pool_update(&self, _d: &Desired, current: &Record) -> Result<Live> {
        // Nothing of a pool's configuration changes after creation, and a pool is only ever
        // found (adopted) by its tags, so it has them already.
        Ok(self.pool_live(&current.id, output(Some(current), "arn").as_deref()))
    }

    pub(super) async fn pool_delete(&self, r: &Record) -> Result<()> {
        let c = &self.aws.cognito;
        let Some(out) =
            c.describe_user_pool().user_pool_id(&r.id).send().await.found("read Cognito user pool")?
        else {
            return Ok(());
        };
        // A domain left by an interrupted run would block the delete.
        if let Some(domain) = out.user_pool().and_then(|p| p.domain()) {
            c.delete_user_pool_domain()
                .domain(domain)
                .user_pool_id(&r.id)
                .send()
                .await
                .gone_ok("delete Cognito domain")?;
        }
        // A pool whose domain was deleted a moment ago can still refuse with
        // InvalidParameterException ("It has a domain configured that should be deleted
        // first") while the domain's deletion settles; AWS's starter toolkit waits 5 s there.
        let start = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let res = c.delete_user_pool().user_pool_id(&r.id).send().await;
            match res {
                Err(e)
                    if crate::sdk::code(&e) == Some("InvalidParameterException")
                        && e.message().is_some_and(|m| m.contains("domain"))
                        && start.elapsed() + delay < Duration::from_secs(60) =>
                {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                other => return other.gone_ok(&format!("delete Cognito user pool {}", r.id)),
            }
        }
    }

    fn domain_live(&self, pool_id: &str, prefix: &str) -> Live {
        Live {
            id: prefix.to_string(),
            outputs: json!({
                "pool_id": pool_id,
                "domain": prefix,
                "token_endpoint": names::cognito_domain_token_endpoint(prefix, &self.aws.region),
            }),
        }
    }

    pub(super) async fn domain_read(
        &self,
        recorded: Option<&Record>,
        inputs: &Inputs,
    ) -> Result<Option<Live>> {
        let pool_id = pool_of(recorded, inputs)?;
        let out = self.aws.cognito.describe_user_pool().user_pool_id(&pool_id).send().await;
        let Some(out) = out.found("read Cognito user pool")? else { return Ok(None) };
        Ok(out.user_pool().and_then(|p| p.domain()).map(|prefix| self.domain_live(&pool_id, prefix)))
    }

    pub(super) async fn domain_create(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let pool_id = input_str(inputs, kind::POOL, "pool_id")?;
        let suffix = format!("{:08x}", rand::random::<u32>());
        let prefix = names::cognito_domain(names::physical(&d.key.name), &suffix);
        self.aws
            .cognito
            .create_user_pool_domain()
            .domain(&prefix)
            .user_pool_id(&pool_id)
            .send()
            .await
            .ctx(&format!("create Cognito domain {prefix}"))?;
        // "Your prefix domain might take up to one minute to take effect."
        let start = Instant::now();
        loop {
            let out = self
                .aws
                .cognito
                .describe_user_pool_domain()
                .domain(&prefix)
                .send()
                .await
                .ctx("read Cognito domain")?;
            let status = out.domain_description().and_then(|d| d.status());
            match status {
                Some(DomainStatusType::Active) => break,
                Some(DomainStatusType::Failed) => {
                    return Err(Error::world(format!("Cognito domain {prefix} failed to activate")));
                }
                _ if start.elapsed() > Duration::from_secs(120) => {
                    return Err(Error::world(format!(
                        "Cognito domain {prefix} is not active after 2 minutes"
                    )));
                }
                _ => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        Ok(self.domain_live(&pool_id, &prefix))
    }

    pub(super) async fn domain_update(&self, current: &Record) -> Result<Live> {
        let pool_id = output(Some(current), "pool_id").unwrap_or_default();
        Ok(self.domain_live(&pool_id, &current.id))
    }

    pub(super) async fn domain_delete(&self, r: &Record) -> Result<()> {
        let pool_id = output(Some(r), "pool_id").unwrap_or_default();
        let res =
            self.aws.cognito.delete_user_pool_domain().domain(&r.id).user_pool_id(&pool_id).send().await;
        match res {
            // Cognito answers InvalidParameter for a domain (or pool) that is gone.
            Err(e) if crate::sdk::code(&e) == Some("InvalidParameterException") => Ok(()),
            other => other.gone_ok(&format!("delete Cognito domain {}", r.id)),
        }
    }

    pub(super) async fn resource_server_read(
        &self,
        key: &Key,
        recorded: Option<&Record>,
        inputs: &Inputs,
    ) -> Result<Option<Live>> {
        let pool_id = pool_of(recorded, inputs)?;
        let out = self
            .aws
            .cognito
            .describe_resource_server()
            .user_pool_id(&pool_id)
            .identifier(names::physical(&key.name))
            .send()
            .await
            .found("read Cognito resource server")?;
        let identifier = names::physical(&key.name);
        Ok(out.map(|_| Live {
            id: identifier.to_string(),
            outputs: json!({ "pool_id": pool_id, "identifier": identifier }),
        }))
    }

    pub(super) async fn resource_server_put(
        &self,
        d: &Desired,
        inputs: &Inputs,
        create: bool,
    ) -> Result<Live> {
        let pool_id = input_str(inputs, kind::POOL, "pool_id")?;
        let scopes: Vec<ResourceServerScopeType> = d.config["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
            .map(|s| {
                ResourceServerScopeType::builder()
                    .scope_name(s)
                    .scope_description(format!("{s} {}", names::physical(&d.key.name)))
                    .build()
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::world(format!("internal: {e}")))?;
        let c = &self.aws.cognito;
        let identifier = names::physical(&d.key.name);
        let what = format!("put Cognito resource server {identifier}");
        if create {
            c.create_resource_server()
                .user_pool_id(&pool_id)
                .identifier(identifier)
                .name(identifier)
                .set_scopes(Some(scopes))
                .send()
                .await
                .ctx(&what)?;
        } else {
            c.update_resource_server()
                .user_pool_id(&pool_id)
                .identifier(identifier)
                .name(identifier)
                .set_scopes(Some(scopes))
                .send()
                .await
                .ctx(&what)?;
        }
        Ok(Live {
            id: identifier.to_string(),
            outputs: json!({ "pool_id": pool_id, "identifier": identifier }),
        })
    }

    pub(super) async fn resource_server_delete(&self, r: &Record) -> Result<()> {
        let pool_id = output(Some(r), "pool_id").unwrap_or_default();
        self.aws
            .cognito
            .delete_resource_server()
            .user_pool_id(&pool_id)
            .identifier(&r.id)
            .send()
            .await
            .gone_ok("delete Cognito resource server")
    }

    fn client_live(pool_id: &str, client_id: &str) -> Live {
        Live { id: client_id.to_string(), outputs: json!({ "pool_id": pool_id, "client_id": client_id }) }
    }

    pub(super) async fn client_read(
        &self,
        key: &Key,
        recorded: Option<&Record>,
        inputs: &Inputs,
    ) -> Result<Option<Live>> {
        let pool_id = pool_of(recorded, inputs)?;
        if let Some(id) = recorded_id(recorded) {
            let out = self
                .aws
                .cognito
                .describe_user_pool_client()
                .user_pool_id(&pool_id)
                .client_id(id)
                .send()
                .await;
            return Ok(out.found("read Cognito client")?.map(|_| Self::client_live(&pool_id, id)));
        }
        let mut clients = self
            .aws
            .cognito
            .list_user_pool_clients()
            .user_pool_id(&pool_id)
            .max_results(60)
            .into_paginator()
            .items()
            .send();
        while let Some(c) = clients.next().await {
            // The pool gone: so is the client.
            let Some(c) = c.found("list Cognito clients")? else { return Ok(None) };
            if c.client_name() == Some(names::physical(&key.name)) {
                return Ok(c.client_id().map(|id| Self::client_live(&pool_id, id)));
            }
        }
        Ok(None)
    }

    fn client_scopes(d: &Desired) -> Vec<String> {
        d.config["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect()
    }

    pub(super) async fn client_create(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let pool_id = input_str(inputs, kind::POOL, "pool_id")?;
        let out = self
            .aws
            .cognito
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name(names::physical(&d.key.name))
            .generate_secret(true)
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .set_allowed_o_auth_scopes(Some(Self::client_scopes(d)))
            .allowed_o_auth_flows_user_pool_client(true)
            .supported_identity_providers("COGNITO")
            .send()
            .await
            .ctx(&format!("create Cognito client {}", d.key.name))?;
        let id = out.user_pool_client().and_then(|c| c.client_id()).unwrap_or_default();
        Ok(Self::client_live(&pool_id, id))
    }

    pub(super) async fn client_update(&self, d: &Desired, current: &Record, inputs: &Inputs) -> Result<Live> {
        let pool_id = input_str(inputs, kind::POOL, "pool_id")?;
        self.aws
            .cognito
            .update_user_pool_client()
            .user_pool_id(&pool_id)
            .client_id(&current.id)
            .client_name(names::physical(&d.key.name))
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .set_allowed_o_auth_scopes(Some(Self::client_scopes(d)))
            .allowed_o_auth_flows_user_pool_client(true)
            .supported_identity_providers("COGNITO")
            .send()
            .await
            .ctx(&format!("update Cognito client {}", d.key.name))?;
        Ok(Self::client_live(&pool_id, &current.id))
    }

    pub(super) async fn client_delete(&self, r: &Record) -> Result<()> {
        let pool_id = output(Some(r), "pool_id").unwrap_or_default();
        self.aws
            .cognito
            .delete_user_pool_client()
            .user_pool_id(&pool_id)
            .client_id(&r.id)
            .send()
            .await
            .gone_ok("delete Cognito client")
    }

    /// A client's secret, read from Cognito (never kept in the state).
    pub async fn client_secret(&self, client: &Live) -> Result<Secret> {
        client_secret(&self.aws, client).await
    }

    /// The pool id and client id of the Cognito leg in `inputs`.
    pub(super) fn cognito_leg(inputs: &Inputs) -> Result<(String, String)> {
        let pool = input_str(inputs, kind::POOL, "discovery_url")?;
        let client = input(inputs, kind::CLIENT)
            .map(|l| l.id.clone())
            .ok_or_else(|| Error::world("internal: the Cognito client this step needs is missing"))?;
        Ok((pool, client))
    }
}

/// The pool a pool's sub-resource lives in: recorded with it, or the pool it depends on.
fn pool_of(recorded: Option<&Record>, inputs: &Inputs) -> Result<String> {
    match output(recorded, "pool_id") {
        Some(p) => Ok(p),
        None => input_str(inputs, kind::POOL, "pool_id"),
    }
}

/// A Cognito client's secret (`client` is the client's recorded outputs).
pub async fn client_secret(aws: &crate::sdk::Aws, client: &Live) -> Result<Secret> {
    let pool_id = client.outputs["pool_id"].as_str().unwrap_or_default();
    let out = aws
        .cognito
        .describe_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(&client.id)
        .send()
        .await
        .ctx("read Cognito client")?;
    out.user_pool_client()
        .and_then(|c| c.client_secret())
        .map(Secret::new)
        .ok_or_else(|| Error::world(format!("Cognito client {} has no secret", client.id)))
}
