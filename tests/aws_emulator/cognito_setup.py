"""Creates a Cognito user pool with a domain and a machine-to-machine client in the emulator and prints
what an OIDC client needs, as JSON. Usage: python cognito_setup.py ENDPOINT_URL NAME"""

import json
import sys

import boto3

endpoint, name = sys.argv[1], sys.argv[2]
idp = boto3.client(
    "cognito-idp",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
pool = idp.create_user_pool(PoolName=f"{name}-pool")["UserPool"]["Id"]
# A pool serves its OAuth endpoints (and announces `token_endpoint`) only once it has a domain.
idp.create_user_pool_domain(Domain=f"{name}-{pool.split('_')[1][:8].lower()}", UserPoolId=pool)
idp.create_resource_server(
    UserPoolId=pool, Identifier=f"{name}-id", Name=f"{name}-id", Scopes=[{"ScopeName": "invoke", "ScopeDescription": "invoke"}]
)
client = idp.create_user_pool_client(
    UserPoolId=pool,
    ClientName=f"{name}-client",
    GenerateSecret=True,
    AllowedOAuthFlows=["client_credentials"],
    AllowedOAuthScopes=[f"{name}-id/invoke"],
    AllowedOAuthFlowsUserPoolClient=True,
    SupportedIdentityProviders=["COGNITO"],
)["UserPoolClient"]
print(json.dumps({
    "pool_id": pool,
    "client_id": client["ClientId"],
    "client_secret": client["ClientSecret"],
    "scope": f"{name}-id/invoke",
    "discovery_url": f"{endpoint}/{pool}/.well-known/openid-configuration",
}))
