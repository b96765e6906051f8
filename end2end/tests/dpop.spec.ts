import { test, expect } from '@playwright/test';
import * as oidc from 'openid-client';
import { ADMIN, hydrated, latchkey, signIn, unique } from './support';

// A maintained client library (openid-client, on oauth4webapi) completes Latchkey's flows as a
// real application would: discovery from the RFC 8414 metadata, code + PKCE + DPoP with a user
// approving in the browser, a DPoP-bound refresh and API call, and the client credentials
// grant. The console's "Require DPoP" setting is checked along the way.

const PASSWORD = 'dpop user passphrase';

function apiUserNamed(prefix: string): string {
  const username = unique(prefix);
  latchkey(['admin', 'create', '--username', username, '--email', `${username}@example.com`, '--site', ADMIN.site, '--api-user-only', '--password-stdin'], `${PASSWORD}\n`);
  return username;
}

async function configFor(baseURL: string, client: { client_id: string; client_secret: string }) {
  return oidc.discovery(new URL(baseURL), client.client_id, client.client_secret, undefined, {
    algorithm: 'oauth2',
    execute: [oidc.allowInsecureRequests], // the test server is plain http on loopback
  });
}

test('openid-client: code + PKCE + DPoP, a bound refresh and API call, for a client the console made require DPoP', async ({ page, baseURL }) => {
  const user = apiUserNamed('dpopuser');
  const name = unique('DPoP app');
  const client = JSON.parse(latchkey(['client', 'create', '--site', ADMIN.site, '--owner', user, '--name', name,
    '--description', 'Keeps its tokens bound to its key.', '--redirect-uri', `https://${user}.example.com/callback`,
    '--accept-terms']));

  // An administrator makes the client require DPoP from its page.
  await signIn(page);
  await page.goto(`/clients?q=${encodeURIComponent(name)}`);
  await hydrated(page);
  await page.getByRole('link', { name }).click();
  await hydrated(page);
  await expect(page.getByTestId('dpop')).toHaveText('Optional');
  await page.getByText('Edit settings').click();
  await page.getByLabel(/Require DPoP/).check();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByText('Settings saved.')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('dpop')).toContainText('Required');
  await page.context().clearCookies();

  const config = await configFor(baseURL!, client);
  expect(config.serverMetadata().dpop_signing_alg_values_supported).toEqual(['ES256', 'EdDSA', 'Ed25519']);

  // The user approves in the browser; the callback is answered inside it.
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authorizeUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirect_uri,
    scope: 'profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  let callback = '';
  await page.route(`${client.redirect_uri}**`, (route) => {
    callback = route.request().url();
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Callback reached</h1>' });
  });
  await page.goto(authorizeUrl.href);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Authorize' }).click();
  await expect(page.getByRole('heading', { name: 'Callback reached' })).toBeVisible();

  // Without a proof the client is refused; with one, it gets DPoP-bound tokens.
  await expect(oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state }))
    .rejects.toMatchObject({ error: 'invalid_dpop_proof' });
  const dpop = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  // The refused request did not consume the code.
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback),
    { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop });
  expect(tokens.token_type).toBe('dpop');

  const me = await oidc.fetchProtectedResource(config, tokens.access_token, new URL(`${baseURL}/api/v1/me`), 'GET',
    undefined, undefined, { DPoP: dpop });
  expect(me.status).toBe(200);
  expect(await me.json()).toMatchObject({ username: user, client_id: client.client_id, scope: 'profile' });

  // The same token as a bearer token is refused.
  const asBearer = await fetch(`${baseURL}/api/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  expect(asBearer.status).toBe(401);

  // The refresh is bound too: another key is refused, the grant's key gets new tokens.
  const otherKey = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('EdDSA'));
  await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: otherKey }))
    .rejects.toMatchObject({ error: 'invalid_dpop_proof' });
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: dpop });
  expect(refreshed.token_type).toBe('dpop');
  const again = await oidc.fetchProtectedResource(config, refreshed.access_token, new URL(`${baseURL}/api/v1/me`), 'GET',
    undefined, undefined, { DPoP: dpop });
  expect(again.status).toBe(200);
});

test('openid-client: the client credentials grant, bearer and DPoP-bound', async ({ baseURL }) => {
  const client = JSON.parse(latchkey(['client', 'create', '--site', ADMIN.site, '--name', unique('Sync job'),
    '--description', 'Copies reports between our servers.', '--redirect-uri', 'https://sync.example.com/unused',
    '--grant-type', 'client_credentials', '--accept-terms']));
  const config = await configFor(baseURL!, client);
  const bearer = await oidc.clientCredentialsGrant(config, { scope: 'profile' });
  expect(bearer.token_type).toBe('bearer');
  expect(bearer.refresh_token).toBeUndefined();
  const me = await oidc.fetchProtectedResource(config, bearer.access_token, new URL(`${baseURL}/api/v1/me`), 'GET');
  expect(await me.json()).toEqual({ client_id: client.client_id, site: ADMIN.site, scope: 'profile' });

  const dpop = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('EdDSA'));
  const bound = await oidc.clientCredentialsGrant(config, { scope: 'profile' }, { DPoP: dpop });
  expect(bound.token_type).toBe('dpop');
  const seen = await oidc.fetchProtectedResource(config, bound.access_token, new URL(`${baseURL}/api/v1/me`), 'GET',
    undefined, undefined, { DPoP: dpop });
  expect(seen.status).toBe(200);
});
