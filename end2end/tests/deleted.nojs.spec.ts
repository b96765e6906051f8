import { test, expect } from '@playwright/test';
import { apiUser, latchkey, signIn, unique } from './support';

/** A client registered and then deleted through the CLI; returns its name. */
function deletedClient(prefix: string): string {
  const owner = apiUser();
  const name = unique(prefix);
  const created = JSON.parse(latchkey(['client', 'create', '--owner', owner, '--name', name, '--description', 'Deleted without JS',
    '--redirect-uri', 'https://nojs.example.com/cb', '--accept-terms']));
  latchkey(['client', 'delete', '--client-id', created.client_id]);
  return name;
}

test('without JavaScript: the Deleted view restores a client, and deletes one for good only once the box is ticked', async ({ page }) => {
  await signIn(page);
  const restored = deletedClient('NoJsRestore');
  const purged = deletedClient('NoJsPurge');
  await page.goto('/clients');
  await page.getByRole('link', { name: 'Deleted', exact: true }).click();
  await expect(page.getByRole('heading', { name: /Deleted/ })).toBeVisible();

  await page.getByRole('row').filter({ hasText: restored }).getByRole('button', { name: `Restore ${restored}` }).click();
  await expect(page.getByRole('heading', { name: restored })).toContainText('Active');

  await page.goto('/deleted');
  const row = () => page.getByRole('row').filter({ hasText: purged });
  await row().getByRole('button', { name: `Delete ${purged} now` }).click();
  await expect(row().getByText('Tick the box: deleting now cannot be undone.')).toBeVisible();
  await row().getByLabel('This cannot be undone').check();
  await row().getByRole('button', { name: `Delete ${purged} now` }).click();
  await expect(page.getByRole('heading', { name: /Deleted/ })).toBeVisible();
  await expect(row()).toHaveCount(0);
});
