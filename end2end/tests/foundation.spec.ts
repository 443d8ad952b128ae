import { test, expect } from "@playwright/test";
import { fillSignIn as signIn, hydrated } from "./helpers";

const ADMIN_PASSWORD = process.env.KEFU_E2E_ADMIN_PASSWORD ?? "";
const AGENT = { username: "agent.e2e", password: process.env.KEFU_E2E_AGENT_PASSWORD ?? "" };

test("super admin signs in, sees every section, signs out", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  for (const id of ["home", "players", "staff", "analytics", "desk", "system"]) {
    await expect(page.getByTestId(`nav-${id}`)).toBeVisible();
  }
  await expect(page.getByTestId("user-name")).toHaveText("admin");
  await expect(page.getByTestId("user-role")).toHaveText("超级管理员");

  // Client-side navigation inside the shell.
  await page.getByTestId("nav-staff").click();
  await expect(page).toHaveURL(/\/staff$/);
  await expect(page.getByTestId("page-title")).toHaveText("员工账号");
  await expect(page).toHaveTitle("员工账号 · 客服后台");
  const staff = await page.goto("/staff");
  expect(staff?.status()).toBe(200);
  await expect(page).toHaveTitle("员工账号 · 客服后台");

  await page.getByTestId("logout").click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId("login-form")).toBeVisible();
  // The session is gone: the panel sends us back to sign-in.
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});

test("a wrong password shows an error and stays on sign-in", async ({ page }) => {
  await signIn(page, "admin", "not-the-password");
  await expect(page.getByTestId("login-error")).toHaveText("用户名或密码错误。");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId("login-username")).toHaveValue("admin");
});

test("an agent lands on the desk without the staff link", async ({ page }) => {
  await signIn(page, AGENT.username, AGENT.password);
  await expect(page).toHaveURL(/\/desk$/);
  await hydrated(page);
  await expect(page.getByTestId("nav-desk")).toBeVisible();
  await expect(page.getByTestId("nav-staff")).toHaveCount(0);
  await expect(page.getByTestId("nav-players")).toHaveCount(0);
  await expect(page.getByTestId("user-role")).toHaveText("客服");
  // Loaded directly, the desk renders on the server with its translated title.
  const desk = await page.goto("/desk");
  expect(desk?.status()).toBe(200);
  await expect(page).toHaveTitle("客服工作台 · 客服后台");
  // A page the role may not open answers 403.
  const response = await page.goto("/staff");
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId("forbidden")).toBeVisible();
});

test("the language switch works and survives a reload", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await expect(page.locator("h1")).toHaveText("登录客服后台");
  await page.getByTestId("lang-switch").click();
  await expect(page.locator("h1")).toHaveText("Sign in to Kefu");
  await expect(page.getByTestId("login-submit")).toHaveText("Sign in");
  await page.reload();
  await expect(page.locator("h1")).toHaveText("Sign in to Kefu");
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  // And back to Chinese.
  await hydrated(page);
  await page.getByTestId("lang-switch").click();
  await expect(page.locator("h1")).toHaveText("登录客服后台");
  await page.reload();
  await expect(page.locator("h1")).toHaveText("登录客服后台");
});

test("an unknown address shows the 404 page", async ({ page }) => {
  const response = await page.goto("/nope");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toBeVisible();
  await expect(page.locator("h1")).toHaveText("页面不存在");
  await expect(page.getByTestId("nav")).toHaveCount(0);
});

test("signed in, an unknown address keeps the panel's frame around the 404", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page).not.toHaveURL(/\/login$/);
  const response = await page.goto("/players/x/y");
  expect(response?.status()).toBe(404);
  await hydrated(page);
  await expect(page.getByTestId("not-found")).toBeVisible();
  await expect(page.getByTestId("user-name")).toHaveText("admin");
  // The way on is one click away.
  await page.getByTestId("nav-players").click();
  await expect(page).toHaveURL(/\/players$/);
  await expect(page.getByTestId("page-title")).toBeVisible();
});
