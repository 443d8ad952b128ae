import { APIRequestContext, Browser, BrowserContext, BrowserContextOptions, expect, Page } from "@playwright/test";

/** Waits until the WASM bundle hydrated the page (App sets body[data-hydrated]). */
export async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]');
}

/** Watches the calls a page makes to the server (server functions and the API), to show that
 * an action made none. `calls()` returns them once every request the page started before it was
 * asked has been seen: it sends one of its own and waits for that (requests are reported in the
 * order they are sent), so no fixed wait is needed. */
export function watchCalls(page: Page) {
  const seen: string[] = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    seen.push(`${r.method()} ${url.pathname}${url.search}`);
  });
  let marks = 0;
  return {
    async calls(): Promise<string[]> {
      const mark = `/favicon.ico?settled=${++marks}`;
      await page.evaluate((m) => fetch(m).then(() => undefined, () => undefined), mark);
      await expect.poll(() => seen.includes(`GET ${mark}`)).toBe(true);
      return seen.filter((s) => /^\S+ \/(sfn|api)\//.test(s));
    },
  };
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

export const ADMIN_PASSWORD = process.env.KEFU_E2E_ADMIN_PASSWORD ?? "";
export const STAFF_PASSWORD = process.env.KEFU_E2E_AGENT_PASSWORD ?? "";
export const API_KEY = process.env.KEFU_E2E_API_KEY ?? "e2e-api-key";

/** The super admin's token per server, signed in once: sign-ins count before their password is
 * checked, so more than five at the same moment for one username are refused (429). */
const adminTokens = new Map<string, Promise<string>>();

async function adminToken(request: APIRequestContext, base: string, fresh = false) {
  if (fresh || !adminTokens.has(base)) {
    adminTokens.set(
      base,
      (async () => {
        const login = await request.post(`${base}/api/admin/login`, { data: { username: "admin", password: ADMIN_PASSWORD } });
        expect(login.status()).toBe(200);
        return (await login.json()).access_token as string;
      })(),
    );
  }
  return adminTokens.get(base)!;
}

/** Creates a player (as the super admin) and answers a chat token for them from the API-key endpoint. */
export async function playerToken(request: APIRequestContext, account: string, base = "") {
  const create = async (admin: string) =>
    request.post(`${base}/api/admin/users`, {
      data: { account, server_name: "洛阳" },
      headers: { Authorization: `Bearer ${admin}` },
    });
  let created = await create(await adminToken(request, base));
  // A token a test revoked meanwhile (a sign-out everywhere): sign in again.
  if (created.status() === 401) created = await create(await adminToken(request, base, true));
  expect(created.status(), await created.text()).toBe(200);
  const t = await request.post(`${base}/api/chat/user_token`, { data: { account }, headers: { "X-Api-Key": API_KEY } });
  expect(t.status(), await t.text()).toBe(200);
  return (await t.json()).data.access_token as string;
}

export interface Side {
  context: BrowserContext;
  page: Page;
}

/** A staff member's desk in a browser context of its own, connected. */
export async function openDesk(browser: Browser, username: string, options: BrowserContextOptions = {}): Promise<Side> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await signIn(page, username, STAFF_PASSWORD);
  await page.goto("/desk");
  await hydrated(page);
  await expect(page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  return { context, page };
}

/** The player widget in a browser context of its own, connected. */
export async function openWidget(browser: Browser, token: string, options: BrowserContextOptions = {}): Promise<Side> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(`/widget?token=${token}`);
  await hydrated(page);
  await expect(page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  return { context, page };
}

/** Types a message and sends it with Enter. */
export async function say(page: Page, text: string) {
  await page.getByTestId("composer").fill(text);
  await page.getByTestId("composer").press("Enter");
}

/** A chat row of `account` in one of the desk's groups (queue, mine, others). */
export function chatRow(page: Page, group: "queue" | "mine" | "others", account: string) {
  return page.getByTestId(group).getByTestId("session-item").filter({ hasText: account });
}

/**
 * From the page's next chat socket on, its chat messages never reach the
 * server (every other frame does), until the returned function is called.
 */
export async function holdMessages(page: Page): Promise<() => void> {
  let hold = true;
  await page.routeWebSocket(/\/api\/ws\/chat/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (hold && String(m).includes('"type":"message"')) return;
      server.send(m);
    });
  });
  return () => {
    hold = false;
  };
}

/** Loads the desk in `page` again (or for the first time), connected, with `account`'s chat open. */
export async function deskWithChat(page: Page, account: string, load: "reload" | "goto" = "reload") {
  if (load === "reload") await page.reload();
  else await page.goto("/desk");
  await hydrated(page);
  await expect(page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  await chatRow(page, "mine", account).click();
  await expect(page.getByTestId("composer")).toBeEnabled();
}

/**
 * A player's message over the HTTP chat API, as a client should send it: a
 * 429 (more than 20 a second from one person) is tried again after its
 * `Retry-After`. Answers how many times it was refused first.
 */
export async function sendOverHttp(request: APIRequestContext, token: string, data: Record<string, string>) {
  for (let refused = 0; ; refused++) {
    const r = await request.post("/api/chat/send_message", { headers: { Authorization: `Bearer ${token}` }, data });
    if (r.status() === 429) {
      expect(refused, "refused again and again").toBeLessThan(10);
      await new Promise((done) => setTimeout(done, Number(r.headers()["retry-after"]) * 1000));
      continue;
    }
    expect(r.status(), await r.text()).toBe(200);
    return refused;
  }
}

/** Answers the page's confirm dialog (app/src/confirm.rs): checks its question, then presses
 * the button labelled `yes`, or "取消" when `yes` is null, and waits for it to close. */
export async function answerConfirm(page: Page, question: string | RegExp, yes: string | null) {
  const dialog = page.getByTestId("confirm");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId("confirm-text")).toHaveText(question);
  // Announced as a question that needs an answer, named by its text.
  await expect(dialog).toHaveRole("alertdialog");
  await expect(dialog).toHaveAccessibleName(question);
  // Focus starts on "Cancel": an Enter pressed out of habit changes nothing.
  await expect(dialog.getByTestId("confirm-no")).toBeFocused();
  if (yes === null) {
    await dialog.getByTestId("confirm-no").click();
  } else {
    await expect(dialog.getByTestId("confirm-yes")).toHaveText(yes);
    await dialog.getByTestId("confirm-yes").click();
  }
  await expect(dialog).toBeHidden();
}
