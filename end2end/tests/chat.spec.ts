import { test, expect } from "@playwright/test";
import { ADMIN_PASSWORD, chatRow, holdMessages, hydrated, openDesk, openWidget, playerToken, say, signIn, STAFF_PASSWORD } from "./helpers";

test("a player's question reaches the queue, an agent accepts, and they talk both ways live", async ({ browser, request }) => {
  const account = `chat.${Date.now()}`;
  const token = await playerToken(request, account);
  const agent = await openDesk(browser, "agent.e2e");

  const playerContext = await browser.newContext();
  const player = await playerContext.newPage();
  await player.goto(`/widget?token=${token}`);
  await hydrated(player);
  await expect(player.getByRole("heading", { name: "在线客服" })).toBeVisible();
  await expect(player.getByTestId("conn")).toHaveAttribute("data-state", "connected");

  // The player writes; Enter sends.
  await player.getByTestId("composer").fill("你好，我的会员没有生效");
  await player.getByTestId("composer").press("Enter");
  await expect(player.getByTestId("msg").filter({ hasText: "我的会员没有生效" })).toHaveAttribute("data-state", /sent|stored/);
  await expect(player.getByTestId("composer")).toHaveValue("");

  // It waits in the agent's queue, live; the agent opens and accepts it.
  const queued = agent.page.getByTestId("queue").getByTestId("session-item").filter({ hasText: account });
  await expect(queued).toBeVisible();
  await queued.click();
  await expect(agent.page.getByTestId("thread").getByText("你好，我的会员没有生效")).toBeVisible();
  await agent.page.getByTestId("accept").click();
  await expect(agent.page.getByTestId("mine").getByTestId("session-item").filter({ hasText: account })).toBeVisible();
  await expect(agent.page.getByTestId("chat-status")).toHaveText("进行中");
  await expect(agent.page.getByTestId("chat-status")).toHaveAttribute("data-status", "active");

  // The player sees the notice, then the agent's answer.
  await expect(player.getByTestId("thread").getByText("客服 agent.e2e 已接入会话")).toBeVisible();
  await agent.page.getByTestId("composer").fill("您好，请提供一下充值时间");
  await agent.page.getByTestId("composer").press("Enter");
  await expect(player.getByTestId("thread").getByText("您好，请提供一下充值时间")).toBeVisible();

  // And back again, with a second line (Shift+Enter) kept in one message.
  await player.getByTestId("composer").fill("昨天晚上");
  await player.getByTestId("composer").press("Shift+Enter");
  await player.getByTestId("composer").pressSequentially("九点左右");
  await player.getByTestId("composer").press("Enter");
  await expect(agent.page.getByTestId("thread").getByText(/昨天晚上\s+九点左右/)).toBeVisible();

  // Content is text, never HTML.
  await player.getByTestId("composer").fill("<b>粗体</b>");
  await player.getByTestId("composer").press("Enter");
  await expect(agent.page.getByTestId("thread").getByText("<b>粗体</b>")).toBeVisible();

  // A reload of the widget shows the whole conversation from the server.
  await player.reload();
  await hydrated(player);
  await expect(player.getByTestId("thread").getByText("您好，请提供一下充值时间")).toBeVisible();
  await expect(player.getByTestId("thread").getByText("昨天晚上")).toBeVisible();

  await agent.context.close();
  await playerContext.close();
});

test("a widget opened with a bad token says so", async ({ page }) => {
  const r = await page.goto("/widget?token=not-a-token");
  expect(r?.status()).toBe(401);
  await expect(page.getByTestId("widget-invalid")).toBeVisible();
});

test("leaving the desk for another section and coming back keeps the panel working", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await signIn(page, "admin.e2e", STAFF_PASSWORD);
  await page.goto("/desk");
  await hydrated(page);
  await expect(page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  // Client-side navigation away: the chat client's timers must stop with the page.
  await page.getByTestId("nav-players").click();
  await expect(page).toHaveURL(/\/players$/);
  await page.waitForTimeout(1500);
  await page.getByTestId("nav-desk").click();
  await expect(page).toHaveURL(/\/desk$/);
  await expect(page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  expect(errors.filter((e) => /panicked|disposed/.test(e))).toEqual([]);
  await context.close();
});

test("a player's two tabs show the same conversation live", async ({ browser, request }) => {
  const account = `tabs.${Date.now()}`;
  const token = await playerToken(request, account);
  const agent = await openDesk(browser, "agent.e2e");
  const context = await browser.newContext();
  const tabs = [await context.newPage(), await context.newPage()];
  for (const t of tabs) {
    await t.goto(`/widget?token=${token}`);
    await hydrated(t);
    await expect(t.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  }
  await say(tabs[0], "第一个标签页");
  await chatRow(agent.page, "queue", account).click();
  await agent.page.getByTestId("accept").click();
  await say(agent.page, "两个标签页都能看到");
  for (const t of tabs) {
    await expect(t.getByTestId("thread").getByText("两个标签页都能看到")).toBeVisible();
  }
  // The second tab, opened before the chat existed, followed it: it shows the first tab's message once.
  await expect(tabs[1].getByTestId("thread").getByText("第一个标签页")).toHaveCount(1);
  await say(tabs[1], "第二个标签页");
  await expect(tabs[0].getByTestId("thread").getByText("第二个标签页")).toHaveCount(1);
  await expect(agent.page.getByTestId("thread").getByText("第二个标签页")).toHaveCount(1);
  await agent.context.close();
  await context.close();
});

test("when the socket cannot be opened, the widget sends and the agent receives over HTTP", async ({ browser, request }) => {
  const account = `http.${Date.now()}`;
  const token = await playerToken(request, account);
  const agent = await openDesk(browser, "agent.e2e");
  const player = await openWidget(browser, token);
  await say(player.page, "先用实时连接");
  await chatRow(agent.page, "queue", account).click();
  await agent.page.getByTestId("accept").click();
  await expect(agent.page.getByTestId("composer")).toBeEnabled();

  // Every socket the widget opens from now on is closed at once.
  await player.page.routeWebSocket(/\/api\/ws\/chat/, (ws) => ws.close({ code: 1011 }));
  await player.page.reload();
  await hydrated(player.page);
  await expect(player.page.getByTestId("conn")).toHaveAttribute("data-state", "fallback", { timeout: 15_000 });
  const sent = player.page.waitForRequest((r) => r.url().endsWith("/api/chat/send_message") && r.method() === "POST");
  await say(player.page, "走 HTTP 发送");
  await sent;
  await expect(player.page.getByTestId("msg").filter({ hasText: "走 HTTP 发送" })).toHaveAttribute("data-state", /sent|stored/);
  await expect(agent.page.getByTestId("thread").getByText("走 HTTP 发送")).toHaveCount(1);
  await agent.context.close();
  await player.context.close();
});

test("a super admin opens the chat as a player from the player's record", async ({ browser, page, request }) => {
  const account = `as.${Date.now()}`;
  await playerToken(request, account);
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto(`/players/${account}`);
  await hydrated(page);
  const opened = page.context().waitForEvent("page");
  await page.getByTestId("open-chat-as").click();
  const widget = await opened;
  await hydrated(widget);
  await expect(widget.getByRole("heading", { name: "在线客服" })).toBeVisible();
  await expect(widget.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  const agent = await openDesk(browser, "agent.e2e");
  await say(widget, "管理员代发");
  await expect(chatRow(agent.page, "queue", account)).toContainText("管理员代发");
  await agent.context.close();
});

// A real 1×1 PNG, so the browser can decode what it shows.
const PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

/** Every shown image in `scope` has been fetched and decoded. */
async function imagesLoaded(scope: import("@playwright/test").Locator) {
  await expect(scope.first()).toBeVisible();
  await expect
    .poll(() => scope.evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 1)))
    .toBe(true);
}

test("a player opens a chat with a screenshot, the agent sees it and sends one back, pasting and dropping work; a non-image is refused", async ({ browser, request }) => {
  const account = `image.${Date.now()}`;
  const token = await playerToken(request, account);
  const agent = await openDesk(browser, "agent.e2e");
  const player = await openWidget(browser, token);

  // The first thing the player sends is a picture: the chat opens with it.
  await player.page.getByTestId("attach-input").setInputFiles({ name: "充值截图.png", mimeType: "image/png", buffer: PIXEL });
  await imagesLoaded(player.page.getByTestId("thread").getByTestId("msg-image"));
  await expect(player.page.getByTestId("msg").filter({ has: player.page.getByTestId("msg-image") })).toHaveAttribute("data-state", /sent|stored/);

  // The agent's queue says it is a picture; the thread shows it.
  const row = chatRow(agent.page, "queue", account);
  await expect(row).toContainText("[图片]");
  await row.click();
  await imagesLoaded(agent.page.getByTestId("thread").getByTestId("msg-image"));
  await agent.page.getByTestId("accept").click();
  await expect(chatRow(agent.page, "mine", account)).toBeVisible();

  // The agent answers with a picture of their own; while it uploads, the desk says so.
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  await agent.page.route("**/api/cs/upload", async (route) => {
    await held;
    await route.continue();
  });
  await agent.page.getByTestId("attach-input").setInputFiles({ name: "步骤.png", mimeType: "image/png", buffer: PIXEL });
  await expect(agent.page.getByTestId("image-uploading")).toHaveText("图片上传中…");
  release();
  await expect(player.page.getByTestId("thread").getByTestId("msg-image")).toHaveCount(2);
  await expect(agent.page.getByTestId("image-uploading")).toHaveCount(0);
  await agent.page.unroute("**/api/cs/upload");
  await imagesLoaded(player.page.getByTestId("thread").getByTestId("msg-image"));

  // A screenshot pasted into the box (the agent) or dropped on it (the player) goes too;
  // pasted text stays text.
  const bring = (page: import("@playwright/test").Page, kind: "paste" | "drop") =>
    page.getByTestId("composer").evaluate(
      (box, [kind, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], "screenshot.png", { type: "image/png" }));
        const ev = kind === "paste"
          ? new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true })
          : new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true });
        box.dispatchEvent(ev);
      },
      [kind, PIXEL.toString("base64")] as const,
    );
  await bring(agent.page, "paste");
  await expect(player.page.getByTestId("thread").getByTestId("msg-image")).toHaveCount(3);
  await bring(player.page, "drop");
  // Dropped on the thread rather than the box, it goes too (the page never opens the file instead).
  await player.page.getByTestId("thread").evaluate((thread, b64) => {
    const data = new DataTransfer();
    data.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], "s.png", { type: "image/png" }));
    const ev = new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true });
    thread.dispatchEvent(ev);
    if (!ev.defaultPrevented) throw new Error("the drop was left to the browser");
  }, PIXEL.toString("base64"));
  await expect(agent.page.getByTestId("thread").getByTestId("msg-image")).toHaveCount(5);
  // The row updated live says it is a picture too (not the upload id).
  await expect(chatRow(agent.page, "mine", account)).toContainText("[图片]");
  await imagesLoaded(agent.page.getByTestId("thread").getByTestId("msg-image"));
  await agent.page.getByTestId("composer").evaluate((box) => {
    const data = new DataTransfer();
    data.setData("text/plain", "粘贴的文字");
    box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  });
  await expect(player.page.getByTestId("thread").getByTestId("msg-image")).toHaveCount(5);

  // A file that is not an image (whatever its name) is refused, and nothing is sent.
  await player.page.getByTestId("attach-input").setInputFiles({ name: "fake.png", mimeType: "image/png", buffer: Buffer.from("not a picture") });
  await expect(player.page.getByTestId("image-failed")).toHaveText("只能发送 PNG、JPEG、GIF 或 WebP 图片");
  await say(player.page, "收到了吗");
  await expect(agent.page.getByTestId("thread").getByText("收到了吗")).toBeVisible();
  await expect(agent.page.getByTestId("thread").getByTestId("msg-image")).toHaveCount(5);
  await expect(player.page.getByTestId("image-failed")).toHaveCount(0);

  // An upload the hourly bound refuses, or one the network loses, is said
  // under the box, and nothing reaches the agent.
  const failures: [(route: import("@playwright/test").Route) => Promise<void>, string][] = [
    [(route) => route.fulfill({ status: 429, headers: { "Retry-After": "600" }, contentType: "application/json", body: '{"code":429,"message":"too many requests","detail":"too many requests"}' }), "这一小时发的图片太多了，请稍后再发"],
    [(route) => route.abort("connectionreset"), "图片没有发出，请稍后重试"],
  ];
  for (const [answer, said] of failures) {
    await player.page.route("**/api/chat/upload", answer);
    await player.page.getByTestId("attach-input").setInputFiles({ name: "more.png", mimeType: "image/png", buffer: PIXEL });
    await expect(player.page.getByTestId("image-failed")).toHaveText(said);
    await player.page.unroute("**/api/chat/upload");
  }
  await say(player.page, "算了");
  await expect(agent.page.getByTestId("thread").getByText("算了")).toBeVisible();
  await expect(agent.page.getByTestId("thread").getByTestId("msg-image")).toHaveCount(5);
  await expect(player.page.getByTestId("thread").getByTestId("msg-image")).toHaveCount(5);

  await agent.context.close();
  await player.context.close();
});

test("a widget reloaded with a message unsent sends it once, and a chat that cannot be opened gives the text back", async ({ browser, request }) => {
  const account = `wreload.${Date.now()}`;
  const token = await playerToken(request, account);
  const player = await openWidget(browser, token);
  const errors: string[] = [];
  player.page.on("pageerror", (e) => errors.push(e.message));

  // The first message opens the chat; when that fails, nothing is sent and the text is back in the box.
  await player.page.route("**/api/chat/create_session", (route) => route.abort("connectionreset"));
  await say(player.page, "第一条");
  await expect(player.page.getByTestId("chat-open-failed")).toHaveText("没能连上客服，消息没有发出，请稍后重试");
  await expect(player.page.getByTestId("composer")).toHaveValue("第一条");
  await expect(player.page.getByTestId("msg")).toHaveCount(0);
  await player.page.unroute("**/api/chat/create_session");
  await player.page.getByTestId("composer").press("Enter");
  await expect(player.page.getByTestId("msg").filter({ hasText: "第一条" })).toHaveAttribute("data-state", /sent|stored/);
  await expect(player.page.getByTestId("chat-open-failed")).toHaveCount(0);

  // A message the server never got is in the outbox when the page reloads:
  // the page hydrates with it (the server's page had no such row), shows it and sends it, once.
  const release = await holdMessages(player.page);
  await player.page.reload();
  await hydrated(player.page);
  await expect(player.page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  await say(player.page, "重载后送达");
  await expect(player.page.getByTestId("msg").filter({ hasText: "重载后送达" })).toHaveAttribute("data-state", "sending");
  release();
  await player.page.reload();
  await hydrated(player.page);
  await expect(player.page.getByTestId("msg").filter({ hasText: "重载后送达" })).toHaveAttribute("data-state", /sent|stored/);
  await player.page.reload();
  await hydrated(player.page);
  await expect(player.page.getByTestId("thread").getByText("重载后送达")).toHaveCount(1);
  await expect(player.page.getByTestId("thread").getByText("第一条")).toHaveCount(1);
  expect(errors).toEqual([]);
  await player.context.close();
});

test("messages written while the chat is being opened keep their order, and unsent ones all come back to the box", async ({ browser, request }) => {
  const account = `wquick.${Date.now()}`;
  const token = await playerToken(request, account);
  const player = await openWidget(browser, token);
  const errors: string[] = [];
  player.page.on("pageerror", (e) => errors.push(e.message));

  // The chat cannot be opened: both texts written meanwhile come back, in order. The
  // request fails only once both are written (a gate, not a delay: a slow machine
  // must not let it fail in between).
  let failOpen = () => {};
  const failing = new Promise<void>((r) => (failOpen = r));
  await player.page.route("**/api/chat/create_session", async (route) => {
    await failing;
    await route.abort("connectionreset");
  });
  await say(player.page, "甲");
  await say(player.page, "乙");
  failOpen();
  await expect(player.page.getByTestId("chat-open-failed")).toBeVisible();
  await expect(player.page.getByTestId("composer")).toHaveValue("甲\n乙");
  await player.page.unroute("**/api/chat/create_session");
  await player.page.getByTestId("composer").fill("");

  // The chat is slow to open, the first request slowest: three messages
  // written before it is open are sent in the order they were written,
  // with one request to open it.
  let opens = 0;
  let letOpen = () => {};
  const opening = new Promise<void>((r) => (letOpen = r));
  await player.page.route("**/api/chat/create_session", async (route) => {
    opens += 1;
    if (opens === 1) await opening;
    await route.continue();
  });
  await say(player.page, "第一句");
  await say(player.page, "第二句");
  await say(player.page, "第三句");
  // All three are written before the chat is open.
  expect(opens).toBe(1);
  letOpen();
  const messages = player.page.getByTestId("thread").getByTestId("msg");
  for (const text of ["第一句", "第二句", "第三句"]) {
    await expect(messages.filter({ hasText: text })).toHaveAttribute("data-state", /sent|stored/);
  }
  expect(opens).toBe(1);
  // The server stored them in that order: the reloaded page shows them so.
  await player.page.unroute("**/api/chat/create_session");
  await player.page.reload();
  await hydrated(player.page);
  await expect(messages).toHaveText([/第一句/, /第二句/, /第三句/]);
  expect(errors).toEqual([]);
  await player.context.close();
});
