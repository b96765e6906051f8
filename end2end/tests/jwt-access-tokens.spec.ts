import { test, expect } from '@playwright/test';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { hydrated, latchkey, signIn, unique } from './support';

// A site of its own: switching it to JWTs leaves every other test's tokens opaque.
test('a site switched to JWT access tokens in the console issues tokens that jose verifies with the published keys', async ({ page, request, baseURL }) => {
  await signIn(page);
  const site = unique('JwtSite');
  await page.goto('/sites');
  await hydrated(page);
  await page.getByLabel('Site name').fill(site);
  await page.getByRole('button', { name: 'Create site' }).click();
  await expect(page.getByRole('table', { name: 'Sites' })).toContainText(site);
  await page.getByRole('link', { name: site }).click();
  await hydrated(page);

  // The setting states its trade-off where it is chosen.
  const section = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Access token format' }) });
  await expect(section.getByRole('radio', { name: /^Opaque/ })).toBeChecked();
  await expect(section).toContainText('A revoked JWT stays valid for resource servers that only verify its signature, until it expires');
  await section.getByRole('radio', { name: /^JWT/ }).check();
  await section.getByRole('button', { name: 'Save token format' }).click();
  await expect(page.getByText('Access token format saved.')).toBeVisible();
  await page.reload();
  await expect(page.locator('section').filter({ has: page.getByRole('heading', { name: 'Access token format' }) })
    .getByRole('radio', { name: /^JWT/ })).toBeChecked();

  // A machine client of that site gets a JWT.
  const created = JSON.parse(latchkey(['client', 'create', '--site', site, '--name', unique('Exporter'),
    '--description', 'Exports reports', '--redirect-uri', 'https://export.example.com/cb',
    '--grant-type', 'client_credentials', '--accept-terms']));
  const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(created.client_id)}:${encodeURIComponent(created.client_secret)}`).toString('base64');
  const issued = await request.post('/oauth/token', { headers: { authorization: basic }, form: { grant_type: 'client_credentials' } });
  expect(issued.status()).toBe(200);
  const { access_token: jwt } = await issued.json();
  expect(decodeProtectedHeader(jwt)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });

  // A resource server verifies it alone: the metadata's jwks_uri, the issuer, its own URI.
  const metadata = await (await request.get('/.well-known/oauth-authorization-server')).json();
  const keys = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const { payload } = await jwtVerify(jwt, keys, {
    issuer: metadata.issuer,
    audience: `${baseURL}/api/v1`,
    typ: 'at+jwt',
    algorithms: ['ES256', 'EdDSA'],
  });
  expect(payload).toMatchObject({ sub: created.client_id, client_id: created.client_id, site, scope: 'profile' });

  // Latchkey's own API takes it too, until it is revoked.
  const me = await request.get('/api/v1/me', { headers: { authorization: `Bearer ${jwt}` } });
  expect(await me.json()).toEqual({ client_id: created.client_id, site, scope: 'profile' });
  expect((await request.post('/oauth/revoke', { headers: { authorization: basic }, form: { token: jwt } })).status()).toBe(200);
  expect((await request.get('/api/v1/me', { headers: { authorization: `Bearer ${jwt}` } })).status()).toBe(401);
});
