import { test, expect } from '@playwright/test';
import { ADMIN } from './support';

test('without JavaScript: sign in, see the dashboard, sign out', async ({ page }) => {
  await page.goto('/sign-in');
  await expect(page.getByTestId('toggle-password')).toHaveCount(0);
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill('wrong password here');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#password-error')).toHaveText('Incorrect username or password.');

  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: /Dashboard/ })).toBeVisible();
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
});
