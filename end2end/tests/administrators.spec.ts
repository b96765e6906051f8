import { test, expect, Page } from '@playwright/test';
import { ADMIN, hydrated, signIn, submitConfirmingPassword, unique } from './support';

/** Fills and saves the Add New Administrator form; making a site administrator may ask for the
 *  password again (the re-authentication window is 5 s here). `done` shows the form's outcome. */
async function addUser(page: Page, username: string, opts: { apiUser?: boolean; siteAdmin?: boolean; extraSite?: string } = {},
  done = page.getByRole('heading', { name: username })) {
  await page.goto('/administrators');
  await page.getByRole('link', { name: 'Add New Administrator' }).click();
  await expect(page.getByRole('heading', { name: 'Add New Administrator' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill('a sturdy passphrase');
  await page.getByLabel('Email Address').fill(`${username}@example.com`);
  const siteAdmin = page.locator('input[name="roles[0][site_admin]"]');
  if (opts.siteAdmin === false) await siteAdmin.uncheck(); else await siteAdmin.check();
  if (opts.apiUser) await page.locator('input[name="roles[0][api_user]"]').check();
  if (opts.extraSite) {
    await page.getByRole('combobox', { name: 'Add Site' }).first().selectOption({ label: opts.extraSite });
    await page.locator('input[name="roles[1][api_user]"]').check();
  }
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Save' }), done);
}

async function addUserAndWait(page: Page, username: string, opts: { apiUser?: boolean; siteAdmin?: boolean; extraSite?: string } = {}) {
  await addUser(page, username, opts);
  await expect(page.getByRole('heading', { name: username })).toBeVisible();
}

test('add administrators with and without API User, and reject a duplicate next to the field', async ({ page }) => {
  await signIn(page);
  const plain = unique('admin');
  await addUser(page, plain);
  await expect(page.getByRole('heading', { name: plain })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Roles by site' }).getByRole('checkbox', { name: /Site administrator on/ })).toBeChecked();
  await expect(page.getByRole('table', { name: 'Roles by site' }).getByRole('checkbox', { name: /API User on/ })).not.toBeChecked();

  const apiUser = unique('api');
  await addUser(page, apiUser, { apiUser: true, siteAdmin: false });
  await expect(page.getByRole('heading', { name: apiUser })).toBeVisible();
  await page.goto(`/administrators?q=${apiUser}`);
  const row = page.getByRole('row', { name: new RegExp(apiUser) });
  await expect(row).toContainText('API User');
  await expect(row).not.toContainText('Site administrator');

  // Same username in other letters: refused next to the Username field, nothing lost.
  // (`done` is the message itself: the empty message holder is on the page from the start.)
  await addUser(page, apiUser.toUpperCase(), { apiUser: true }, page.locator('#username-error').getByText('This username is already taken.'));
  await expect(page.locator('#username-error')).toHaveText('This username is already taken.');
  await expect(page.getByLabel('Email Address')).toHaveValue(`${apiUser.toUpperCase()}@example.com`);
});

test('a user added to a second site through the Add Site dropdown', async ({ page }) => {
  await signIn(page);
  const site = unique('Site');
  await page.goto('/sites');
  await hydrated(page);
  await page.getByLabel('Site name').fill(site);
  await page.getByRole('button', { name: 'Create site' }).click();
  await expect(page.getByRole('table', { name: 'Sites' })).toContainText(site);

  const user = unique('multi');
  await addUser(page, user, { apiUser: true, siteAdmin: false, extraSite: site });
  await expect(page.getByRole('heading', { name: user })).toBeVisible();
  const roles = page.getByRole('table', { name: 'Roles by site' });
  await expect(roles.getByRole('checkbox', { name: `API User on ${site}` })).toBeChecked();
  await expect(roles.getByRole('checkbox', { name: `API User on ${ADMIN.site}` })).toBeChecked();

  // The site switcher scopes the Administrators page to the other site.
  await page.goto('/administrators');
  await hydrated(page);
  await page.getByLabel('Site', { exact: true }).selectOption({ label: site });
  await expect(page.locator('.subtitle')).toContainText(site);
  await expect(page.getByRole('table', { name: 'Users' })).toContainText(user);
  // A switch reloads the page; until the reloaded page has hydrated, a change of the select
  // applies only through its Switch button (as without JavaScript).
  await hydrated(page);
  await page.getByLabel('Site', { exact: true }).selectOption({ label: ADMIN.site });
  await expect(page.locator('.subtitle')).toContainText(ADMIN.site);
});

test('a disabled administrator cannot sign in; enabling restores access', async ({ page, browser }) => {
  await signIn(page);
  const user = unique('temp');
  await addUser(page, user);
  await expect(page.getByRole('heading', { name: user })).toBeVisible();
  await page.getByRole('button', { name: 'Disable user' }).click();
  await expect(page.getByRole('heading', { name: user })).toContainText('Disabled');

  const other = await browser.newPage();
  await other.goto('/sign-in');
  await other.getByLabel('Username').fill(user);
  await other.getByLabel('Password', { exact: true }).fill('a sturdy passphrase');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.locator('#password-error')).toHaveText('Incorrect username or password.');

  await page.getByRole('button', { name: 'Enable user' }).click();
  await expect(page.getByRole('heading', { name: user })).toContainText('Active');
  await signIn(other, user, 'a sturdy passphrase');
  await other.close();
});

test('the padlock opens Security Settings with Register New Application', async ({ page }) => {
  await signIn(page);
  const user = unique('owner');
  await addUserAndWait(page, user, { apiUser: true, siteAdmin: false });
  await page.goto(`/administrators?q=${user}`);
  await page.getByRole('link', { name: `Security Settings for ${user}` }).click();
  await expect(page.getByRole('heading', { name: /Security Settings/ })).toContainText(user);
  await expect(page.getByText(`${user} has no registered applications`)).toBeVisible();
  const register = page.getByRole('link', { name: 'Register New Application' });
  await expect(register).toHaveAttribute('href', /\/clients\/new\?owner=/);
});

test('deleting a user explains the consequences first', async ({ page }) => {
  await signIn(page);
  const user = unique('gone');
  await addUserAndWait(page, user, { apiUser: true });
  await page.getByRole('link', { name: 'Delete user…' }).click();
  await expect(page.getByRole('heading', { name: `Delete ${user}?` })).toBeVisible();
  await expect(page.locator('.panel')).toContainText('will no longer be able to sign in or authorize API clients');
  await expect(page.locator('.panel')).toContainText('They move to Deleted, where you can restore them');
  await page.getByRole('button', { name: `Delete ${user}` }).click();
  await expect(page).toHaveURL(/\/deleted\?undo=/);
  await expect(page.locator('.notice.undo')).toContainText(`User "${user}" deleted`);
  const row = page.getByRole('row').filter({ hasText: user });
  await expect(row).toContainText('in 30 days');
  await page.goto(`/administrators?q=${user}`);
  await expect(page.getByText('No users match.')).toBeVisible();
  // Restored from the Deleted view, with their roles.
  await page.getByRole('link', { name: 'Deleted', exact: true }).click();
  await hydrated(page);
  await page.getByRole('row').filter({ hasText: user }).getByRole('button', { name: `Restore ${user}` }).click();
  await expect(page).toHaveURL(/\/administrators\/[0-9a-f-]+$/);
  await page.goto(`/administrators?q=${user}`);
  await expect(page.getByRole('link', { name: user, exact: true })).toBeVisible();
});
