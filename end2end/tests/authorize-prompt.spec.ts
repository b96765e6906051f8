import { test, expect, Page } from '@playwright/test';
import { ADMIN, latchkey, unique } from './support';

interface Client { client_id: string; client_secret: string; redirect_uri: string }

function registerClient(owner: string): Client {
  const host = `${owner}.example.com`;
  return JSON.parse(latchkey([
    'client', 'create', '--site', ADMIN.site, '--owner', owner, '--name', `Reports for ${owner}`,
    '--description', 'Builds weekly reports from your profile.', '--redirect-uri', `https://${host}/callback`,
    '--accept-terms',
  ]));
}

function apiUserNamed(prefix: string): string {
  const username = unique(prefix);
  latchkey(['admin', 'create', '--username', username, '--email', `${username}@example.com`, '--site', ADMIN.site, '--api-user-only', '--password-stdin'], 'prompt user passphrase\n');
  return username;
}

/** The client's redirect URI is not reachable from here: answer it inside the browser. */
async function interceptCallback(page: Page, client: Client) {
  await page.route(`${client.redirect_uri}**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Callback reached</h1>' }));
}

function authorizeUrl(client: Client, state: string): string {
  const q = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uri, scope: 'profile', state });
  return `/oauth/authorize?${q}`;
}

test('Authorize sends the browser back with a code and the state', async ({ page }) => {
  const user = apiUserNamed('prompt');
  const client = registerClient(user);
  await interceptCallback(page, client);
  await page.goto(authorizeUrl(client, 'xyz-123'));
  await expect(page.getByRole('heading', { name: `Authorize Reports for ${user}` })).toBeVisible();
  await expect(page.getByTestId('prompt-site')).toHaveText(ADMIN.site);
  await expect(page.getByTestId('prompt-description')).toHaveText('Builds weekly reports from your profile.');
  await expect(page.getByTestId('prompt-scopes')).toContainText('profile');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill('prompt user passphrase');
  await page.getByRole('button', { name: 'Authorize' }).click();
  await expect(page.getByRole('heading', { name: 'Callback reached' })).toBeVisible();
  const url = new URL(page.url());
  expect(url.origin + url.pathname).toBe(client.redirect_uri);
  expect(url.searchParams.get('code')).toMatch(/^lkac_/);
  expect(url.searchParams.get('state')).toBe('xyz-123');
});

test('Deny sends the browser back with access_denied', async ({ page }) => {
  const user = apiUserNamed('denier');
  const client = registerClient(user);
  await interceptCallback(page, client);
  await page.goto(authorizeUrl(client, 'no-thanks'));
  await page.getByRole('button', { name: 'Deny' }).click();
  await expect(page.getByRole('heading', { name: 'Callback reached' })).toBeVisible();
  const url = new URL(page.url());
  expect(url.searchParams.get('error')).toBe('access_denied');
  expect(url.searchParams.get('state')).toBe('no-thanks');
  expect(url.searchParams.get('code')).toBeNull();
});

test('a wrong password shows the prompt again with an error', async ({ page }) => {
  const user = apiUserNamed('typo');
  const client = registerClient(user);
  await page.goto(authorizeUrl(client, 's'));
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill('not my password');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/oauth/authorize') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Authorize' }).click(),
  ]);
  expect(response.status()).toBe(401);
  await expect(page.getByRole('alert')).toContainText('Incorrect username or password');
  await expect(page.getByLabel('Username')).toHaveValue(user);
  await expect(page.getByRole('heading', { name: `Authorize Reports for ${user}` })).toBeVisible();
});

test('a redirect URI that does not match shows an error page and never redirects', async ({ page }) => {
  const user = apiUserNamed('mismatch');
  const client = registerClient(user);
  const response = await page.goto(authorizeUrl({ ...client, redirect_uri: 'https://evil.example.com/callback' }, 's'));
  expect(response?.status()).toBe(400);
  await expect(page.getByTestId('oauth-error')).toContainText('redirect_uri does not match');
  expect(new URL(page.url()).pathname).toBe('/oauth/authorize');
});
