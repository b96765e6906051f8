import { test, expect } from '@playwright/test';
import { signIn, unique } from './support';

test('without JavaScript: add an API user to a second site and see field errors', async ({ page }) => {
  await signIn(page);
  const site = unique('NoJsSite');
  await page.goto('/sites');
  await page.getByLabel('Site name').fill(site);
  await page.getByRole('button', { name: 'Create site' }).click();
  await expect(page.getByRole('table', { name: 'Sites' })).toContainText(site);

  await page.goto('/administrators/new');
  await expect(page.getByTestId('add-another-site')).toHaveCount(0);
  const user = unique('nojs');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password', { exact: true }).fill('short');
  await page.getByLabel('Email Address').fill('bad');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#password-error')).toContainText('at least 12 characters');
  await expect(page.locator('#email-error')).toContainText('name@example.com');

  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password', { exact: true }).fill('a sturdy passphrase');
  await page.getByLabel('Email Address').fill(`${user}@example.com`);
  await page.locator('input[name="roles[0][site_admin]"]').uncheck();
  await page.locator('input[name="roles[0][api_user]"]').check();
  await page.getByRole('combobox', { name: 'Add Site' }).selectOption({ label: site });
  await page.locator('input[name="roles[1][api_user]"]').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: user })).toBeVisible();
  await expect(page.getByRole('checkbox', { name: `API User on ${site}` })).toBeChecked();
});
