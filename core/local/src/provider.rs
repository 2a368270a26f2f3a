//! The built-in `local` auth provider: identities in the local issuer, laid out like Cognito
//! (see [`super::identity`]). It needs the target's context: the workspace folder (where the
//! identities live) and the issuer's base URL.

use super::identity::Identities;
use super::paths::LocalPaths;
use super::plan;
use mcpkit_deploy::auth::oauth::{ClientCredentials, client_credentials};
use mcpkit_plugin_api::{
    AuthProvider, Authorizer, Client, Description, PluginError, ProvisionRequest, ProvisionResponse,
    ResourceKind, ResourceRequest, TokenResponse,
};
use mcpkit_workspace::secret::Secret;
use std::path::PathBuf;

pub struct LocalProvider;

fn kind(k: &ResourceKind) -> &'static str {
    match k {
        ResourceKind::Gateway => "gateway",
        ResourceKind::Runtime => "runtime",
    }
}

fn context(ctx: &serde_json::Map<String, serde_json::Value>) -> Result<(LocalPaths, String), PluginError> {
    let ws = ctx.get("workspace").and_then(|v| v.as_str());
    let base = ctx.get("base_url").and_then(|v| v.as_str());
    match (ws, base) {
        (Some(ws), Some(base)) => Ok((LocalPaths::new(&PathBuf::from(ws)), base.to_string())),
        _ => Err(PluginError::input("the `local` provider only works on the local target")),
    }
}

impl AuthProvider for LocalProvider {
    fn describe(&self) -> Description {
        mcpkit_deploy::auth::providers::builtin_description("local").expect("`local` is a built-in")
    }

    fn provision(&self, r: ProvisionRequest) -> Result<ProvisionResponse, PluginError> {
        let (paths, base) = context(&r.context)?;
        let mut ids = Identities::load(&paths.identities()).map_err(|e| PluginError::world(e.to_string()))?;
        let (created, realm) = ids.ensure(kind(&r.resource.kind), &r.resource.name);
        if created {
            ids.save(&paths.identities()).map_err(|e| PluginError::world(e.to_string()))?;
        }
        Ok(ProvisionResponse {
            authorizer: Authorizer::Jwt {
                discovery_url: plan::discovery_url(&base, &realm.id),
                allowed_clients: vec![realm.client_id.clone()],
                allowed_audience: vec![],
                allowed_scopes: vec![],
            },
            client: Some(Client {
                client_id: realm.client_id.clone(),
                client_secret: realm.client_secret.clone(),
                token_endpoint: plan::token_endpoint(&base, &realm.id),
                scopes: vec![realm.scope.clone()],
            }),
            state: serde_json::json!({ "pool_id": realm.id, "pool": realm.pool }),
        })
    }

    fn token(&self, r: ResourceRequest) -> Result<TokenResponse, PluginError> {
        let (paths, base) = context(&r.context)?;
        let ids = Identities::load(&paths.identities()).map_err(|e| PluginError::world(e.to_string()))?;
        let realm = ids.find(kind(&r.resource.kind), &r.resource.name).ok_or_else(|| {
            PluginError::world(format!("no identity for `{}`; run `mcpkit deploy`", r.resource.name))
        })?;
        let creds = ClientCredentials {
            token_endpoint: plan::token_endpoint(&base, &realm.id),
            client_id: realm.client_id.clone(),
            client_secret: Secret::new(realm.client_secret.clone()),
            scope: realm.scope.clone(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PluginError::world(e.to_string()))?;
        let t = rt.block_on(client_credentials(&creds)).map_err(|e| PluginError::world(e.to_string()))?;
        let expires_in =
            t.expires_at.duration_since(std::time::SystemTime::now()).map(|d| d.as_secs()).unwrap_or(0);
        Ok(TokenResponse { access_token: t.access_token.expose().to_string(), expires_in })
    }

    fn teardown(&self, r: ResourceRequest) -> Result<(), PluginError> {
        let (paths, _) = context(&r.context)?;
        let mut ids = Identities::load(&paths.identities()).map_err(|e| PluginError::world(e.to_string()))?;
        if ids.remove(kind(&r.resource.kind), &r.resource.name) {
            ids.save(&paths.identities()).map_err(|e| PluginError::world(e.to_string()))?;
        }
        Ok(())
    }
}
