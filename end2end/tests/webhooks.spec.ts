import { test, expect } from '@playwright/test';
import { createServer, IncomingHttpHeaders } from 'http';
import { AddressInfo } from 'net';
import { createHmac } from 'crypto';
import { hydrated, signIn, submitConfirmingPassword } from './support';

test('a webhook: its secret shown once, a test event delivered signed, the delivery log says so', async ({ page }) => {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    await signIn(page);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await expect(page.getByRole('heading', { name: /Webhooks/ })).toBeVisible();
    await hydrated(page);
    await page.getByLabel('Endpoint URL').fill(url);
    await submitConfirmingPassword(page, page.getByRole('button', { name: 'Add webhook' }), page.getByTestId('webhook-secret'));
    const secret = (await page.getByTestId('webhook-secret').textContent())!;
    expect(secret).toMatch(/^lkws_/);
    // Loaded again, the secret is gone. (A reload right after the form's answer can be cut
    // short by the page's own navigation — "net::ERR_ABORTED" in CI — so load it anew, with
    // a short timeout each time, until the page is there.)
    await expect(async () => {
      await page.goto('/webhooks', { timeout: 10_000 });
      await expect(page.getByRole('heading', { name: /Webhooks/ })).toBeVisible({ timeout: 2_000 });
    }).toPass({ timeout: 40_000 });
    await expect(page.getByTestId('webhook-secret')).toHaveCount(0);

    const item = page.locator('ul.webhooks li').filter({ hasText: url });
    await item.getByRole('button', { name: 'Send test event' }).click();
    const test_event = () => received.find((r) => r.headers['latchkey-event'] === 'webhook.test');
    await expect.poll(() => test_event() !== undefined, { timeout: 20_000 }).toBe(true);
    const { headers, body } = test_event()!;
    const [t, v1] = String(headers['latchkey-signature']).split(',').map((part) => part.split('=')[1]);
    expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
    expect(JSON.parse(body).type).toBe('webhook.test');

    const row = page.getByRole('table', { name: 'Deliveries' }).getByRole('row').filter({ hasText: 'webhook.test' }).filter({ hasText: url });
    await expect(async () => {
      await page.reload();
      await expect(row.first()).toContainText('Delivered', { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    await expect(row.first()).toContainText('HTTP 204');

    await hydrated(page);
    await page.locator('ul.webhooks li').filter({ hasText: url }).getByRole('button', { name: `Remove ${url}` }).click();
    await expect(page.locator('ul.webhooks li').filter({ hasText: url })).toHaveCount(0);
  } finally {
    receiver.close();
  }
});
