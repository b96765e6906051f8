import { test, expect } from '@playwright/test';
import { apiUser, registerClient, signIn } from './support';

test('a secret reported as leaked is quarantined: its slot says so and the Dashboard raises an alert', async ({ page }) => {
  const owner = apiUser();
  await signIn(page);
  const name = await registerClient(page, owner, 'Leaky');
  const secret = (await page.getByTestId('consumer-secret').textContent())!;
  const reported = await page.request.post('/oauth/leaks', { form: { token: secret } });
  expect(reported.status()).toBe(200);
  const findings = await reported.json();
  expect(findings[0].status).toBe('quarantined');
  expect(JSON.stringify(findings)).not.toContain(secret);
  await page.reload();
  const slots = page.getByRole('table', { name: 'Secret slots' });
  await expect(slots).toContainText('Quarantined (reported leaked)');
  await page.goto('/');
  const alert = page.locator('article.alert[data-kind="secret_quarantined"]').filter({ hasText: name });
  await expect(alert).toContainText('Leaked secret reported — quarantined');
  await expect(alert).toContainText('was reported leaked by leak report');
  await alert.getByRole('button', { name: 'Acknowledge' }).click();
  await expect(alert).toHaveCount(0);
});
