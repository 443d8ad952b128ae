import { defineConfig } from "@playwright/test";

// The test command (scripts/test) builds the release binary, prepares a data
// directory with an agent account and exports these variables.
const port = Number(process.env.KEFU_E2E_PORT ?? 3300);
const baseURL = `http://127.0.0.1:${port}`;
const demoPort = Number(process.env.KEFU_E2E_DEMO_PORT ?? 3301);
// A stub of the browser service (a program outside Kefu) for the system page.
const browserServicePort = Number(process.env.KEFU_E2E_BROWSER_SERVICE_PORT ?? 3302);

function kefu(port: number, dataDir: string, extraEnv: Record<string, string> = {}) {
  return {
    command: `${process.env.KEFU_BIN ?? "../target/release/kefu"} serve`,
    cwd: "..",
    url: `http://127.0.0.1:${port}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe" as const,
    stderr: "pipe" as const,
    env: {
      KEFU_BIND: `127.0.0.1:${port}`,
      KEFU_DATA_DIR: dataDir,
      KEFU_ADMIN_PASSWORD: process.env.KEFU_E2E_ADMIN_PASSWORD ?? "",
      KEFU_API_KEY: process.env.KEFU_E2E_API_KEY ?? "e2e-api-key",
      KEFU_LOG: "warn",
      ...extraEnv,
    },
  };
}

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  // A stuck run fails in minutes instead of using up the CI budget.
  globalTimeout: 20 * 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's Chromium; Playwright's own browser download is never used.
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
  webServer: [
    {
      command: `node stub/browser-service.mjs ${browserServicePort}`,
      url: `http://127.0.0.1:${browserServicePort}/health`,
      reuseExistingServer: false,
      timeout: 10_000,
    },
    kefu(port, process.env.KEFU_E2E_DATA_DIR ?? "/tmp/kefu-e2e", {
      KEFU_BROWSER_SERVICE_URL: `http://127.0.0.1:${browserServicePort}`,
    }),
    // The same binary over `kefu demo-data` (the analytics dashboard).
    kefu(demoPort, process.env.KEFU_E2E_DEMO_DATA_DIR ?? "/tmp/kefu-e2e-demo"),
  ],
});
