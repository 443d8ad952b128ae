import { test, expect } from "@playwright/test";
import { readFileSync } from "fs";
import { hydrated, signIn } from "./helpers";

// This spec runs against the second server of playwright.config.ts, whose
// database `kefu demo-data --players 3000` filled.
const demoPort = Number(process.env.KEFU_E2E_DEMO_PORT ?? 3301);
test.use({ baseURL: `http://127.0.0.1:${demoPort}` });
const ADMIN_PASSWORD = process.env.KEFU_E2E_ADMIN_PASSWORD ?? "";

const number = (text: string | null) => Number((text ?? "").replace(/,/g, ""));

test("the dashboard shows the demo data and redraws the trend for another period", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto("/analytics");
  await hydrated(page);
  await expect(page.getByTestId("page-title")).toHaveText("数据分析");
  expect(number(await page.getByTestId("value-total_users").textContent())).toBe(3000);
  expect(number(await page.getByTestId("value-total_revenue").textContent())).toBeGreaterThan(0);
  await expect(page.getByTestId("server-chart").locator(".bar-row").first()).toBeVisible();
  await expect(page.getByTestId("high-value-table").locator("tbody tr")).toHaveCount(20);
  // Levels by name, not number.
  await expect(page.getByTestId("high-value-table").locator("tbody")).toContainText(/免费|普通会员|VIP|SVIP/);
  await expect(page.getByTestId("high-value-table").locator("tbody td").filter({ hasText: /^[0-3]$/ })).toHaveCount(0);

  // The default period is 30 days; 7 redraws both trend charts and the table.
  await expect(page.getByTestId("trend-players")).toHaveAttribute("data-points", "30");
  await expect(page.getByTestId("period-30")).toHaveClass(/primary/);
  await page.getByTestId("period-7").click();
  await expect(page).toHaveURL(/days=7/);
  await expect(page.getByTestId("trend-players")).toHaveAttribute("data-points", "7");
  await expect(page.getByTestId("trend-revenue")).toHaveAttribute("data-points", "7");
  await expect(page.getByTestId("trend-active")).toHaveAttribute("data-points", "7");
  await expect(page.getByTestId("chat-sessions")).toHaveAttribute("data-points", "7");
  await expect(page.getByTestId("trends-table").locator("tbody tr")).toHaveCount(7);
  await expect(page.getByTestId("period-7")).toHaveClass(/primary/);
  // Each point tells its value on hover and to screen readers.
  const dot = page.getByTestId("trend-players").locator("circle").first();
  await expect(dot).toHaveAttribute("aria-label", /新增用户/);

  // A chosen range.
  await page.getByTestId("range-from").fill("2026-01-01");
  await page.getByTestId("range-to").fill("2026-01-10");
  await page.getByTestId("range-apply").click();
  await expect(page).toHaveURL(/from=2026-01-01&to=2026-01-10/);
  // Only the two dates: no stray `=` for the button.
  expect([...new URL(page.url()).searchParams.keys()].sort()).toEqual(["from", "to"]);
  await expect(page.getByTestId("trend-players")).toHaveAttribute("data-points", "10");
  await expect(page.getByTestId("trends-table").locator("tbody tr").first()).toContainText("2026-01-01");
});

test("the trend table and its CSV download have the same rows", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto("/analytics?days=7");
  await hydrated(page);
  await expect(page.getByTestId("trends-table")).toBeHidden();
  await page.getByTestId("trends-toggle").click();
  await expect(page.getByTestId("trends-table")).toBeVisible();
  await expect(page.getByTestId("trend-players")).toBeHidden();
  const rows = await page.getByTestId("trends-table").locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? "")),
  );
  expect(rows.length).toBe(7);

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("trends-csv").click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^kefu-trends-.*\.csv$/);
  const text = readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "");
  const lines = text.trim().split("\r\n");
  expect(lines[0]).toBe("日期,新增用户,活跃用户,收入（元）");
  expect(lines.slice(1).map((l) => l.split(","))).toEqual(rows);
});

test("a high-value player links to their record", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto("/analytics");
  await hydrated(page);
  const link = page.getByTestId("high-value-link").first();
  const account = (await link.textContent()) ?? "";
  expect(account).not.toBe("");
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/players/${account.replace(/\./g, "\\.")}$`));
  await expect(page.getByTestId("page-title")).toHaveText(account);
});

test("the overview shows the chat desk right now and today's players, as the pages behind them do", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto("/");
  await hydrated(page);
  const home = async (key: string) => number(await page.getByTestId(`home-${key}-value`).textContent());
  const [waiting, active, newToday, expiring, revenue] = [
    await home("chats_waiting"),
    await home("chats_active"),
    await home("new_users_today"),
    await home("expired_users_today"),
    await home("monthly_revenue"),
  ];
  // demo-data leaves chats waiting and being served, and payments this month.
  expect(waiting).toBeGreaterThan(0);
  expect(active).toBeGreaterThan(0);
  expect(revenue).toBeGreaterThan(0);
  await expect(page.getByTestId("home-chats_waiting")).toHaveAttribute("href", "/desk");
  // Staff online links where admins too may look (the staff list is the super admins').
  await expect(page.getByTestId("home-staff_online")).toHaveAttribute("href", "/system");

  await page.goto("/system");
  await expect(page.getByTestId("kefu-chats_waiting-value")).toHaveText(String(waiting));
  await expect(page.getByTestId("kefu-chats_active-value")).toHaveText(String(active));
  await page.goto("/analytics");
  await expect(page.getByTestId("value-new_users_today")).toHaveText(String(newToday));
  await expect(page.getByTestId("value-expired_users_today")).toHaveText(String(expiring));
  expect(number(await page.getByTestId("value-monthly_revenue").textContent())).toBe(revenue);
});
