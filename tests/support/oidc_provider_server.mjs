// An independent OpenID Connect server for the broker's integration tests: panva's oidc-provider (certified
// OpenID Connect Core), not a stand-in of ours. One confidential client is registered for govern: authorization
// code with PKCE (S256), refresh tokens through offline_access (which, per OpenID Connect Core section 11, the
// provider honours only when prompt=consent is sent), RFC 7009 revocation, RFC 7662 introspection and a short
// access token TTL so refreshing can be exercised.
//
// Interactions complete themselves: /interaction/<uid> signs the test user in and grants exactly what was asked,
// so a test drives the whole flow by following redirects.
//
// Revoking a refresh token leaves the access tokens already issued alive (RFC 7009 section 2.1 lets a server do either;
// oidc-provider revokes every token of the grant by default, many networks do not): the grant stays
// (revokeGrantPolicy) and no token is revoked through its grant, so govern must revoke the access token itself.
//
// Usage: node oidc_provider_server.mjs '<json settings>'; prints one JSON line {"issuer": ...} once it listens.

import http from 'node:http';
import crypto from 'node:crypto';

import Provider from 'oidc-provider';

const settings = {
  client_id: 'govern-oidc-test',
  client_secret: 'oidc-client-secret',
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_post',
  access_token_ttl: 60,
  refresh_token_ttl: 86400,
  rotate_refresh_tokens: true,
  subject: 'oidc-user-1',
  name: 'OIDC Test User',
  ...JSON.parse(process.argv[2] || '{}'),
};

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: settings.client_id,
    client_secret: settings.client_secret,
    redirect_uris: settings.redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: settings.token_endpoint_auth_method,
  }],
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile'],
  claims: { openid: ['sub'], profile: ['name'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
  },
  ttl: {
    AccessToken: settings.access_token_ttl,
    RefreshToken: settings.refresh_token_ttl,
    AuthorizationCode: 60,
    Grant: settings.refresh_token_ttl,
    Interaction: 600,
    Session: 3600,
  },
  rotateRefreshToken: () => settings.rotate_refresh_tokens,
  revokeGrantPolicy: () => false,
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub, name: settings.name }; } };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
for (const model of [provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode]) {
  model.revokeByGrantId = async () => {};
}
provider.on('server_error', (ctx, error) => console.error('server_error', error));

async function completeInteraction(req, res) {
  const interaction = await provider.interactionDetails(req, res);
  const { prompt, params, session } = interaction;
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: settings.subject } }, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name !== 'consent') {
    throw new Error(`no automatic answer to the ${prompt.name} prompt`);
  }
  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: interaction.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    completeInteraction(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
    return;
  }
  callback(req, res);
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
