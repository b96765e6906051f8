import { test, expect } from '@playwright/test';
import { ADMIN, signIn, unique } from './support';

test('without JavaScript: a client credentials client is registered without an owner, and a bad choice is refused next to its field', async ({ page }) => {
  await signIn(page);
  await page.goto('/clients/new');
  const name = unique('NoJsMachine');
  const fill = async () => {
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Description').fill(`${name} syncs reports`);
    await page.getByLabel('Redirect URI').fill('https://machine.example.com/unused');
    await page.getByLabel(/I have read and agree/).check();
  };
  // The default grant acts for an API user: without an owner the server says so, next to it.
  await fill();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('#owner-error')).toContainText('Choose the API user this application acts for.');

  const password = page.getByLabel('Confirm your password');
  for (let attempt = 0; attempt < 2 && !(await page.getByRole('heading', { name }).isVisible()); attempt++) {
    await fill();
    await page.getByRole('radio', { name: /^Client credentials/ }).check();
    if (await password.isVisible()) await password.fill(ADMIN.password);
    await page.getByRole('button', { name: 'Done' }).click();
  }
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByTestId('grant-types')).toHaveText('Client credentials');
  await expect(page.getByTestId('consumer-secret')).toHaveText(/^lkcs_/);
});
