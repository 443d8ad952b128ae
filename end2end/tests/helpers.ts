import { expect, Page } from "@playwright/test";

/** Waits until the WASM bundle hydrated the page (App sets body[data-hydrated]). */
export async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

/** Fills and submits the sign-in form once the page is interactive. */
export async function fillSignIn(page: Page, username: string, password: string) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByTestId("login-username").fill(username);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
}

/** Signs in and waits to leave the sign-in page. */
export async function signIn(page: Page, username: string, password: string) {
  await fillSignIn(page, username, password);
  await expect(page).not.toHaveURL(/\/login$/);
}
