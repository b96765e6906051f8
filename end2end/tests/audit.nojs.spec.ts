import { test, expect } from '@playwright/test';
import { ADMIN, signIn } from './support';

test('without JavaScript: the dashboard chart is drawn and the Audit Log filters work', async ({ page }) => {
  await signIn(page);
  const chart = page.getByTestId('usage-chart');
  await expect(chart.locator('svg rect.bar')).toHaveCount(30);
  await expect(chart.locator('figcaption')).toContainText('Tokens issued per day');

  await page.goto('/audit');
  await page.getByLabel('Actor', { exact: true }).fill(ADMIN.username);
  await page.getByLabel('Action', { exact: true }).selectOption('admin.signed_in');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const rows = page.getByRole('table', { name: 'Audit events' }).locator('tbody tr');
  await expect(rows.first()).toContainText('admin.signed_in');
  for (const row of await rows.all()) await expect(row).toContainText(ADMIN.username);

  // A hand-edited address with a bad date: the message sits next to the field.
  await page.goto('/audit?from=31.12.2026');
  await expect(page.locator('#filter-from-error')).toHaveText('Enter a date as YYYY-MM-DD.');
});
