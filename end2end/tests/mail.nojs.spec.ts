import { test, expect } from '@playwright/test';
import { createServer, Socket } from 'net';
import { signIn } from './support';

/** One message an SMTP sink accepted: envelope recipients and the raw message. */
type Accepted = { to: string[]; data: string };

/**
 * An SMTP server (enough of RFC 5321 for Latchkey's mailer) on `port`, which the server under
 * test was started with (`--smtp-url smtp://127.0.0.1:<E2E_SMTP_PORT>`, see run.sh).
 */
function smtpSink(port: number, accepted: Accepted[]) {
  const server = createServer((socket: Socket) => {
    let buffer = '';
    let to: string[] = [];
    let data: string | null = null;
    socket.write('220 e2e sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data !== null) {
          if (line === '.') {
            accepted.push({ to, data });
            data = null;
            to = [];
            socket.write('250 queued\r\n');
          } else {
            data += (line.startsWith('.') ? line.slice(1) : line) + '\n';
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-e2e\r\n250 8BITMIME\r\n');
        else if (verb === 'RCPT') { to.push(line); socket.write('250 OK\r\n'); }
        else if (verb === 'DATA') { data = ''; socket.write('354 go on\r\n'); }
        else if (verb === 'QUIT') { socket.end('221 bye\r\n'); }
        else socket.write('250 OK\r\n');
      }
    });
    socket.on('error', () => {});
  });
  return new Promise<typeof server>((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

test('without JavaScript: e-mail turned on, a test message sent through SMTP and logged, then turned off', async ({ page }) => {
  const port = Number(process.env.E2E_SMTP_PORT);
  test.skip(!port, 'the server was started without an SMTP sink port (end2end/run.sh sets one)');
  const accepted: Accepted[] = [];
  const sink = await smtpSink(port, accepted);
  try {
    await signIn(page);
    await page.goto('/webhooks');
    const section = page.locator('section', { has: page.getByRole('heading', { name: 'E-mail' }) });
    await expect(section.getByTestId('email-state')).toContainText('off');
    await section.getByRole('button', { name: 'Turn e-mail on' }).click();
    await expect(section.getByTestId('email-state')).toHaveText('E-mail notifications are on.');
    // What goes to whom is on the page.
    await expect(section).toContainText('client.credential_leaked');
    await expect(section).toContainText("the client's owner and the site's administrators");

    await section.getByRole('button', { name: 'Send a test e-mail to me' }).click();
    const test_mail = () => accepted.find((m) => m.data.includes('Test e-mail sent by'));
    await expect.poll(() => test_mail() !== undefined, { timeout: 30_000 }).toBe(true);
    const message = test_mail()!;
    expect(message.to.join()).toContain('root@example.com');
    expect(message.data).toContain('Subject: [Latchkey] Acme Corp: Test e-mail sent by root-admin');

    const row = page.getByRole('table', { name: 'E-mails' }).getByRole('row').filter({ hasText: 'mail.test' });
    await expect(async () => {
      await page.goto('/webhooks');
      await expect(row.first()).toContainText('Sent', { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
  } finally {
    // Other specs share the site: leave e-mail off for them.
    await page.goto('/webhooks');
    const off = page.getByRole('button', { name: 'Turn e-mail off' });
    if (await off.count()) await off.click();
    await expect(page.getByTestId('email-state')).toContainText('off');
    sink.close();
  }
});
