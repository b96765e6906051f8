import { test, expect } from '@playwright/test';
import { ADMIN, latchkey, signIn } from './support';

test.describe.configure({ timeout: 180_000 });

test('the API Clients tab pages through 10,000 clients', async ({ page }) => {
  const seeded = JSON.parse(
    latchkey(['seed', '--site', ADMIN.site, '--api-users', '5', '--clients', '10000', '--password-stdin'], 'seeded users passphrase\n'),
  );
  expect(seeded.clients).toHaveLength(10000);
  await signIn(page);
  await page.getByRole('link', { name: 'API Clients', exact: true }).click();
  await expect(page.locator('p.subtitle')).toContainText(/\d{5} client\(s\)/);
  const table = page.getByRole('table', { name: 'API clients' });
  await expect(table.locator('tbody tr')).toHaveCount(25);
  await expect(page.getByText(/Page 1 of \d{3}/)).toBeVisible();

  await page.getByRole('link', { name: 'Next →' }).click();
  await expect(page.getByText(/Page 2 of \d{3}/)).toBeVisible();
  await expect(table.locator('tbody tr')).toHaveCount(25);

  // Sort by name, then jump far into the list.
  // (Other tests register clients in parallel, so only the seeded ones are asserted by name.)
  await page.getByRole('link', { name: /^Name/ }).click();
  await expect(page).toHaveURL(/sort=name&dir=asc/);
  const names = (await table.locator('tbody tr td:first-child a').allTextContents()).map((n) => n.toLowerCase());
  expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  await page.goto('/clients?q=Seeded+client&sort=name&dir=asc');
  await expect(table.locator('tbody tr').first()).toContainText('Seeded client 00001');
  await page.goto('/clients?q=Seeded+client&sort=name&dir=asc&page=350');
  await expect(page.getByText(/Page 351 of 400/)).toBeVisible();
  await expect(table.locator('tbody tr').first()).toContainText('Seeded client 08751');

  // Search one client by its Consumer Key.
  await page.goto(`/clients?q=${seeded.clients[4321].client_id}`);
  await expect(table.locator('tbody tr')).toHaveCount(1);
  await expect(table).toContainText('Seeded client 04322');
});
