import { test, expect } from '@playwright/test';
import { ADMIN, hydrated, setupTokenFromLog } from './support';

test('first run: the setup page creates the first site and administrator', async ({ page }) => {
  // Any console URL leads to setup while no administrator exists.
  await page.goto('/');
  await expect(page).toHaveURL(/\/setup$/);
  await hydrated(page);

  await page.getByLabel('Setup token').fill('not-the-token');
  await page.getByLabel('Site name').fill(ADMIN.site);
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Email address').fill('root@example.com');

  // Instant validation while typing (runs in the browser: proves hydration).
  const password = page.getByLabel('Password');
  await password.fill('short');
  await expect(page.locator('#password-hint')).toHaveText('Password must be at least 12 characters (5 so far).');
  await password.fill(ADMIN.password);
  await expect(page.locator('#password-hint')).toHaveText('Strong enough.');

  await page.getByRole('button', { name: 'Create site and administrator' }).click();
  await expect(page.locator('#setup_token-error')).toContainText('This setup token is not valid');
  // Nothing typed was lost.
  await expect(page.getByLabel('Site name')).toHaveValue(ADMIN.site);
  await expect(password).toHaveValue(ADMIN.password);

  await page.getByLabel('Setup token').fill(setupTokenFromLog());
  await page.getByRole('button', { name: 'Create site and administrator' }).click();
  await expect(page.getByRole('heading', { name: /Dashboard/ })).toBeVisible();
  await expect(page.getByRole('heading', { name: /Dashboard/ })).toContainText(ADMIN.site);
  await expect(page.getByTestId('count-administrators')).toHaveText('1');

  // Setup is closed from now on (a signed-in administrator lands on the dashboard).
  await page.goto('/setup');
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { name: /Dashboard/ })).toBeVisible();
});
