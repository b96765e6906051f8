import { test, expect } from '@playwright/test';
import { ADMIN, hydrated, signIn, submitConfirmingPassword } from './support';

test('an API token: created with a password, shown once, used by the admin API, revoked', async ({ page, request }) => {
  const name = `ci-${Date.now()}`;
  await signIn(page);
  await page.getByRole('link', { name: 'API Tokens' }).click();
  await expect(page.getByRole('heading', { name: 'API Tokens', level: 1 })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await expect(page.getByLabel(ADMIN.site)).toBeChecked();
  await page.getByLabel(/Allow changes/).check();
  await page.getByLabel('Expires after').selectOption('7');
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Create token' }), page.getByTestId('admin-token'));
  const token = (await page.getByTestId('admin-token').textContent())!;
  expect(token).toMatch(/^lkad_/);

  // The token works against the admin API, as a bearer token, and can change things.
  const sites = await request.get('/admin/v1/sites', { headers: { Authorization: `Bearer ${token}` } });
  expect(sites.status()).toBe(200);
  expect((await sites.json()).map((s: { name: string }) => s.name)).toContain(ADMIN.site);
  const document = await request.get('/admin/v1/openapi.json');
  expect((await document.json()).openapi).toMatch(/^3\.1/);

  // Loaded again: the token is gone from the page, its last use is shown.
  const row = page.getByTestId('admin-token-row').filter({ hasText: name });
  await expect(async () => {
    await page.goto('/api-tokens', { timeout: 10_000 });
    await expect(row).toContainText('last used: 20', { timeout: 2_000 });
  }).toPass({ timeout: 40_000 });
  await expect(page.getByTestId('admin-token')).toHaveCount(0);
  await expect(row).toContainText('read and write');
  await expect(row).toContainText('active');

  await hydrated(page);
  await row.getByRole('button', { name: `Revoke ${name}` }).click();
  await expect(row).toContainText('revoked');
  const refused = await request.get('/admin/v1/sites', { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(401);
  expect(refused.headers()['content-type']).toBe('application/problem+json');
});

test('a token needs a name and a site: each refusal next to its field', async ({ page }) => {
  await signIn(page);
  await page.goto('/api-tokens');
  await hydrated(page);
  await page.getByLabel(ADMIN.site).uncheck();
  await page.getByLabel('Name', { exact: true }).fill('   ');
  const form = page.getByRole('button', { name: 'Create token' }).locator('xpath=ancestor::form[1]');
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Create token' }), form.getByText('Tick at least one site.'));
  await expect(form.getByText('Name is required.')).toBeVisible();
});
