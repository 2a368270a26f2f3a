//! Cognito, the built-in `cognito` auth provider on AWS: for each protected resource a user
//! pool, a domain (the token endpoint's host), a resource server with the scope `invoke`, and
//! a machine-to-machine client (client_credentials only, with a generated secret).
//!
//! Only the pool carries tags; its domain, resource server and clients are found through it.
//! Client secrets never enter the state: they are read from Cognito when needed.

use super::{AwsCloud, recorded_id};
use crate::resources::{
    self as res, ClientConfig, ClientOut, DomainOut, PoolOut, ResourceServerConfig, ResourceServerOut,
};
use crate::sdk::SdkResult;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, DomainStatusType, OAuthFlowType, ResourceServerScopeType, TimeUnitsType,
    TokenValidityUnitsType,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mcpkit_engine::{Desired, Inputs, Key, Live, Record};
use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::names;
use mcpkit_workspace::secret::Secret;
use std::time::{Duration, Instant};

impl AwsCloud {
    fn pool_live(&self, id: &str, arn: Option<&str>) -> Live {
        res::Outputs::live(
            &PoolOut {
                pool_id: id.to_string(),
                arn: arn.map(String::from),
                discovery_url: names::cognito_discovery_url(&self.aws.cognito_base, id),
            },
            id,
        )
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
        let arn = res::recorded::<PoolOut>(Some(current))?.and_then(|p| p.arn);
        Ok(self.pool_live(&current.id, arn.as_deref()))
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
        res::Outputs::live(
            &DomainOut {
                pool_id: pool_id.to_string(),
                domain: prefix.to_string(),
                token_endpoint: names::cognito_domain_token_endpoint(prefix, &self.aws.region),
            },
            prefix,
        )
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
        let pool_id = res::need::<PoolOut>(inputs)?.pool_id;
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

    pub(super) async fn domain_update(&self, current: &Record, inputs: &Inputs) -> Result<Live> {
        let pool_id = pool_of(Some(current), inputs)?;
        Ok(self.domain_live(&pool_id, &current.id))
    }

    pub(super) async fn domain_delete(&self, r: &Record) -> Result<()> {
        // A domain whose create never finished was recorded without its pool: the pool's
        // delete removes a domain left behind.
        let Some(DomainOut { pool_id, .. }) = res::recorded(Some(r))? else { return Ok(()) };
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
        Ok(out.map(|_| {
            res::Outputs::live(&ResourceServerOut { pool_id, identifier: identifier.to_string() }, identifier)
        }))
    }

    pub(super) async fn resource_server_put(
        &self,
        d: &Desired,
        inputs: &Inputs,
        create: bool,
    ) -> Result<Live> {
        let pool_id = res::need::<PoolOut>(inputs)?.pool_id;
        let config: ResourceServerConfig = res::config(d)?;
        let scopes: Vec<ResourceServerScopeType> = config
            .scopes
            .iter()
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
        Ok(res::Outputs::live(&ResourceServerOut { pool_id, identifier: identifier.to_string() }, identifier))
    }

    pub(super) async fn resource_server_delete(&self, r: &Record) -> Result<()> {
        // Never finished: nothing recorded; the pool's delete takes it.
        let Some(ResourceServerOut { pool_id, .. }) = res::recorded(Some(r))? else { return Ok(()) };
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
        res::Outputs::live(
            &ClientOut { pool_id: pool_id.to_string(), client_id: client_id.to_string() },
            client_id,
        )
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

    fn client_scopes(d: &Desired) -> Result<Vec<String>> {
        Ok(res::config::<ClientConfig>(d)?.scopes)
    }

    /// The access-token validity, in seconds: sent on create and on every update alike,
    /// because UpdateUserPoolClient resets what it is not given to Cognito's default.
    fn client_validity(d: &Desired) -> Result<(Option<i32>, Option<TokenValidityUnitsType>)> {
        Ok(match res::config::<ClientConfig>(d)?.token_lifetime_s {
            Some(s) => (
                Some(i32::try_from(s).unwrap_or(i32::MAX)),
                Some(TokenValidityUnitsType::builder().access_token(TimeUnitsType::Seconds).build()),
            ),
            None => (None, None),
        })
    }

    pub(super) async fn client_create(&self, d: &Desired, inputs: &Inputs) -> Result<Live> {
        let pool_id = res::need::<PoolOut>(inputs)?.pool_id;
        let (validity, units) = Self::client_validity(d)?;
        let out = self
            .aws
            .cognito
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name(names::physical(&d.key.name))
            .generate_secret(true)
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .set_allowed_o_auth_scopes(Some(Self::client_scopes(d)?))
            .set_access_token_validity(validity)
            .set_token_validity_units(units)
            .allowed_o_auth_flows_user_pool_client(true)
            .supported_identity_providers("COGNITO")
            .send()
            .await
            .ctx(&format!("create Cognito client {}", d.key.name))?;
        let id = out
            .user_pool_client()
            .and_then(|c| c.client_id())
            .ok_or_else(|| Error::world(format!("Cognito made client {} but returned no id", d.key.name)))?;
        Ok(Self::client_live(&pool_id, id))
    }

    pub(super) async fn client_update(&self, d: &Desired, current: &Record, inputs: &Inputs) -> Result<Live> {
        let pool_id = res::need::<PoolOut>(inputs)?.pool_id;
        let (validity, units) = Self::client_validity(d)?;
        self.aws
            .cognito
            .update_user_pool_client()
            .user_pool_id(&pool_id)
            .client_id(&current.id)
            .client_name(names::physical(&d.key.name))
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .set_allowed_o_auth_scopes(Some(Self::client_scopes(d)?))
            .set_access_token_validity(validity)
            .set_token_validity_units(units)
            .allowed_o_auth_flows_user_pool_client(true)
            .supported_identity_providers("COGNITO")
            .send()
            .await
            .ctx(&format!("update Cognito client {}", d.key.name))?;
        Ok(Self::client_live(&pool_id, &current.id))
    }

    pub(super) async fn client_delete(&self, r: &Record) -> Result<()> {
        // Never finished: nothing recorded; the pool's delete takes it.
        let Some(ClientOut { pool_id, .. }) = res::recorded(Some(r))? else { return Ok(()) };
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
    pub async fn client_secret(&self, client: &ClientOut) -> Result<Secret> {
        client_secret(&self.aws, client).await
    }

    /// The discovery URL and client id of the Cognito leg in `inputs`.
    pub(super) fn cognito_leg(inputs: &Inputs) -> Result<(String, String)> {
        Ok((res::need::<PoolOut>(inputs)?.discovery_url, res::need::<ClientOut>(inputs)?.client_id))
    }
}

/// The pool a pool's sub-resource lives in: recorded with it, or the pool it depends on.
fn pool_of(recorded: Option<&Record>, inputs: &Inputs) -> Result<String> {
    use serde::Deserialize;
    #[derive(Deserialize)]
    struct InPool {
        pool_id: String,
    }
    match recorded.and_then(|r| InPool::deserialize(&r.outputs).ok()) {
        Some(p) => Ok(p.pool_id),
        None => Ok(res::need::<PoolOut>(inputs)?.pool_id),
    }
}

/// A Cognito client's secret (`client` is the client's recorded outputs).
pub async fn client_secret(aws: &crate::sdk::Aws, client: &ClientOut) -> Result<Secret> {
    let out = aws
        .cognito
        .describe_user_pool_client()
        .user_pool_id(&client.pool_id)
        .client_id(&client.client_id)
        .send()
        .await
        .ctx("read Cognito client")?;
    out.user_pool_client()
        .and_then(|c| c.client_secret())
        .map(Secret::new)
        .ok_or_else(|| Error::world(format!("Cognito client {} has no secret", client.client_id)))
}
