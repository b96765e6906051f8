import { expect, Locator, Page } from '@playwright/test';
import { readFileSync } from 'fs';
import { execFileSync } from 'child_process';

/** The first administrator, created by first-run.setup.ts. */
export const ADMIN = { username: 'root-admin', password: 'e2e sturdy passphrase', site: 'Acme Corp' };

/** The setup token exactly as the server printed it in its log. */
export function setupTokenFromLog(): string {
  const log = readFileSync(process.env.SERVER_LOG ?? '', 'utf8');
  const match = log.match(/enter the setup token (\S+)/);
  if (!match) throw new Error('no setup token in the server log');
  return match[1];
}

/** Waits until the WASM bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** Signs in through the form and waits for the dashboard. */
export async function signIn(page: Page, username = ADMIN.username, password = ADMIN.password) {
  await page.goto('/sign-in');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: /Dashboard/ })).toBeVisible();
}

/** A name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Runs the latchkey CLI against the server's database; returns its stdout. */
export function latchkey(args: string[], input?: string): string {
  const bin = process.env.LATCHKEY_BIN;
  if (!bin) throw new Error('LATCHKEY_BIN is not set (run the suite with end2end/run.sh)');
  return execFileSync(bin, args, { input, env: { ...process.env, LATCHKEY_LOG: 'warn' }, maxBuffer: 64 * 1024 * 1024 }).toString();
}

/** Creates an API user through the CLI (fast); returns the username. */
export function apiUser(prefix = 'api'): string {
  const username = unique(prefix);
  latchkey(['admin', 'create', '--username', username, '--email', `${username}@example.com`, '--site', ADMIN.site, '--api-user-only', '--password-stdin'], 'a sturdy passphrase\n');
  return username;
}

/** Fills the registration form (without submitting). */
export async function fillRegistration(page: Page, name: string, owner: string, redirect = 'https://app.example.com/callback') {
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description').fill(`${name} reads reports`);
  await page.getByLabel('Redirect URI').fill(redirect);
  await page.getByLabel('API user (owner)').selectOption({ label: owner });
}

/** Registers a client for `owner` through the console form; returns its name (on its page). */
export async function registerClient(page: Page, owner: string, prefix = 'App'): Promise<string> {
  const name = unique(prefix);
  await page.goto('/clients/new');
  await hydrated(page);
  await fillRegistration(page, name, owner);
  await page.getByLabel(/I have read and agree/).check();
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Done' }), page.getByRole('heading', { name }));
  return name;
}

/**
 * Clicks `button` (in a console form) and waits for `done`. An action that yields a secret or
 * changes a credential needs the administrator's password entered within the server's
 * re-authentication window (5 s in this suite): the form shows the field from the start when
 * the page knew the sign-in was old, or after the server asks ("Please confirm your password
 * to continue."); either way it gets the password.
 */
export async function submitConfirmingPassword(page: Page, button: Locator, done: Locator, password = ADMIN.password) {
  const form = button.locator('xpath=ancestor::form[1]');
  const field = form.getByLabel('Confirm your password');
  if (await field.isVisible()) await field.fill(password);
  await button.click();
  const asked = form.getByText('Please confirm your password to continue.');
  // Either may come first; both can be on the page at once (a field's message holder exists
  // before it says anything), so wait for the first of them rather than exactly one.
  await expect(done.or(asked).first()).toBeVisible();
  if (await done.isVisible()) return;
  await field.fill(password);
  await button.click();
  await expect(done).toBeVisible();
}
