import { test, expect, Page } from '@playwright/test';
import { ADMIN, apiUser, hydrated, signIn, submitConfirmingPassword, unique } from './support';

const PASSWORD = 'a sturdy passphrase';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

async function accountSignIn(page: Page, username: string) {
  await page.goto('/account');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'My applications' })).toBeVisible();
}

test('an API user requests an application, an administrator approves it, the owner sees the secret once, authorizes it, and revokes it', async ({ page, browser, request }) => {
  const user = apiUser('owner');
  const name = unique('Requested');
  await accountSignIn(page, user);
  await expect(page.getByTestId('account-user')).toHaveText(user);

  await page.getByRole('link', { name: 'Request a new application' }).click();
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill('Builds my weekly report');
  await page.getByLabel('Redirect URI').fill('https://owner.example.com/callback');
  const requestButton = page.getByRole('button', { name: 'Request' });
  // The Terms of Use box gates the button.
  await expect(requestButton).toBeDisabled();
  await page.getByLabel(/I have read and agree/).check();
  await requestButton.click();
  const card = page.getByRole('listitem').filter({ hasText: name });
  await expect(card.getByTestId('application-status')).toHaveText('Pending approval');
  const clientId = (await card.getByTestId('consumer-key').textContent())!.trim();

  // The administrator, in another browser context, approves it from the Dashboard.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signIn(admin);
  const pending = admin.getByTestId(`pending-${clientId}`);
  await expect(pending).toContainText(name);
  await expect(pending).toContainText(user);
  await expect(pending).toContainText('https://owner.example.com/callback');
  await hydrated(admin);
  await pending.getByRole('button', { name: 'Approve' }).click();
  await expect(admin.getByTestId(`pending-${clientId}`)).toHaveCount(0);
  await admin.goto('/clients');
  await expect(admin.getByRole('row').filter({ hasText: name }).getByTestId('client-status')).toHaveText('Active');
  await adminContext.close();

  // The owner sees the Consumer Secret once.
  await page.goto('/account');
  await hydrated(page);
  await expect(card.getByTestId('application-status')).toHaveText('Active');
  await submitConfirmingPassword(page, card.getByRole('button', { name: 'Show the Consumer Secret (once)' }),
    card.getByTestId('consumer-secret'), PASSWORD);
  await expect(card.getByTestId('consumer-secret')).toHaveText(/^lkcs_/);
  const secret = (await card.getByTestId('consumer-secret').textContent())!.trim();
  await page.reload();
  await expect(card.getByTestId('consumer-secret')).toHaveCount(0);
  await expect(card.getByRole('button', { name: 'Show the Consumer Secret (once)' })).toHaveCount(0);

  // The first authorization, in the browser the owner uses the application from, asks for the
  // password.
  const appContext = await browser.newContext();
  const app = await appContext.newPage();
  await appContext.route('https://owner.example.com/callback**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Callback reached</h1>' }));
  const authorizeUrl = (state: string) => '/oauth/authorize?' + new URLSearchParams({ response_type: 'code', client_id: clientId,
    redirect_uri: 'https://owner.example.com/callback', scope: 'profile', state, code_challenge: CHALLENGE, code_challenge_method: 'S256' });
  await app.goto(authorizeUrl('s1'));
  await app.getByLabel('Username').fill(user);
  await app.getByLabel('Password').fill(PASSWORD);
  await app.getByRole('button', { name: 'Authorize' }).click();
  await expect(app.getByRole('heading', { name: 'Callback reached' })).toBeVisible();
  const code = new URL(app.url()).searchParams.get('code')!;
  expect(code).toMatch(/^lkac_/);

  // The application exchanges the code; the user sees it under Connected applications.
  const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const exchanged = await request.post('/oauth/token', { headers: { authorization: basic },
    form: { grant_type: 'authorization_code', code, redirect_uri: 'https://owner.example.com/callback', code_verifier: VERIFIER } });
  expect(exchanged.status()).toBe(200);
  const tokens = await exchanged.json();

  // A second authorization in that browser shows no prompt at all: the prompt signed them in,
  // and their consent is remembered.
  // (Chromium does not hand the redirect of a typed-in navigation to the route above, so the
  // redirect itself is read: the authorization endpoint's answer is a 303 to the callback.)
  const [silent] = await Promise.all([
    app.waitForResponse((response) => response.url().includes('/oauth/authorize') && response.url().includes('state=s2')),
    app.goto(authorizeUrl('s2')).catch(() => undefined),
  ]);
  expect(silent.status()).toBe(303);
  const callback = new URL(silent.headers()['location']);
  expect(`${callback.origin}${callback.pathname}`).toBe('https://owner.example.com/callback');
  expect(callback.searchParams.get('state')).toBe('s2');
  expect(callback.searchParams.get('code')).toMatch(/^lkac_/);

  await page.goto('/account');
  await hydrated(page);
  const connection = page.getByTestId('connected-applications').getByRole('listitem').filter({ hasText: name });
  await expect(connection).toContainText('profile');
  await connection.getByRole('button', { name: `Revoke ${name}` }).click();
  await expect(page.getByTestId('connected-applications').getByRole('listitem').filter({ hasText: name })).toHaveCount(0);
  await expect(page.getByText('No application acts for you.')).toBeVisible();

  // The application's next refresh fails.
  const refreshed = await request.post('/oauth/token', { headers: { authorization: basic },
    form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } });
  expect(refreshed.status()).toBe(400);
  expect((await refreshed.json()).error).toBe('invalid_grant');

  // The consent went with it: the next authorization asks again, without a password. (In a
  // new tab of the same browser: the tab of the silent redirect above may still be finishing
  // its navigation to the callback.)
  await app.close();
  const again = await appContext.newPage();
  await again.goto(authorizeUrl('s3'));
  await expect(again.getByTestId('prompt-signed-in')).toContainText(user);
  await expect(again.getByLabel('Password')).toHaveCount(0);
  await again.getByRole('button', { name: 'Authorize' }).click();
  await expect(again.getByRole('heading', { name: 'Callback reached' })).toBeVisible();
  expect(new URL(again.url()).searchParams.get('state')).toBe('s3');
  await appContext.close();
});

test('a rejected request shows its reason to the owner; administrators keep the console', async ({ page, browser }) => {
  const user = apiUser('rejected');
  const name = unique('Rejected');
  await accountSignIn(page, user);
  await page.getByRole('link', { name: 'Request a new application' }).click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill('Scrapes everything');
  await page.getByLabel('Redirect URI').fill('https://scraper.example.com/cb');
  await page.getByLabel(/I have read and agree/).check();
  await page.getByRole('button', { name: 'Request' }).click();
  const card = page.getByRole('listitem').filter({ hasText: name });
  await expect(card.getByTestId('application-status')).toHaveText('Pending approval');

  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signIn(admin);
  await admin.goto('/clients');
  await hydrated(admin);
  const pending = admin.getByTestId('pending-requests').getByRole('listitem').filter({ hasText: name });
  await pending.getByRole('button', { name: 'Reject' }).click();
  await expect(pending.getByText('Reason is required.')).toBeVisible();
  await pending.getByLabel('Reason').fill('Scraping is against the terms');
  await pending.getByRole('button', { name: 'Reject' }).click();
  await expect(admin.getByRole('row').filter({ hasText: name }).getByTestId('client-status')).toHaveText('Rejected');
  // An administrator is not let in at /account.
  const other = await adminContext.newPage();
  await other.goto('/account');
  await other.getByLabel('Username').fill(ADMIN.username);
  await other.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByText(/Incorrect username or password/)).toBeVisible();
  await adminContext.close();

  await page.reload();
  await expect(card.getByTestId('application-status')).toHaveText('Rejected');
  await expect(card.getByTestId('rejection-reason')).toHaveText('Rejected: Scraping is against the terms');
});

test('on a phone the account page fits the screen', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await accountSignIn(page, apiUser('phone'));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await context.close();
});
