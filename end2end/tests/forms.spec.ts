import { test, expect } from '@playwright/test';
import { apiUser, hydrated, signIn } from './support';

/** The query a post without JavaScript comes back with when the server refused it. */
function refusedPostQuery(endpoint: string, field: string, message: string): string {
  const json = JSON.stringify({ Invalid: [{ field, message }] });
  const encoded = Buffer.from(json).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  return `__path=${encodeURIComponent(endpoint)}&__err=${encodeURIComponent(encoded)}`;
}

test('a refusal left in the URL by a post without JavaScript is shown, and gone once the form succeeds', async ({ page }) => {
  const user = apiUser('forms');
  await signIn(page);
  await page.goto(`/administrators?q=${user}`);
  await page.getByRole('link', { name: user, exact: true }).click();
  await expect(page.getByRole('heading', { name: user })).toBeVisible();
  const details = page.url();
  await page.goto(`${details}?${refusedPostQuery('/api/update_user_email', 'email', 'Not that one.')}`);
  await hydrated(page);
  await expect(page.locator('#email-error')).toHaveText('Not that one.');

  await page.getByLabel('Email Address').fill(`${user}@moved.example.com`);
  await page.getByRole('button', { name: 'Save email' }).click();
  await expect(page.locator('p.notice')).toHaveText('Email address saved.');
  await expect(page).toHaveURL(details);
  await expect(page.locator('#email-error')).toHaveText('');
  await expect(page.getByLabel('Email Address')).toHaveValue(`${user}@moved.example.com`);
});
