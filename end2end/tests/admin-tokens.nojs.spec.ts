import { test, expect } from '@playwright/test';
import { ADMIN, signIn } from './support';

test('without JavaScript: an API token created, shown once, then revoked', async ({ page, request }) => {
  const name = `nojs-${Date.now()}`;
  await signIn(page);
  await page.goto('/api-tokens');
  const shown = page.getByTestId('admin-token');
  // The password is asked for when the sign-in is older than the (short) re-authentication
  // window; a refused post comes back to the page, so the name is typed again.
  for (let attempt = 0; attempt < 3 && (await shown.count()) === 0; attempt++) {
    await page.getByLabel('Name', { exact: true }).fill(name);
    const password = page.getByLabel('Confirm your password');
    if (await password.isVisible()) await password.fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create token' }).click();
  }
  const token = (await shown.textContent())!;
  expect(token).toMatch(/^lkad_/);
  const read = await request.get('/admin/v1/sites', { headers: { Authorization: `Bearer ${token}` } });
  expect(read.status()).toBe(200);
  const write = await request.post('/admin/v1/clients', { headers: { Authorization: `Bearer ${token}` }, data: {} });
  expect(write.status()).toBe(403); // read only: "Allow changes" was left unticked

  await expect(async () => {
    await page.goto('/api-tokens', { timeout: 5_000 });
    await expect(shown).toHaveCount(0, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  const row = page.getByTestId('admin-token-row').filter({ hasText: name });
  await expect(row).toContainText('read only');
  await row.getByRole('button', { name: `Revoke ${name}` }).click();
  await expect(page.getByTestId('admin-token-row').filter({ hasText: name })).toContainText('revoked');
  const refused = await request.get('/admin/v1/sites', { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(401);
});
