import { test, expect } from "@playwright/test";
import { ADMIN_PASSWORD, hydrated, signIn, STAFF_PASSWORD } from "./helpers";

// The first server watches the stub browser service of playwright.config.ts;
// the demo server has none configured.
const stubPort = Number(process.env.KEFU_E2E_BROWSER_SERVICE_PORT ?? 3302);
const stub = `http://127.0.0.1:${stubPort}`;
const demoPort = Number(process.env.KEFU_E2E_DEMO_PORT ?? 3301);

test("an admin sees Kefu and the browser service, and a failing pool after a refresh", async ({ page, request }) => {
  await request.post(`${stub}/stub/mode`, { data: "healthy" });
  await signIn(page, "admin.e2e", STAFF_PASSWORD);
  await page.getByTestId("nav-system").click();
  await expect(page).toHaveURL(/\/system$/);
  await hydrated(page);
  await expect(page.getByTestId("page-title")).toHaveText("系统状态");
  await expect(page.getByTestId("kefu-database-value")).toHaveText("SQLite");
  await expect(page.getByTestId("kefu-database_size-value")).toHaveText(/^\d+\.\d (KB|MB)$/);
  await expect(page.getByTestId("bs-url")).toHaveText(stub);
  await expect(page.getByTestId("bs-overall")).toHaveAttribute("data-state", "good");
  await expect(page.getByTestId("bs-total_browsers")).toHaveText("8");
  await expect(page.getByTestId("bs-usage_percentage")).toHaveText("75.0 %");
  await expect(page.getByTestId("bs-service_uptime")).toHaveText("1 天 1 小时");
  await expect(page.getByTestId("bs-status")).toHaveClass(/good/);

  // The pool goes down: the refresh shows it in its own card; the rest stays.
  await request.post(`${stub}/stub/mode`, { data: "degraded" });
  await page.getByTestId("system-refresh").click();
  await expect(page.getByTestId("bs-pool-failure")).toHaveText("应答 HTTP 503");
  await expect(page.getByTestId("bs-overall")).toHaveAttribute("data-state", "bad");
  await expect(page.getByTestId("bs-status")).toHaveText("degraded");
  await expect(page.getByTestId("bs-status")).toHaveClass(/bad/);
  await expect(page.getByTestId("bs-used_contexts")).toHaveText("30");
  await request.post(`${stub}/stub/mode`, { data: "healthy" });
});

test("a server without a browser service says how to configure one", async ({ page }) => {
  await page.goto(`http://127.0.0.1:${demoPort}/login`);
  await hydrated(page);
  await page.getByTestId("login-username").fill("admin");
  await page.getByTestId("login-password").fill(ADMIN_PASSWORD);
  await page.getByTestId("login-submit").click();
  await expect(page).not.toHaveURL(/\/login$/);
  await page.goto(`http://127.0.0.1:${demoPort}/system`);
  await expect(page.getByTestId("bs-unconfigured")).toContainText("KEFU_BROWSER_SERVICE_URL");
  await expect(page.getByTestId("kefu-chats_waiting-value")).toHaveText(/^\d+$/);
});

test("an agent has no system page", async ({ page }) => {
  await signIn(page, "agent.e2e", STAFF_PASSWORD);
  await expect(page.getByTestId("nav-system")).toHaveCount(0);
  await page.goto("/system");
  await expect(page.getByTestId("bs-total_browsers")).toHaveCount(0);
  await expect(page.getByTestId("forbidden")).toBeVisible();
});
