import { test, expect } from '@playwright/test';
import { apiUser, hydrated, signIn, submitConfirmingPassword, unique } from './support';

test('a client credentials client is registered without an owner, gets tokens for itself, and its grant types can be changed', async ({ page, request }) => {
  const owner = apiUser();
  await signIn(page);
  await page.goto('/clients/new');
  await hydrated(page);
  const name = unique('Machine');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill(`${name} syncs reports`);
  await page.getByLabel('Redirect URI').fill('https://machine.example.com/unused');
  await page.getByLabel(/I have read and agree/).check();

  // The authorization code grant (the default) acts for an API user: the owner is needed.
  await expect(page.getByRole('radio', { name: /^Authorization code/ })).toBeChecked();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('#owner-error')).toContainText('Choose the API user this application acts for.');

  // A machine client belongs to the site.
  await page.getByRole('radio', { name: /^Client credentials/ }).check();
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Done' }), page.getByRole('heading', { name }));
  await expect(page.getByTestId('grant-types')).toHaveText('Client credentials');
  await expect(page.getByText('(the site)').first()).toBeVisible();
  const clientId = (await page.getByTestId('consumer-key').textContent())!;
  const secret = (await page.getByTestId('consumer-secret').textContent())!;

  // It asks for a token with its own credentials: no refresh token; the API knows the client.
  const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const issued = await request.post('/oauth/token', { headers: { authorization: basic }, form: { grant_type: 'client_credentials' } });
  expect(issued.status()).toBe(200);
  const tokens = await issued.json();
  expect(tokens.refresh_token).toBeUndefined();
  const me = await request.get('/api/v1/me', { headers: { authorization: `Bearer ${tokens.access_token}` } });
  expect(await me.json()).toEqual({ client_id: clientId, site: 'Acme Corp', scope: 'profile' });

  // Adding the authorization code grant needs an owner; with one it is saved.
  await page.getByText('Edit settings').click();
  const edit = page.locator('form').filter({ has: page.getByRole('button', { name: 'Save settings' }) });
  await edit.getByRole('radio', { name: /^Both/ }).check();
  await edit.getByRole('button', { name: 'Save settings' }).click();
  await expect(edit.locator('#owner-error')).toContainText('choose its owner');
  await edit.getByLabel('API user (owner)').selectOption({ label: owner });
  await edit.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByTestId('grant-types')).toHaveText('Authorization code and client credentials');
  await page.reload();
  await expect(page.getByTestId('grant-types')).toHaveText('Authorization code and client credentials');

  // Back to the authorization code grant alone: its own token stops at once.
  await hydrated(page);
  await page.getByText('Edit settings').click();
  await edit.getByRole('radio', { name: /^Authorization code/ }).check();
  await edit.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByTestId('grant-types')).toHaveText('Authorization code');
  const after = await request.get('/api/v1/me', { headers: { authorization: `Bearer ${tokens.access_token}` } });
  expect(after.status()).toBe(401);
  const refused = await request.post('/oauth/token', { headers: { authorization: basic }, form: { grant_type: 'client_credentials' } });
  expect((await refused.json()).error).toBe('unauthorized_client');
});
