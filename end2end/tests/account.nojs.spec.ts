import { test, expect } from '@playwright/test';
import { apiUser, signIn, unique } from './support';

const PASSWORD = 'a sturdy passphrase';

test('without JavaScript: sign in at /account, request an application, see it approved, see its secret once, change the password, sign out', async ({ page, browser }) => {
  const user = apiUser('nojs-owner');
  const name = unique('NoJsRequest');
  await page.goto('/account');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password', { exact: true }).fill('wrong passphrase');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText(/Incorrect username or password/)).toBeVisible();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'My applications' })).toBeVisible();

  await page.getByRole('link', { name: 'Request a new application' }).click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill('Without JavaScript');
  await page.getByLabel('Redirect URI').fill('https://nojs.example.com/cb');
  // Without JavaScript the button is not held back: the server refuses instead.
  await page.getByRole('button', { name: 'Request' }).click();
  await expect(page.getByText('You must read and agree to the Latchkey API Terms of Use to request an application.').first()).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill('Without JavaScript');
  await page.getByLabel('Redirect URI').fill('https://nojs.example.com/cb');
  await page.getByLabel(/I have read and agree/).check();
  await page.getByRole('button', { name: 'Request' }).click();
  const card = page.getByRole('listitem').filter({ hasText: name });
  await expect(card.getByTestId('application-status')).toHaveText('Pending approval');

  const adminContext = await browser.newContext({ javaScriptEnabled: false });
  const admin = await adminContext.newPage();
  await signIn(admin);
  const pending = admin.getByTestId('pending-requests').getByRole('listitem').filter({ hasText: name });
  await pending.getByRole('button', { name: 'Approve' }).click();
  await expect(admin.getByTestId('pending-requests').getByRole('listitem').filter({ hasText: name })).toHaveCount(0);
  await adminContext.close();

  await page.goto('/account');
  const show = card.getByRole('button', { name: 'Show the Consumer Secret (once)' });
  const confirm = card.getByLabel('Confirm your password');
  if (await confirm.count() === 0) {
    await show.click();
    await expect(card.getByTestId('consumer-secret').or(card.getByLabel('Confirm your password')).first()).toBeVisible();
  }
  if (await card.getByTestId('consumer-secret').count() === 0) {
    await card.getByLabel('Confirm your password').fill(PASSWORD);
    await card.getByRole('button', { name: 'Show the Consumer Secret (once)' }).click();
  }
  await expect(card.getByTestId('consumer-secret')).toHaveText(/^lkcs_/);
  await page.goto('/account');
  await expect(card.getByTestId('consumer-secret')).toHaveCount(0);

  await page.getByRole('link', { name: 'Change your password' }).click();
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill('another sturdy passphrase');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.goto('/account');
  await expect(page.getByTestId('account-user')).toHaveText(user);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to your account' })).toBeVisible();
});
