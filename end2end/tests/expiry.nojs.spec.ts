import { test, expect, Page } from '@playwright/test';
import { ADMIN, apiUser, latchkey, signIn, unique } from './support';

/** A client registered through the CLI; opens its details page from the API Clients tab. */
async function openNewClient(page: Page, prefix: string): Promise<{ name: string; clientId: string; secret: string }> {
  const owner = apiUser();
  const name = unique(prefix);
  const created = JSON.parse(latchkey(['client', 'create', '--owner', owner, '--name', name, '--description', 'No-JS client',
    '--redirect-uri', 'https://nojs.example.com/cb', '--accept-terms']));
  await page.goto(`/clients?q=${created.client_id}`);
  await page.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible();
  return { name, clientId: created.client_id, secret: created.client_secret };
}

/** Submits the form of `button`, giving the password when the page shows or asks for it. */
async function submitWithPassword(page: Page, button: string, done: () => Promise<boolean>) {
  for (let attempt = 0; attempt < 3 && !(await done()); attempt++) {
    const password = page.getByLabel('Confirm your password');
    if (await password.isVisible()) await password.fill(ADMIN.password);
    await page.getByRole('button', { name: button }).click();
  }
}

test('without JavaScript: regenerating with a 30-day lifetime, then the expiring filter', async ({ page }) => {
  await signIn(page);
  const { name } = await openNewClient(page, 'NoJsExpiry');
  const detailsUrl = page.url();
  await page.goto(`${detailsUrl}/regenerate`);
  const choose = async () => {
    await page.getByLabel('Old secret').selectOption('0');
    await page.getByLabel('New secret').selectOption({ label: '30 days' });
  };
  await choose();
  await submitWithPassword(page, 'Regenerate secret', async () => {
    if (await page.getByTestId('consumer-secret').isVisible()) return true;
    if (await page.getByLabel('New secret').isVisible()) await choose();
    return false;
  });
  await expect(page.getByTestId('consumer-secret')).toHaveText(/^lkcs_/);
  const current = page.getByRole('table', { name: 'Secret slots' }).getByRole('row').filter({ hasText: 'Current' });
  await expect(current.getByTestId('expiry-badge')).toHaveText('Expires in 30 days');

  await page.goto('/clients');
  await page.getByLabel('Secret expiring within 30 days').check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/expiring=30/);
  await expect(page.getByRole('table', { name: 'API clients' })).toContainText(name);
});

test('without JavaScript: a client page explains a refused request', async ({ page }) => {
  await signIn(page);
  const { clientId } = await openNewClient(page, 'NoJsFailure');
  const refused = await page.request.post('/oauth/token', {
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:lkcs_wrong`).toString('base64')}` },
    form: { grant_type: 'refresh_token', refresh_token: 'lkrt_x' },
  });
  expect(refused.status()).toBe(401);
  await page.reload();
  const row = page.getByRole('table', { name: 'Recent failures' }).getByRole('row').filter({ hasText: 'Wrong client secret' });
  await expect(row).toContainText('invalid_client');
});

test('without JavaScript: the remembered-consent setting is saved', async ({ page }) => {
  await signIn(page);
  await page.goto('/sites');
  await page.getByRole('link', { name: ADMIN.site }).click();
  await page.getByLabel("Remember an API user's consent").selectOption({ label: '30 days' });
  await page.getByRole('button', { name: 'Save consent setting' }).click();
  await expect(page.getByLabel("Remember an API user's consent")).toHaveValue(String(30 * 86400));
  await page.getByLabel("Remember an API user's consent").selectOption({ label: '90 days' });
  await page.getByRole('button', { name: 'Save consent setting' }).click();
  await expect(page.getByLabel("Remember an API user's consent")).toHaveValue(String(90 * 86400));
});
