import { defineConfig, devices } from '@playwright/test';

// The server is started by end2end/run.sh (a fresh database per run) which exports BASE_URL
// and SERVER_LOG. Playwright never downloads a browser: it drives Debian's Chromium.
const baseURL = process.env.BASE_URL ?? 'http://127.0.0.1:3000';

const chromium = {
  ...devices['Desktop Chrome'],
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  },
};

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 2,
  // In CI a spec gets one more try, and the list reporter (and run.sh's summary) names it as
  // "flaky" when the retry passes, so a flake is reported without hiding a real failure.
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    // First run: creates the first site and administrator through the setup page.
    { name: 'setup', testMatch: /first-run\.setup\.ts/, use: chromium },
    // Every console flow with JavaScript (hydrated).
    {
      name: 'chromium',
      testMatch: /.*\.spec\.ts/,
      testIgnore: /.*\.nojs\.spec\.ts/,
      dependencies: ['setup'],
      use: chromium,
    },
    // The same forms without JavaScript (progressive enhancement).
    {
      name: 'no-js',
      testMatch: /.*\.nojs\.spec\.ts/,
      dependencies: ['setup'],
      use: { ...chromium, javaScriptEnabled: false },
    },
  ],
});
