import { test, expect } from '@playwright/test';
import { ADMIN, apiUser, fillRegistration, signIn, unique } from './support';

test('without JavaScript: the server refuses a registration without the terms, then accepts it', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  await page.goto('/clients/new');
  const name = unique('NoJs');
  await fillRegistration(page, name, owner);
  // Without JavaScript the button cannot wait for the box: the server says what is missing.
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('#accept_terms-error')).toContainText('Terms of Use');

  // Registering yields a secret, so it needs a recent password (5 s on this test server):
  // the page shows the field when the sign-in is old, or the server asks for it.
  const password = page.getByLabel('Confirm your password');
  for (let attempt = 0; attempt < 2 && !(await page.getByRole('heading', { name }).isVisible()); attempt++) {
    await fillRegistration(page, name, owner);
    await page.getByLabel(/I have read and agree/).check();
    if (await password.isVisible()) await password.fill(ADMIN.password);
    await page.getByRole('button', { name: 'Done' }).click();
  }
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByTestId('consumer-secret')).toHaveText(/^lkcs_/);
  // Reveal works as a plain form too.
  await page.reload();
  await expect(page.getByTestId('consumer-secret')).toHaveCount(0);
});
