import { test, expect } from '@playwright/test';
import { ADMIN, apiUser, hydrated, registerClient, signIn, submitConfirmingPassword } from './support';

test('a secret regenerated with a 30-day lifetime is flagged on its page, the API Clients tab and the Dashboard', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  const name = await registerClient(page, owner, 'Expiring');
  const slots = page.getByRole('table', { name: 'Secret slots' });
  await expect(slots.getByTestId('expiry-badge')).toHaveCount(0);
  await page.getByRole('link', { name: 'Regenerate secret…' }).click();
  await hydrated(page);
  await expect(page.getByLabel('New secret')).toHaveValue('site');
  await page.getByLabel('Old secret').selectOption('0');
  await page.getByLabel('New secret').selectOption({ label: '30 days' });
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Regenerate secret' }), page.getByTestId('consumer-secret'));
  await expect(slots.getByRole('row').filter({ hasText: 'Current' }).getByTestId('expiry-badge')).toHaveText('Expires in 30 days');

  await page.goto('/clients');
  await page.getByLabel('Secret expiring within 30 days').check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/expiring=30/);
  const row = page.getByRole('table', { name: 'API clients' }).getByRole('row').filter({ hasText: name });
  await expect(row.getByTestId('expiry-badge')).toHaveText('Expires in 30 days');

  await page.goto('/');
  const expiring = page.getByRole('region', { name: 'Secrets expiring within 30 days' });
  await expect(expiring.getByRole('listitem').filter({ hasText: name })).toContainText('Expires in 30 days');
});

test('the site setting for new secrets is saved and shown again', async ({ page }) => {
  await signIn(page);
  await page.goto('/sites');
  await page.getByRole('link', { name: ADMIN.site }).click();
  await hydrated(page);
  const select = page.getByLabel('New secrets');
  await expect(select).toHaveValue('0');
  await select.selectOption({ label: '90 days' });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('Secret expiry saved.')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('New secrets')).toHaveValue(String(90 * 86400));
  // Back to the default, so the other specs' secrets do not expire.
  await page.getByLabel('New secrets').selectOption({ label: 'Never expires' });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('Secret expiry saved.')).toBeVisible();
});
