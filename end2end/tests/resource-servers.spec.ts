import { test, expect } from '@playwright/test';
import { ADMIN, hydrated, signIn, unique } from './support';

test('a site lists its resource servers: a bad URI is refused next to the field, one is added and removed', async ({ page }) => {
  await signIn(page);
  await page.goto('/sites');
  await page.getByRole('link', { name: ADMIN.site }).click();
  await hydrated(page);
  const section = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Resource servers' }) });
  await expect(section).toContainText('/api/v1');

  const field = section.getByLabel('Resource server URI');
  await field.fill('https://api.example.com/#fragment');
  await section.getByRole('button', { name: 'Add resource server' }).click();
  await expect(section.locator('#uri-error')).toContainText('Resource URI cannot contain a fragment');

  const uri = `https://${unique('api').toLowerCase()}.example.com/`;
  await field.fill(uri);
  await section.getByRole('button', { name: 'Add resource server' }).click();
  // The page reloads its settings after a change: the new one is listed.
  const list = page.getByRole('list', { name: 'Resource servers' });
  await expect(list).toContainText(uri);
  await page.reload();
  await expect(list).toContainText(uri);

  await hydrated(page);
  await list.getByRole('button', { name: `Remove resource server ${uri}` }).click();
  await expect(list).not.toContainText(uri);
  await page.reload();
  await expect(page.getByRole('list', { name: 'Resource servers' })).not.toContainText(uri);
});
