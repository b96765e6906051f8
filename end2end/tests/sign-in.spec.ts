import { test, expect } from '@playwright/test';
import { ADMIN, hydrated, signIn } from './support';

test('signed-out visitors are sent to sign-in and back where they were going', async ({ page }) => {
  await page.goto('/sites');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fsites$/);
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/sites$/);
});

test('a wrong password is reported next to the field', async ({ page }) => {
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Username').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill('definitely not it');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#password-error')).toHaveText('Incorrect username or password.');
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(page.getByLabel('Username')).toHaveValue(ADMIN.username);
});

test('hydration: the show-password toggle works in the browser', async ({ page }) => {
  await page.goto('/sign-in');
  await hydrated(page);
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('peekaboo');
  await expect(password).toHaveAttribute('type', 'password');
  await page.getByTestId('toggle-password').click();
  await expect(password).toHaveAttribute('type', 'text');
  await page.getByTestId('toggle-password').click();
  await expect(password).toHaveAttribute('type', 'password');
});

test('dashboard, navigation tabs and sign-out', async ({ page }) => {
  await signIn(page);
  await hydrated(page);
  const tabs = page.getByRole('navigation', { name: 'Console' });
  for (const name of ['Dashboard', 'API Clients', 'Administrators', 'Sites', 'Audit Log', 'Webhooks', 'API Tokens']) {
    await expect(tabs.getByRole('link', { name })).toBeVisible();
  }
  await expect(tabs.getByRole('link', { name: 'Dashboard' })).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('.events')).toContainText(`${ADMIN.username} signed in`);

  // Each tab is a link to its page.
  await tabs.getByRole('link', { name: 'Sites' }).click();
  await expect(page).toHaveURL(/\/sites$/);
  await expect(tabs.getByRole('link', { name: 'Sites' })).toHaveAttribute('aria-current', 'page');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);
});
