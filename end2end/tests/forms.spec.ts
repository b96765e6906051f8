import { test, expect, Page } from '@playwright/test';
import { apiUser, hydrated, signIn } from './support';

/**
 * What a post without JavaScript comes back to when the server refuses it: the page's URL
 * with the refusal (`__path`, `__err`) and the server's signature of it (`__sig`).
 */
async function refusedPost(page: Page, endpoint: string, form: Record<string, string>): Promise<string> {
  const csrf = await page.locator('input[name="csrf"]').first().inputValue();
  const response = await page.request.post(endpoint, {
    form: { csrf, ...form },
    headers: { Accept: 'text/html', Referer: page.url() },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(302);
  return response.headers()['location'];
}

test('a refusal left in the URL by a post without JavaScript is shown, and gone once the form succeeds', async ({ page }) => {
  const user = apiUser('forms');
  await signIn(page);
  await page.goto(`/administrators?q=${user}`);
  await page.getByRole('link', { name: user, exact: true }).click();
  await expect(page.getByRole('heading', { name: user })).toBeVisible();
  const details = page.url();
  const userId = new URL(details).pathname.split('/').pop()!;
  const refused = await refusedPost(page, '/api/update_user_email', { user_id: userId, email: 'not an address' });
  expect(refused).toContain('__sig=');
  await page.goto(refused);
  await hydrated(page);
  await expect(page.locator('#email-error')).toHaveText('Enter an email address like name@example.com.');

  await page.getByLabel('Email Address').fill(`${user}@moved.example.com`);
  await page.getByRole('button', { name: 'Save email' }).click();
  await expect(page.locator('p.notice')).toHaveText('Email address saved.');
  await expect(page).toHaveURL(details);
  await expect(page.locator('#email-error')).toHaveText('');
  await expect(page.getByLabel('Email Address')).toHaveValue(`${user}@moved.example.com`);
});

test('a refusal written into a link by someone else is not shown', async ({ page }) => {
  const user = apiUser('forged');
  await signIn(page);
  await page.goto(`/administrators?q=${user}`);
  await page.getByRole('link', { name: user, exact: true }).click();
  const details = page.url();
  // The same shape leptos_axum uses, with words of the link's author, signed or not.
  const json = JSON.stringify({ Invalid: [{ field: 'email', message: 'Your account is locked: call +1 555 0100.' }] });
  const encoded = Buffer.from(json).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  const forged = `__path=${encodeURIComponent('/api/update_user_email')}&__err=${encodeURIComponent(encoded)}`;
  for (const query of [forged, `${forged}&__sig=AAAA`]) {
    await page.goto(`${details}?${query}`);
    await hydrated(page);
    await expect(page.locator('#email-error')).toHaveText('');
    await expect(page.getByText('call +1 555')).toHaveCount(0);
  }
});
