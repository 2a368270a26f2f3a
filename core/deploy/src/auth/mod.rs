//! Auth shared by every target: OAuth2 client credentials (the client side), and JWT
//! authorizers (the resource-server side), as AgentCore's `customJWTAuthorizer` does them.

pub mod jwt;
pub mod oauth;
pub mod plugin;
pub mod providers;
pub mod trust;
