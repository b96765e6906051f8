import { test, expect, Page, Browser } from '@playwright/test';
import { ADMIN, apiUser, fillRegistration, hydrated, signIn, submitConfirmingPassword, unique } from './support';

const PASSWORD = 'a sturdy passphrase';

/** Adds a site administrator through the console; returns the id from their page's URL. */
async function addAdministrator(page: Page, username: string): Promise<string> {
  await page.goto('/administrators/new');
  await hydrated(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Email Address').fill(`${username}@example.com`);
  await page.locator('input[name="roles[0][site_admin]"]').check();
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Save' }), page.getByRole('heading', { name: username }));
  return new URL(page.url()).pathname.split('/').pop()!;
}

/** A new browser signed in as `username`. */
async function signedIn(browser: Browser, username: string, password = PASSWORD): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, username, password);
  return page;
}

/** True when the page, reloaded, is the sign-in page (its session ended). */
async function isSignedOut(page: Page): Promise<boolean> {
  await page.goto('/clients');
  await page.waitForURL(/\/(sign-in|clients)/);
  return page.url().includes('/sign-in');
}

test('the console hydrates under its Content-Security-Policy, with no violation', async ({ page }) => {
  const violations: string[] = [];
  await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation: (v: string) => void }).reportViolation(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const response = await page.goto('/sign-in');
  const csp = response!.headers()['content-security-policy'];
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  expect(csp).toContain("frame-ancestors 'none'");
  await hydrated(page);
  // An island works: the password toggle.
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('peekaboo');
  await page.getByTestId('toggle-password').click();
  await expect(password).toHaveAttribute('type', 'text');
  await signIn(page);
  for (const path of ['/', '/clients', '/administrators', '/sites', '/audit', '/clients/new']) {
    await page.goto(path);
    await hydrated(page);
  }
  expect(violations).toEqual([]);
});

test('a password reset signs the user out everywhere; the new password signs in', async ({ page, browser }) => {
  await signIn(page);
  const user = unique('reset');
  const id = await addAdministrator(page, user);
  const theirs = await signedIn(browser, user);
  await page.goto(`/administrators/${id}`);
  await hydrated(page);
  await page.getByLabel('New password').fill('a brand new passphrase');
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Set password' }), page.locator('p.notice'));
  await expect(page.locator('p.notice')).toHaveText('Password changed.');
  expect(await isSignedOut(theirs)).toBe(true);
  await signIn(theirs, user, 'a brand new passphrase');
});

test('changing ones own password needs the current one and ends the other sessions; sign out everywhere', async ({ browser }) => {
  const admin = await signedIn(browser, ADMIN.username, ADMIN.password);
  const user = unique('self');
  await addAdministrator(admin, user);
  const here = await signedIn(browser, user);
  const elsewhere = await signedIn(browser, user);
  // Their own page, from the name in the top bar.
  await here.getByRole('link', { name: user }).first().click();
  await expect(here.getByRole('heading', { name: 'Change your password' })).toBeVisible();
  await hydrated(here);
  await here.getByLabel('Current password').fill('not my password');
  await here.getByLabel('New password').fill('my next sturdy passphrase');
  await here.getByRole('button', { name: 'Change password' }).click();
  await expect(here.locator('#current_password-error')).toHaveText('Incorrect password.');
  await here.getByLabel('Current password').fill(PASSWORD);
  await here.getByRole('button', { name: 'Change password' }).click();
  await expect(here.locator('p.notice')).toContainText('Password changed');
  // This browser goes on; the other one was signed out.
  expect(await isSignedOut(elsewhere)).toBe(true);
  expect(await isSignedOut(here)).toBe(false);

  // Sign out everywhere: this browser too.
  const again = await signedIn(browser, user, 'my next sturdy passphrase');
  await here.getByRole('link', { name: user }).first().click();
  await hydrated(here);
  await here.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(here).toHaveURL(/\/sign-in/);
  expect(await isSignedOut(again)).toBe(true);
});

test('a client owner cannot leave the site until the client is given to another API user, then can go', async ({ page }) => {
  const owner = apiUser('leaving');
  const next = apiUser('next');
  await signIn(page);
  await page.goto('/clients/new');
  await hydrated(page);
  const name = unique('Handover');
  await fillRegistration(page, name, owner);
  await page.getByLabel(/I have read and agree/).check();
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Done' }), page.getByRole('heading', { name }));
  const client = page.url();

  // Taking the owner off the site is refused while they own the client.
  const removeOwner = async () => {
    await page.goto(`/administrators?q=${owner}`);
    await page.getByRole('link', { name: owner, exact: true }).click();
    await hydrated(page);
    await page.getByRole('checkbox', { name: `API User on ${ADMIN.site}` }).uncheck();
    await page.getByRole('button', { name: 'Save roles' }).click();
  };
  await removeOwner();
  await expect(page.getByRole('alert').filter({ hasText: 'owns 1 API client' })).toBeVisible();

  // Give the client to another API user; then the owner can go.
  await page.goto(client);
  await hydrated(page);
  await page.getByText('Edit settings').click();
  await page.getByLabel('API user (owner)').selectOption({ label: next });
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.locator('p.notice')).toHaveText('Settings saved.');
  await expect(page.locator('dl.details', { hasText: 'API user (owner)' })).toContainText(next);
  // Now the old owner can go altogether, and the client stays.
  await page.goto(`/administrators?q=${owner}`);
  await page.getByRole('link', { name: owner, exact: true }).click();
  await page.getByRole('link', { name: 'Delete user…' }).click();
  await expect(page.getByText(name)).toHaveCount(0);
  await page.getByRole('button', { name: `Delete ${owner}` }).click();
  await expect(page).toHaveURL(/\/deleted\?undo=/);
  await page.goto(client);
  await expect(page.getByRole('heading', { name })).toBeVisible();
});
