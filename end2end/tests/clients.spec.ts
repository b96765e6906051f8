import { test, expect } from '@playwright/test';
import { ADMIN, apiUser, fillRegistration, hydrated, registerClient, signIn, submitConfirmingPassword, unique } from './support';

test('Done stays disabled until the Terms of Use are accepted; registration opens the details', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const owner = apiUser();
  await signIn(page);
  await page.getByRole('link', { name: 'API Clients', exact: true }).click();
  await page.getByRole('link', { name: 'Create a New API Client' }).click();
  await expect(page.getByRole('heading', { name: 'Create a New API Client' })).toBeVisible();
  await hydrated(page);
  const name = unique('Reporting');
  await fillRegistration(page, name, owner);
  const done = page.getByRole('button', { name: 'Done' });
  await expect(done).toBeDisabled();
  await expect(page.getByRole('link', { name: 'Latchkey API Terms of Use' })).toHaveAttribute('href', '/terms');
  await page.getByLabel(/I have read and agree/).check();
  await expect(done).toBeEnabled();
  await page.getByLabel(/I have read and agree/).uncheck();
  await expect(done).toBeDisabled();
  await page.getByLabel(/I have read and agree/).check();
  await submitConfirmingPassword(page, done, page.getByRole('heading', { name }));
  const key = await page.getByTestId('consumer-key').textContent();
  expect(key).toMatch(/^lkci_[A-Za-z0-9_-]{22}[A-Za-z0-9]{6}$/);
  const secret = await page.getByTestId('consumer-secret').textContent();
  expect(secret).toMatch(/^lkcs_[A-Za-z0-9_-]{43}[A-Za-z0-9]{6}$/);
  await expect(page.getByTestId('terms-record')).toContainText(`accepted by ${ADMIN.username}`);

  // Copy buttons put the credentials on the clipboard.
  await page.getByRole('button', { name: 'Copy Consumer Key' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
  await page.getByRole('button', { name: 'Copy Consumer Secret' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  // The secret is shown once; after a reload it is masked.
  await page.reload();
  await expect(page.getByTestId('consumer-secret')).toHaveCount(0);
  await expect(page.getByText(`lkcs_••••••••••••••••${secret!.slice(-4)}`)).toBeVisible();

  // It appears on the API Clients tab.
  await page.getByRole('link', { name: 'API Clients', exact: true }).click();
  await page.getByRole('searchbox', { name: 'Search clients' }).fill(name);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByRole('table', { name: 'API clients' })).toContainText(owner);
});

test('revealing the secret asks for the password when the sign-in is not recent', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  await registerClient(page, owner);
  const secret = await page.getByTestId('consumer-secret').textContent();
  await page.reload();
  await hydrated(page);
  // The test server allows reveals within 5 seconds of a password entry.
  await page.waitForTimeout(6_000);
  await page.getByRole('button', { name: 'Reveal' }).click();
  const password = page.getByLabel('Confirm your password');
  await expect(password).toBeVisible();
  await password.fill('wrong password!!');
  await page.getByRole('button', { name: 'Confirm and reveal' }).click();
  await expect(page.getByText('Incorrect password.')).toBeVisible();
  await password.fill(ADMIN.password);
  await page.getByRole('button', { name: 'Confirm and reveal' }).click();
  await expect(page.getByTestId('consumer-secret')).toHaveText(secret!);
  await page.goto('/audit');
});

test('regenerate with a grace period shows both slots; the old one can be retired', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  await registerClient(page, owner);
  const first = await page.getByTestId('consumer-secret').textContent();
  await page.getByRole('link', { name: 'Regenerate secret…' }).click();
  await expect(page.getByTestId('impact')).toContainText('0 active access token(s)');
  await page.getByLabel('Old secret').selectOption('86400');
  const second = page.getByTestId('consumer-secret');
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Regenerate secret' }), second);
  expect(await second.textContent()).not.toBe(first);
  const slots = page.getByRole('table', { name: 'Secret slots' });
  await expect(slots).toContainText('Current');
  await expect(slots).toContainText('Old (grace period)');
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Retire now' }), slots.getByText('Retired'));
  await expect(slots).not.toContainText('Old (grace period)');
});

test('retiring an old secret still in use asks first and shows who used it last', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  await registerClient(page, owner);
  const clientId = (await page.getByTestId('consumer-key').textContent())!;
  const secret = (await page.getByTestId('consumer-secret').textContent())!;
  // A partner's job uses the secret (introspecting a made-up token is enough).
  const used = await page.request.post('/oauth/introspect', {
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'user-agent': 'partner-sync/2.1',
    },
    form: { token: 'lkat_not_a_real_token' },
  });
  expect(used.status()).toBe(200);
  await page.getByRole('link', { name: 'Regenerate secret…' }).click();
  await page.getByLabel('Old secret').selectOption('86400');
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Regenerate secret' }), page.getByTestId('consumer-secret'));
  const slots = page.getByRole('table', { name: 'Secret slots' });
  // Uses are written every few seconds: reload until the old slot shows its last caller.
  await expect(async () => {
    await page.reload();
    await expect(slots).toContainText('partner-sync/2.1', { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await hydrated(page);
  await expect(slots).toContainText('127.0.0.1');
  const anyway = slots.getByLabel(/Retire it anyway/);
  await expect(anyway).toBeVisible();
  // Without the box ticked the server refuses and says when and from where it was used.
  const refusal = slots.getByText(/still in use: last used .* from 127\.0\.0\.1, user agent “partner-sync\/2\.1”/);
  await submitConfirmingPassword(page, slots.getByRole('button', { name: 'Retire now' }), refusal);
  await expect(slots).toContainText('Old (grace period)');
  await anyway.check();
  await submitConfirmingPassword(page, slots.getByRole('button', { name: 'Retire now' }), slots.getByText('Retired'));
  await expect(slots).not.toContainText('Old (grace period)');
});

test('disable (revoking tokens), enable, then delete a client', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  const name = await registerClient(page, owner);
  await page.getByRole('link', { name: 'Disable…' }).click();
  await expect(page.getByRole('heading', { name: `Disable ${name}?` })).toBeVisible();
  await page.getByLabel(/Revoke all/).check();
  await page.getByRole('button', { name: 'Disable client' }).click();
  await expect(page.getByRole('heading', { name })).toContainText('Disabled');
  await page.getByRole('button', { name: 'Enable' }).click();
  await expect(page.getByRole('heading', { name })).toContainText('Active');

  await page.getByRole('link', { name: 'Delete…' }).click();
  await expect(page.getByTestId('impact')).toBeVisible();
  await expect(page.getByText(/restore it as it was/)).toBeVisible();
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  // The Deleted view, with an Undo on top.
  await expect(page).toHaveURL(/\/deleted\?undo=/);
  const notice = page.locator('.notice.undo');
  await expect(notice).toContainText(`API client "${name}" deleted`);
  await page.goto(`/clients?q=${encodeURIComponent(name)}`);
  await expect(page.getByText('No API clients match.')).toBeVisible();
  await page.goBack();
  await hydrated(page);
  await page.locator('.notice.undo').getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByRole('heading', { name })).toContainText('Active');

  // Deleted again, then for good: the button waits for the box.
  await page.getByRole('link', { name: 'Delete…' }).click();
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  await expect(page).toHaveURL(/\/deleted\?undo=/);
  await hydrated(page);
  const row = page.getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('in 30 days');
  const now = row.getByRole('button', { name: `Delete ${name} now` });
  await expect(now).toBeDisabled();
  await row.getByLabel('This cannot be undone').check();
  await now.click();
  await expect(page.getByRole('row').filter({ hasText: name })).toHaveCount(0);
});

test('Register New Application from Security Settings presets the owner', async ({ page }) => {
  const owner = apiUser('padlock');
  await signIn(page);
  await page.goto(`/administrators?q=${owner}`);
  await page.getByRole('link', { name: `Security Settings for ${owner}` }).click();
  await page.getByRole('link', { name: 'Register New Application' }).click();
  await expect(page.getByRole('heading', { name: 'Register New Application' })).toBeVisible();
  await expect(page.getByLabel('API user (owner)').locator('option:checked')).toHaveText(owner);
  await hydrated(page);
  const name = unique('Owned');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill('For the padlock test');
  await page.getByLabel('Redirect URI').fill('https://owned.example.com/cb');
  await page.getByLabel(/I have read and agree/).check();
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Done' }), page.getByRole('heading', { name }));
  await page.goto(`/administrators?q=${owner}`);
  await page.getByRole('link', { name: `Security Settings for ${owner}` }).click();
  await expect(page.getByRole('table', { name: 'Applications' })).toContainText(name);
});

test('bad input is reported next to each field and nothing typed is lost', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  await page.goto('/clients/new');
  await hydrated(page);
  await fillRegistration(page, 'Evil', owner, 'http://evil.example.com/cb#frag');
  await page.getByLabel(/I have read and agree/).check();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('#redirect_uri-error')).toContainText('fragment');
  await expect(page.getByLabel('Redirect URI')).toHaveValue('http://evil.example.com/cb#frag');
  await expect(page.getByLabel('Description')).toHaveValue('Evil reads reports');
});

test('saving settings reloads the details with the new values and says so', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  await registerClient(page, owner);
  await hydrated(page);
  await page.getByText('Edit settings').click();
  await page.getByLabel('Redirect URI').fill('https://moved.example.com/callback');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.locator('p.notice')).toHaveText('Settings saved.');
  await expect(page.getByTestId('redirect-uri')).toHaveText('https://moved.example.com/callback');
  // The notice is said once: it is gone after another reload.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('redirect-uri')).toHaveText('https://moved.example.com/callback');
  await expect(page.locator('p.notice')).toHaveCount(0);
});

test('the client page says why its requests failed, while the wire says only invalid_client', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  await registerClient(page, owner);
  const clientId = (await page.getByTestId('consumer-key').textContent())!;
  // A partner's deployment with a typo in its secret, twice.
  for (let attempt = 0; attempt < 2; attempt++) {
    const refused = await page.request.post('/oauth/token', {
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:lkcs_typo`).toString('base64')}` },
      form: { grant_type: 'refresh_token', refresh_token: 'lkrt_whatever' },
    });
    expect(refused.status()).toBe(401);
    expect((await refused.json()).error).toBe('invalid_client');
  }
  // The page writes this server's pending failures before it reads them.
  await page.reload();
  const section = page.getByRole('region', { name: 'Why did it fail?' });
  const table = section.getByRole('table', { name: 'Recent failures' });
  const row = table.getByRole('row').filter({ hasText: 'Wrong client secret' });
  await expect(row).toContainText("the client_secret matches none of the client's secrets");
  await expect(row).toContainText('invalid_client');
  await expect(row).toContainText('127.0.0.1');
  await expect(row.getByRole('cell').last()).toHaveText('2');
  await expect(section.getByRole('list', { name: 'Refusals per reason, last 7 days' })).toContainText('2 × Wrong client secret');
});

test('regenerating while the old secret in its grace period is still used asks first, with the evidence', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  await registerClient(page, owner);
  const clientId = (await page.getByTestId('consumer-key').textContent())!;
  const first = (await page.getByTestId('consumer-secret').textContent())!;
  await page.getByRole('link', { name: 'Regenerate secret…' }).click();
  await page.getByLabel('Old secret', { exact: true }).selectOption('86400');
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Regenerate secret' }), page.getByTestId('consumer-secret'));
  // A partner still uses the first secret, now in its grace period.
  const used = await page.request.post('/oauth/introspect', {
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${first}`).toString('base64')}`, 'user-agent': 'partner-cron/1.0' },
    form: { token: 'lkat_not_a_real_token' },
  });
  expect(used.status()).toBe(200);
  await page.getByRole('link', { name: 'Regenerate secret…' }).click();
  await hydrated(page);
  await page.getByLabel('Old secret', { exact: true }).selectOption('86400');
  const refusal = page.getByText(/still in use: last used .* user agent “partner-cron\/1\.0”/);
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Regenerate secret' }), refusal);
  await page.getByLabel(/Retire the old secret in its grace period anyway/).check();
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Regenerate secret' }), page.getByTestId('consumer-secret'));
});
