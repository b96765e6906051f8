import { test, expect } from '@playwright/test';
import { apiUser, fillRegistration, hydrated, signIn, submitConfirmingPassword, unique } from './support';

// A phone's screen (the console must be readable on a laptop and a phone).
test.use({ viewport: { width: 390, height: 844 } });

test('on a phone no console page is wider than the screen: wide tables scroll in their own box', async ({ page }) => {
  const owner = apiUser('phone');
  await signIn(page);
  // A client, so its details page has secret slots and a history to lay out.
  await page.goto('/clients/new');
  await hydrated(page);
  const name = unique('Phone');
  await fillRegistration(page, name, owner);
  await page.getByLabel(/I have read and agree/).check();
  await submitConfirmingPassword(page, page.getByRole('button', { name: 'Done' }), page.getByRole('heading', { name }));
  const details = new URL(page.url()).pathname;

  for (const path of ['/', '/clients', details, '/administrators', '/sites', '/audit']) {
    await page.goto(path);
    await expect(page.locator('main.page h1')).toBeVisible();
    // Measured once hydrated, with the buttons that need JavaScript (Copy) on screen.
    await hydrated(page);
    const { pageWidth, screenWidth } = await page.evaluate(() => ({
      pageWidth: document.documentElement.scrollWidth,
      screenWidth: document.documentElement.clientWidth,
    }));
    expect(pageWidth, `${path} is wider than the screen`).toBeLessThanOrEqual(screenWidth);
  }

  // Every navigation tab is on screen, the current one included.
  for (const tab of ['Dashboard', 'API Clients', 'Administrators', 'Sites', 'Audit Log']) {
    const box = await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: tab, exact: true }).boundingBox();
    expect(box!.x + box!.width, `${tab} tab`).toBeLessThanOrEqual(390);
  }

  // The Audit Log's table is wider than the screen: it scrolls, and stays inside the screen.
  const table = page.getByRole('table', { name: 'Audit events' });
  const { scrolls, right } = await table.evaluate((element) => ({
    scrolls: element.scrollWidth > element.clientWidth,
    right: element.getBoundingClientRect().right,
  }));
  expect(scrolls).toBe(true);
  expect(right).toBeLessThanOrEqual(390);
});
