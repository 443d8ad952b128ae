import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// Benchmarks of the desk in the browser (issue #5): `npx playwright test -c bench.config.ts`
// from end2end/, after `cargo leptos build --release`. They print figures; BENCHMARKS.md
// records them. One fresh server, so the figures do not depend on other tests' data.
const port = Number(process.env.KEFU_BENCH_PORT ?? 3390);
const dataDir = process.env.KEFU_BENCH_DATA_DIR ?? "/tmp/kefu-bench-desk";

export default defineConfig({
  ...base,
  testDir: "./bench",
  testMatch: "**/*.bench.ts",
  timeout: 600_000,
  globalTimeout: 30 * 60_000,
  use: { ...base.use, baseURL: `http://127.0.0.1:${port}`, trace: "off" },
  webServer: [
    {
      command: `rm -rf ${dataDir} && mkdir -p ${dataDir} && KEFU_DATA_DIR=${dataDir} ${process.env.KEFU_BIN ?? "../target/release/kefu"} create-admin --username bench.agent --password "$KEFU_E2E_AGENT_PASSWORD" --role agent >/dev/null && exec ${process.env.KEFU_BIN ?? "../target/release/kefu"} serve`,
      cwd: "..",
      url: `http://127.0.0.1:${port}/login`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        KEFU_BIND: `127.0.0.1:${port}`,
        KEFU_DATA_DIR: dataDir,
        KEFU_ADMIN_PASSWORD: process.env.KEFU_E2E_ADMIN_PASSWORD ?? "",
        KEFU_E2E_AGENT_PASSWORD: process.env.KEFU_E2E_AGENT_PASSWORD ?? "",
        KEFU_API_KEY: process.env.KEFU_E2E_API_KEY ?? "e2e-api-key",
        KEFU_LOG: "warn",
        // The bench seeds a chat of 10,000 messages over HTTP.
        KEFU_CHAT_HTTP_RATE: "0",
      },
    },
  ],
});
