import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { readFileSync } from 'fs';
import { ADMIN, latchkey, signIn, unique } from './support';

interface Client { client_id: string; client_secret: string; redirect_uri: string }

const PASSWORD = 'audit user passphrase';

/** An API user and a client registered for them through the CLI. */
function clientForNewUser(prefix: string): { user: string; client: Client; name: string } {
  const user = unique(prefix);
  latchkey(['admin', 'create', '--username', user, '--email', `${user}@example.com`, '--site', ADMIN.site, '--api-user-only', '--password-stdin'], `${PASSWORD}\n`);
  const name = `Usage for ${user}`;
  const client: Client = JSON.parse(latchkey([
    'client', 'create', '--site', ADMIN.site, '--owner', user, '--name', name,
    '--description', 'Counts things.', '--redirect-uri', `https://${user}.example.com/callback`, '--accept-terms',
  ]));
  return { user, client, name };
}

/** Walks the authorization prompt in the browser and exchanges the code over HTTP. */
async function tokensFor(page: Page, request: APIRequestContext, user: string, client: Client) {
  await page.route(`${client.redirect_uri}**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Callback reached</h1>' }));
  const q = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uri, scope: 'profile', state: 's' });
  await page.goto(`/oauth/authorize?${q}`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Authorize' }).click();
  await expect(page.getByRole('heading', { name: 'Callback reached' })).toBeVisible();
  const code = new URL(page.url()).searchParams.get('code') ?? '';
  const response = await tokenRequest(request, client, { grant_type: 'authorization_code', code, redirect_uri: client.redirect_uri });
  expect(response.status()).toBe(200);
  return response.json();
}

function tokenRequest(request: APIRequestContext, client: Client, form: Record<string, string>) {
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
  return request.post('/oauth/token', { form, headers: { Authorization: `Basic ${basic}` } });
}

test('an action shows up in the Audit Log, filters narrow it, and Export CSV downloads it', async ({ page }) => {
  const { client, name } = clientForNewUser('audited');
  await signIn(page);
  await page.goto(`/clients?q=${client.client_id}`);
  await page.getByRole('link', { name }).click();
  await page.getByRole('link', { name: 'Disable…' }).click();
  await page.getByRole('button', { name: 'Disable client' }).click();
  await expect(page.getByRole('heading', { name })).toContainText('Disabled');

  await page.getByRole('link', { name: 'Audit Log', exact: true }).click();
  const table = page.getByRole('table', { name: 'Audit events' });
  const disabled = table.locator('tbody tr', { hasText: `API client "${name}" disabled` });
  await expect(disabled).toHaveCount(1);
  await expect(disabled).toContainText(ADMIN.username);
  await expect(disabled).toContainText('client.disabled');

  // Filter by the client and the action, through the form.
  await page.getByLabel('Client', { exact: true }).fill(client.client_id);
  await page.getByLabel('Action', { exact: true }).selectOption('client.disabled');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/action=client\.disabled/);
  await expect(table.locator('tbody tr')).toHaveCount(1);
  await page.getByLabel('Action', { exact: true }).selectOption('client.registered');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(table.locator('tbody tr')).toHaveCount(1);
  await expect(table).toContainText('operator');

  // Export the filtered view.
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^audit-acme-corp-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.trim().split('\r\n');
  expect(lines[0]).toContain('id,time_utc,site_id,action');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain('"client.registered"');
  expect(lines[1]).toContain(`"${client.client_id}"`);

  // Who did it, and when: from the client's own page too.
  await page.goto(`/clients?q=${client.client_id}`);
  await page.getByRole('link', { name }).click();
  const history = page.getByRole('table', { name: 'Client history' });
  await expect(history.locator('tbody tr', { hasText: 'client.disabled' })).toContainText(ADMIN.username);
  await expect(history.locator('tbody tr', { hasText: 'client.registered' })).toContainText('operator');
});

test('bad filter values are reported next to their fields', async ({ page }) => {
  await signIn(page);
  await page.goto('/audit?from=2026-02-10&until=2026-02-01');
  await expect(page.locator('#filter-until-error')).toHaveText('The last day is before the first day.');
  await expect(page.getByLabel('From', { exact: true })).toHaveValue('2026-02-10');
});

test('tokens issued appear in the dashboard and client charts; refresh-token reuse raises an alert until acknowledged', async ({ page, request }) => {
  const { user, client, name } = clientForNewUser('charted');
  const tokens = await tokensFor(page, request, user, client);
  // Reuse the first refresh token after it has been rotated: possible theft.
  expect((await tokenRequest(request, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).status()).toBe(200);
  expect((await tokenRequest(request, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).status()).toBe(400);

  await signIn(page);
  const today = new Date().toISOString().slice(0, 10);
  const chart = page.getByTestId('usage-chart');
  await expect(chart.locator('svg rect.bar')).toHaveCount(30);
  // Usage counts are written every few seconds: reload until today's bar has them.
  await expect(async () => {
    await page.reload();
    const count = Number(await chart.locator(`rect[data-day="${today}"]`).getAttribute('data-count'));
    expect(count).toBeGreaterThanOrEqual(2);
  }).toPass({ timeout: 20_000 });
  await expect(chart.locator('svg')).toHaveAttribute('aria-label', /Tokens issued per day, last 30 days\. \d+ token\(s\) issued/);

  const alert = page.getByRole('alert').filter({ hasText: name });
  await expect(alert).toContainText('Refresh token reused');
  await expect(alert).toContainText(user);
  await expect(alert).toContainText(client.client_id);
  await alert.getByRole('button', { name: 'Acknowledge' }).click();
  await expect(page.getByRole('alert').filter({ hasText: name })).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('alert').filter({ hasText: name })).toHaveCount(0);

  // The client's own chart: its code exchange and its one successful refresh.
  await page.goto(`/clients?q=${client.client_id}`);
  await page.getByRole('link', { name }).click();
  await expect(page.getByTestId('usage-chart').locator(`rect[data-day="${today}"]`)).toHaveAttribute('data-count', '2');
});
