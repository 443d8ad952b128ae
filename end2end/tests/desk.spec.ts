import { test, expect, APIRequestContext, Browser } from "@playwright/test";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  ADMIN_PASSWORD,
  answerConfirm,
  API_KEY,
  STAFF_PASSWORD,
  chatRow,
  deskWithChat,
  holdMessages,
  hydrated,
  openDesk,
  openWidget,
  playerToken,
  say,
  sendOverHttp,
  Side,
  signIn,
} from "./helpers";

/** A new agent account (as the super admin), with the e2e staff password. */
async function newAgent(request: APIRequestContext, prefix: string, base = "") {
  const login = await request.post(`${base}/api/admin/login`, { data: { username: "admin", password: ADMIN_PASSWORD } });
  const admin = (await login.json()).access_token as string;
  const username = `${prefix}${Date.now() % 1_000_000_000}`;
  const made = await request.post(`${base}/api/admin/admins`, {
    data: { username, password: STAFF_PASSWORD, user_type: "customer_service" },
    headers: { Authorization: `Bearer ${admin}` },
  });
  expect(made.status(), await made.text()).toBe(200);
  return username;
}

/** A player asks, `agent` takes the chat from the queue: both sides ready to talk. */
async function acceptedChat(browser: Browser, request: APIRequestContext, agent: Side, account: string, first: string) {
  const token = await playerToken(request, account);
  const player = await openWidget(browser, token);
  await say(player.page, first);
  await chatRow(agent.page, "queue", account).click();
  await agent.page.getByTestId("accept").click();
  await expect(chatRow(agent.page, "mine", account)).toBeVisible();
  await expect(agent.page.getByTestId("composer")).toBeEnabled();
  return { player, token };
}

test("two agents race for a chat, one gets it, and hands it over with its history", async ({ browser, request }) => {
  const account = `race.${Date.now()}`;
  const token = await playerToken(request, account);
  const [an, bn] = [await newAgent(request, "ra"), await newAgent(request, "rb")];
  const a = await openDesk(browser, an);
  const b = await openDesk(browser, bn);
  const player = await openWidget(browser, token);
  await say(player.page, "我的月卡没有到账");

  // Both see the question in their queue, with how long it has waited, and open it.
  for (const d of [a, b]) {
    await expect(chatRow(d.page, "queue", account).getByTestId("waited")).toHaveText(/已等待 \d+ 分钟/);
    await chatRow(d.page, "queue", account).click();
    await expect(d.page.getByTestId("thread").getByText("我的月卡没有到账")).toBeVisible();
  }
  // Both press accept at the same moment: exactly one wins.
  await Promise.all([a, b].map((d) => d.page.getByTestId("accept").evaluate((el: HTMLElement) => el.click())));
  await expect
    .poll(async () => (await chatRow(a.page, "mine", account).count()) + (await chatRow(b.page, "mine", account).count()))
    .toBe(1);
  const aWon = (await chatRow(a.page, "mine", account).count()) === 1;
  const [winner, loser] = aWon ? [a, b] : [b, a];
  // The loser's desk no longer offers the chat (the server refused or it left the queue).
  await expect(chatRow(loser.page, "queue", account)).toHaveCount(0);
  await expect(chatRow(loser.page, "mine", account)).toHaveCount(0);
  await expect(loser.page.getByTestId("accept")).toHaveCount(0);
  // The loser is told who took it, and the chat no longer stays open on their screen.
  await expect(loser.page.locator('[data-testid="desk-notice"], [data-testid="desk-error"]')).toContainText("已被");
  await expect(loser.page.getByTestId("thread")).toHaveCount(0);
  await expect(winner.page.getByTestId("chat-status")).toHaveText("进行中");

  await say(winner.page, "您好，我帮您查一下");
  await expect(player.page.getByTestId("thread").getByText("您好，我帮您查一下")).toBeVisible();

  // Transfer: the colleague is listed with status and load; the chat moves with its history.
  await winner.page.getByTestId("transfer").click();
  const target = winner.page.locator(`[data-testid="transfer-to"][data-account="${aWon ? bn : an}"]`);
  await expect(target).toHaveCount(1);
  await expect(winner.page.getByTestId("transfer-panel")).toContainText("在线");
  await expect(winner.page.getByTestId("transfer-panel")).toContainText("0/");
  await target.click();
  await expect(chatRow(winner.page, "mine", account)).toHaveCount(0);
  await expect(winner.page.getByTestId("desk-notice")).toContainText(`会话 ${account} 已转接给 ${aWon ? bn : an}。`);
  await expect(winner.page.getByTestId("thread")).toHaveCount(0);
  await expect(loser.page.getByTestId("desk-notice")).toContainText(`把会话 ${account} 转接给了你`);
  await expect(chatRow(loser.page, "mine", account)).toBeVisible();
  await chatRow(loser.page, "mine", account).click();
  const thread = loser.page.getByTestId("thread");
  await expect(thread.getByText("我的月卡没有到账")).toBeVisible();
  await expect(thread.getByText("您好，我帮您查一下")).toBeVisible();
  await expect(thread.getByText(/会话已由 .* 转接给 /)).toBeVisible();
  await say(loser.page, "我来继续处理");
  await expect(player.page.getByTestId("thread").getByText("我来继续处理")).toBeVisible();
  for (const s of [a, b, player]) await s.context.close();
});

test("messages written offline arrive once each, in order, when the agent is back", async ({ browser, request }) => {
  const agent = await openDesk(browser, await newAgent(request, "off"));
  const account = `offline.${Date.now()}`;
  const { player } = await acceptedChat(browser, request, agent, account, "在吗");

  await agent.context.setOffline(true);
  await expect(agent.page.getByTestId("conn")).toHaveAttribute("data-state", "offline");
  for (const text of ["离线一", "离线二", "离线三"]) await say(agent.page, text);
  const mine = agent.page.getByTestId("thread").getByTestId("msg").filter({ hasText: /离线[一二三]/ });
  await expect(mine).toHaveCount(3);
  await expect(mine.nth(2)).toHaveAttribute("data-state", "pending");
  await player.page.waitForTimeout(500);
  await expect(player.page.getByTestId("thread").getByText(/离线/)).toHaveCount(0);

  await agent.context.setOffline(false);
  await expect(agent.page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  const got = player.page.getByTestId("thread").getByTestId("msg").filter({ hasText: /离线[一二三]/ });
  await expect(got).toHaveText([/离线一/, /离线二/, /离线三/]);
  await expect(mine).toHaveText([/离线一/, /离线二/, /离线三/]);
  // Still exactly three after things settle (no resend duplicated one).
  await player.page.waitForTimeout(1000);
  await expect(got).toHaveCount(3);
  for (const s of [agent, player]) await s.context.close();
});

test("an ended chat being read stays open when the desk reconnects", async ({ browser, request }) => {
  const agent = await openDesk(browser, await newAgent(request, "rd"));
  const account = `reread.${Date.now()}`;
  const { player } = await acceptedChat(browser, request, agent, account, "查一下记录");
  await agent.page.getByTestId("end").click();
  await expect(agent.page.getByTestId("chat-status")).toHaveText("已结束");
  await expect(agent.page.getByTestId("read-only")).toHaveText("会话已结束，玩家再发消息会重新打开。");
  // A reconnect: the greeting lists open chats only; the full list that
  // follows still has this one, so it stays on screen.
  await agent.context.setOffline(true);
  await expect(agent.page.getByTestId("conn")).toHaveAttribute("data-state", "offline");
  await agent.context.setOffline(false);
  await expect(agent.page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  await agent.page.waitForTimeout(1000);
  await expect(agent.page.getByTestId("chat-with")).toHaveText(account);
  await expect(agent.page.getByTestId("thread").getByText("查一下记录")).toBeVisible();
  for (const s of [agent, player]) await s.context.close();
});

test("a message left unsent in the outbox is sent after a reload", async ({ browser, request }) => {
  const username = await newAgent(request, "rl");
  const agent = await openDesk(browser, username);
  const account = `reload.${Date.now()}`;
  const { player } = await acceptedChat(browser, request, agent, account, "你好");

  // From now on the socket still works, but the server never receives our messages.
  const release = await holdMessages(agent.page);
  await deskWithChat(agent.page, account);
  await say(agent.page, "重载后送达");
  await expect(agent.page.getByTestId("msg").filter({ hasText: "重载后送达" })).toHaveAttribute("data-state", "sending");
  const saved = await agent.page.evaluate((k) => localStorage.getItem(k), `kefu.outbox.staff.${username}`);
  expect(saved).toContain("重载后送达");

  release();
  await agent.page.reload();
  await hydrated(agent.page);
  await expect(player.page.getByTestId("thread").getByText("重载后送达")).toHaveCount(1);
  // The chat open before the reload is open after it (it is in the address).
  await expect(agent.page).toHaveURL(/\/desk\?chat=/);
  await expect(agent.page.getByTestId("chat-with")).toHaveText(account);
  await expect(agent.page.getByTestId("thread").getByText("重载后送达")).toHaveCount(1);
  await expect
    .poll(() => agent.page.evaluate((k) => localStorage.getItem(k) ?? "[]", `kefu.outbox.staff.${username}`))
    .not.toContain("重载后送达");
  await player.page.waitForTimeout(1000);
  await expect(player.page.getByTestId("thread").getByText("重载后送达")).toHaveCount(1);
  for (const s of [agent, player]) await s.context.close();
});

test("a tab closed with a message unsent leaves it to the next tab, whatever another tab wrote", async ({ browser, request }) => {
  const username = await newAgent(request, "tb");
  const agent = await openDesk(browser, username);
  const account = `tabs.${Date.now()}`;
  const { player } = await acceptedChat(browser, request, agent, account, "你好");
  const key = `kefu.outbox.staff.${username}`;
  const stored = (page: typeof agent.page) => page.evaluate((k) => localStorage.getItem(k) ?? "[]", key);
  const openTab = async () => {
    const page = await agent.context.newPage();
    await deskWithChat(page, account, "goto");
    return page;
  };
  const second = await openTab();

  // The first tab's messages never reach the server from now on.
  await holdMessages(agent.page);
  await deskWithChat(agent.page, account);
  await say(agent.page, "第一页没发出去");
  await expect(agent.page.getByTestId("msg").filter({ hasText: "第一页没发出去" })).toHaveAttribute("data-state", "sending");
  expect(await stored(agent.page)).toContain("第一页没发出去");

  // The second tab sends one of its own, which is acknowledged: the
  // first tab's message stays in the store all the same.
  await say(second, "第二页发出了");
  await expect(player.page.getByTestId("thread").getByText("第二页发出了")).toHaveCount(1);
  await expect(second.getByTestId("msg").filter({ hasText: "第二页发出了" })).not.toHaveAttribute("data-state", "sending");
  await expect.poll(() => stored(second)).not.toContain("第二页发出了");
  expect(await stored(second)).toContain("第一页没发出去");

  // The first tab closes unsent; a tab opened next sends its message, once.
  await agent.page.close();
  await expect(player.page.getByTestId("thread").getByText("第一页没发出去")).toHaveCount(0);
  const third = await openTab();
  await expect(player.page.getByTestId("thread").getByText("第一页没发出去")).toHaveCount(1);
  await expect(third.getByTestId("thread").getByText("第一页没发出去")).toHaveCount(1);
  await expect.poll(() => stored(third)).not.toContain("第一页没发出去");
  await player.page.waitForTimeout(1000);
  await expect(player.page.getByTestId("thread").getByText("第一页没发出去")).toHaveCount(1);
  for (const s of [agent, player]) await s.context.close();
});

test("unread badges, the tab title count, sound and desktop notifications", async ({ browser, request }) => {
  const agent = await openDesk(browser, await newAgent(request, "ur"));
  // Record desktop notifications instead of showing them.
  await agent.context.addInitScript(() => {
    const w = window as unknown as { __notes: string[]; __last: unknown; Notification: unknown };
    w.__notes = [];
    w.Notification = class {
      static permission = "granted";
      static requestPermission() {
        return Promise.resolve("granted");
      }
      onclick: null | (() => void) = null;
      constructor(title: string, options?: { body?: string }) {
        w.__notes.push(`${title}|${options?.body ?? ""}`);
        w.__last = this;
      }
      close() {}
    };
  });
  await agent.page.reload();
  await hydrated(agent.page);
  await expect(agent.page.getByTestId("conn")).toHaveAttribute("data-state", "connected");
  await expect(agent.page.getByTestId("notify-state")).toBeVisible();

  const stamp = Date.now();
  const one = await acceptedChat(browser, request, agent, `unread1.${stamp}`, "第一位玩家");
  const two = await acceptedChat(browser, request, agent, `unread2.${stamp}`, "第二位玩家");
  // The agent looks at the second chat; the first one's player writes twice.
  await expect(agent.page).not.toHaveTitle(/^\(/);
  const head = agent.page.locator(".desk-head");
  const chimes0 = Number(await head.getAttribute("data-chimes"));
  await say(one.player.page, "还有一个问题");
  await say(one.player.page, "麻烦看一下");
  const badge = chatRow(agent.page, "mine", `unread1.${stamp}`).getByTestId("unread");
  await expect(badge).toHaveText("2");
  await expect(agent.page).toHaveTitle(/^\(2\) 客服工作台/);
  await expect(head).toHaveAttribute("data-chimes", String(chimes0 + 2));
  const notes = await agent.page.evaluate(() => (window as unknown as { __notes: string[] }).__notes);
  expect(notes).toContain(`unread1.${stamp} 发来新消息|麻烦看一下`);

  // Sound off: the badge and title still count, no tone.
  await agent.page.getByTestId("sound").uncheck();
  await say(one.player.page, "第三条");
  await expect(badge).toHaveText("3");
  await expect(agent.page).toHaveTitle(/^\(3\) /);
  await expect(head).toHaveAttribute("data-chimes", String(chimes0 + 2));
  // Messages in the open chat raise nothing.
  await say(two.player.page, "我在看的会话");
  await expect(agent.page.getByTestId("thread").getByText("我在看的会话")).toBeVisible();
  await expect(chatRow(agent.page, "mine", `unread2.${stamp}`).getByTestId("unread")).toHaveCount(0);
  await expect(agent.page).toHaveTitle(/^\(3\) /);

  // While the tab is hidden, even the open chat's messages count and alert; coming back reads them.
  const hide = (hidden: boolean) =>
    agent.page.evaluate((h) => {
      Object.defineProperty(document, "hidden", { value: h, configurable: true });
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    }, hidden);
  await hide(true);
  const alerts0 = Number(await head.getAttribute("data-alerts"));
  await say(two.player.page, "你还在看吗");
  const openBadge = chatRow(agent.page, "mine", `unread2.${stamp}`).getByTestId("unread");
  await expect(openBadge).toHaveText("1");
  await expect(agent.page).toHaveTitle(/^\(4\) /);
  await expect(head).toHaveAttribute("data-alerts", String(alerts0 + 1));
  await hide(false);
  await expect(openBadge).toHaveCount(0);
  await expect(agent.page).toHaveTitle(/^\(3\) /);

  // The unread filter lists only the chat with unread messages; clicking its last
  // desktop notification opens it, which clears all counts.
  await agent.page.getByTestId("filter-unread").click();
  await expect(agent.page.getByTestId("mine").getByTestId("session-item")).toHaveCount(1);
  await agent.page.getByTestId("filter-all").click();
  await say(one.player.page, "点通知打开我");
  await expect(badge).toHaveText("4");
  await agent.page.evaluate(() => (window as unknown as { __last: { onclick: () => void } }).__last.onclick());
  await expect(agent.page.getByTestId("chat-with")).toHaveText(`unread1.${stamp}`);
  await expect(badge).toHaveCount(0);
  await expect(agent.page).not.toHaveTitle(/^\(/);
  // Mark important, then the important filter finds it; the choice of sound survives a reload.
  await agent.page.getByTestId("important").click();
  await expect(chatRow(agent.page, "mine", `unread1.${stamp}`)).toHaveAttribute("data-important", "true");
  await agent.page.getByTestId("filter-important").click();
  await expect(agent.page.getByTestId("mine").getByTestId("session-item")).toHaveCount(1);
  await agent.page.reload();
  await hydrated(agent.page);
  await expect(agent.page.getByTestId("sound")).not.toBeChecked();
  for (const s of [agent, one.player, two.player]) await s.context.close();
});

test("the player's record shows a recharge made from the desk", async ({ browser, request }) => {
  const agent = await openDesk(browser, await newAgent(request, "pr"));
  const account = `record.${Date.now()}`;
  const { player } = await acceptedChat(browser, request, agent, account, "我想续费");
  const panel = agent.page.getByTestId("player-panel");
  await expect(panel.getByTestId("pp-account")).toHaveText(account);
  await expect(panel.getByTestId("pp-paid")).toHaveText("¥0.00");
  await expect(panel.getByTestId("pp-expire")).toHaveText("未开通");

  // A bad amount names the field and changes nothing.
  await panel.getByTestId("pp-amount").fill("三十");
  await panel.getByTestId("pp-recharge-submit").click();
  await expect(panel.getByTestId("pp-message")).toHaveText(/金额（元）: 请输入数字/);
  await panel.getByTestId("pp-amount").fill("-5");
  await panel.getByTestId("pp-recharge-submit").click();
  await expect(panel.getByTestId("pp-message")).toHaveText(/金额（元）/);
  await expect(panel.getByTestId("pp-paid")).toHaveText("¥0.00");

  await panel.getByTestId("pp-amount").fill("30");
  // A message from the player while the agent fills the form leaves the form alone.
  await say(player.page, "三十元一个月吗");
  await expect(agent.page.getByTestId("thread").getByText("三十元一个月吗")).toBeVisible();
  await expect(panel.getByTestId("pp-amount")).toHaveValue("30");
  await panel.getByTestId("pp-days").fill("31");
  await panel.getByTestId("pp-remark").fill("聊天中续费");
  await panel.getByTestId("pp-recharge-submit").click();
  await expect(panel.getByTestId("pp-message")).toHaveText(/续费成功，会员到期 \d{4}-\d{2}-\d{2}/);
  await expect(panel.getByTestId("pp-paid")).toHaveText("¥30.00");
  await expect(panel.getByTestId("pp-expire")).not.toHaveText("未开通");
  await expect(panel.getByTestId("pp-recharge")).toHaveCount(1);
  await expect(panel.getByTestId("pp-recharge")).toContainText("¥30.00 · 31 天");
  for (const s of [agent, player]) await s.context.close();
});

test("a long chat opens on its newest page and loads older pages while scrolling up", async ({ browser, request }) => {
  const agent = await openDesk(browser, await newAgent(request, "lg"));
  const account = `long.${Date.now()}`;
  const { player, token } = await acceptedChat(browser, request, agent, account, "第0条");
  const created = await request.post("/api/chat/create_session", {
    headers: { Authorization: `Bearer ${token}` },
    data: { user_account: account },
  });
  expect(created.status(), await created.text()).toBe(200);
  const id = (await created.json()).data.session_id as string;
  // 119 more, as fast as the server takes them: past 20 in a burst it
  // answers 429 and the sender waits (the HTTP API's rate per person).
  // The limit holds however fast the machine is: 119 take at least (119 - 20) / 20 s.
  // (Refusals themselves show only when sending is faster than that.)
  const started = Date.now();
  for (let i = 1; i <= 119; i++) {
    await sendOverHttp(request, token, { session_id: id, content: `第${i}条`, client_msg_id: `long-${i}` });
  }
  expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
  // Reopen the chat: the newest page only (50 of 121, with the accept notice).
  await agent.page.reload();
  await hydrated(agent.page);
  await chatRow(agent.page, "mine", account).click();
  const msgs = agent.page.getByTestId("thread").getByTestId("msg");
  await expect(msgs.last()).toHaveText(/第119条/);
  await expect(msgs).toHaveCount(50);
  await expect(agent.page.getByTestId("thread").getByTestId("day-sep")).toHaveCount(1);
  // A window wider than 1100 px (Playwright's 1280 x 720): the desk fills it, the thread
  // scrolls inside its column and the composer stays in view; the page itself does not scroll.
  expect(agent.page.viewportSize()?.width).toBeGreaterThan(1100);
  await expect(agent.page.getByTestId("composer")).toBeInViewport();
  expect(await agent.page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight)).toBeLessThanOrEqual(1);
  expect(await agent.page.getByTestId("thread").evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
  // Scrolling to the top brings the next pages, keeping the reader's place.
  await agent.page.getByTestId("thread").evaluate((el) => (el.scrollTop = 0));
  await expect(msgs).toHaveCount(100);
  await agent.page.getByTestId("thread").evaluate((el) => (el.scrollTop = 0));
  await expect(msgs).toHaveCount(121);
  await expect(agent.page.getByTestId("all-loaded")).toBeVisible();
  await expect(msgs.first()).toHaveText(/第0条/);
  await expect(agent.page.getByTestId("thread").getByText("第60条")).toHaveCount(1);
  for (const s of [agent, player]) await s.context.close();
});

// ---- a server of the test's own, to restart under the desk ----

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

const BIN = process.env.KEFU_BIN ?? "../target/release/kefu";

function serve(dir: string, port: number): ChildProcess {
  return spawn(BIN, ["serve"], {
    cwd: resolve(process.cwd(), ".."),
    env: {
      ...process.env,
      KEFU_BIND: `127.0.0.1:${port}`,
      KEFU_DATA_DIR: dir,
      KEFU_ADMIN_PASSWORD: ADMIN_PASSWORD,
      KEFU_API_KEY: API_KEY,
      KEFU_LOG: "warn",
    },
    stdio: "ignore",
  });
}

async function ready(request: APIRequestContext, base: string) {
  await expect
    .poll(async () => (await request.get(`${base}/login`).catch(() => null))?.status() ?? 0, { timeout: 20_000 })
    .toBe(200);
}

test("the desk reconnects by itself across a server restart and nothing is lost", async ({ browser, request }) => {
  test.setTimeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), "kefu-restart-"));
  execFileSync(BIN, ["create-admin", "--username", "agent.restart", "--password", STAFF_PASSWORD, "--role", "agent"], {
    env: { ...process.env, KEFU_DATA_DIR: dir },
  });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server = serve(dir, port);
  try {
    await ready(request, base);
    const token = await playerToken(request, "restart.player", base);
    const agent = await openDesk(browser, "agent.restart", { baseURL: base });
    const player = await openWidget(browser, token, { baseURL: base });
    await say(player.page, "重启前");
    await chatRow(agent.page, "queue", "restart.player").click();
    await agent.page.getByTestId("accept").click();
    await expect(agent.page.getByTestId("composer")).toBeEnabled();
    await say(agent.page, "收到");
    await expect(player.page.getByTestId("thread").getByText("收到")).toBeVisible();

    // The server dies without warning.
    const gone = new Promise((done) => server.once("exit", done));
    server.kill("SIGKILL");
    await gone;
    await expect(agent.page.getByTestId("conn")).not.toHaveAttribute("data-state", "connected");
    await say(agent.page, "重启期间客服说");
    await say(player.page, "重启期间玩家说");

    server = serve(dir, port);
    await ready(request, base);
    await expect(agent.page.getByTestId("conn")).toHaveAttribute("data-state", "connected", { timeout: 40_000 });
    await expect(player.page.getByTestId("conn")).toHaveAttribute("data-state", "connected", { timeout: 40_000 });
    // Each side gets the other's message, once, and its own is stored.
    await expect(player.page.getByTestId("thread").getByText("重启期间客服说")).toHaveCount(1, { timeout: 20_000 });
    await expect(agent.page.getByTestId("thread").getByText("重启期间玩家说")).toHaveCount(1, { timeout: 20_000 });
    await expect(agent.page.getByTestId("msg").filter({ hasText: "重启期间客服说" })).toHaveAttribute("data-state", /sent|stored/);
    const all = agent.page.getByTestId("thread").getByTestId("msg");
    await expect(all.filter({ hasText: /重启前|收到|重启期间/ })).toHaveCount(4);
    for (const s of [agent, player]) await s.context.close();
  } finally {
    server.kill("SIGKILL");
  }
});

test("an admin watches an agent's chat read-only", async ({ browser, request }) => {
  const agent = await openDesk(browser, await newAgent(request, "wa"));
  const account = `watch.${Date.now()}`;
  const { player } = await acceptedChat(browser, request, agent, account, "请帮我看看");
  await say(agent.page, "好的，马上");
  const admin = await openDesk(browser, "admin.e2e");
  const row = chatRow(admin.page, "others", account);
  await expect(row).toBeVisible();
  await row.click();
  await expect(admin.page.getByTestId("thread").getByText("好的，马上")).toBeVisible();
  await expect(admin.page.getByTestId("read-only")).toBeVisible();
  await expect(admin.page.getByTestId("composer")).toBeDisabled();
  await expect(admin.page.getByTestId("accept")).toHaveCount(0);
  await expect(admin.page.getByTestId("transfer")).toHaveCount(0);
  // It stays live while watched.
  await say(player.page, "还在吗");
  await expect(admin.page.getByTestId("thread").getByText("还在吗")).toBeVisible();
  for (const s of [agent, admin, player]) await s.context.close();
});

test("quick replies: an agent keeps their own, an admin keeps the team's, a pick fills the box", async ({ browser, request }) => {
  const account = `replies.${Date.now()}`;
  const player = await openWidget(browser, await playerToken(request, account));
  await say(player.page, "在吗");
  const agent = await openDesk(browser, "agent.e2e");
  await chatRow(agent.page, "queue", account).click();
  await agent.page.getByTestId("accept").click();
  await expect(agent.page.getByTestId("composer")).toBeEnabled();

  // The agent adds one of their own; the same text again is refused.
  const greeting = `您好，我是客服小蜀，请问有什么可以帮您？ ${Date.now()}`;
  await agent.page.getByTestId("replies-toggle").click();
  await expect(agent.page.getByTestId("reply-team")).toHaveCount(0);
  await agent.page.getByTestId("reply-text").fill(greeting);
  await agent.page.getByTestId("reply-save").click();
  const mine = agent.page.getByTestId("reply").filter({ hasText: greeting });
  await expect(mine).toBeVisible();
  await expect(agent.page.getByTestId("reply-text")).toHaveValue("");
  await agent.page.getByTestId("reply-text").fill(greeting);
  await agent.page.getByTestId("reply-save").click();
  await expect(agent.page.getByTestId("reply-error")).toContainText("列表里已有这条快捷回复");

  // Picking it puts it in the box, to read over and send with Enter.
  await mine.getByTestId("reply-pick").click();
  await expect(agent.page.getByTestId("replies-panel")).toHaveCount(0);
  await expect(agent.page.getByTestId("composer")).toHaveValue(greeting);
  await agent.page.getByTestId("composer").press("Enter");
  await expect(player.page.getByTestId("thread").getByText(greeting)).toBeVisible();

  // An admin adds one for the whole team: the agent sees it first, marked, and cannot delete it.
  const admin = await openDesk(browser, "admin.e2e");
  const teamText = `充值到账一般需要 5 分钟 ${Date.now()}`;
  await chatRow(admin.page, "others", account).click();
  // Watching someone else's chat, the admin has no message box and no quick replies.
  await expect(admin.page.getByTestId("replies-toggle")).toHaveCount(0);
  await admin.page.goto("/desk");
  await hydrated(admin.page);
  const adminChat = `replies.admin.${Date.now()}`;
  const second = await openWidget(browser, await playerToken(request, adminChat));
  await say(second.page, "你好");
  await chatRow(admin.page, "queue", adminChat).click();
  await admin.page.getByTestId("accept").click();
  await admin.page.getByTestId("replies-toggle").click();
  await admin.page.getByTestId("reply-text").fill(teamText);
  await admin.page.getByTestId("reply-team").check();
  await admin.page.getByTestId("reply-save").click();
  await expect(admin.page.getByTestId("reply").filter({ hasText: teamText })).toBeVisible();

  await agent.page.getByTestId("replies-toggle").click();
  const team = agent.page.getByTestId("reply").filter({ hasText: teamText });
  await expect(team).toContainText("团队");
  await expect(team.getByTestId("reply-delete")).toHaveCount(0);
  await expect(agent.page.getByTestId("reply").first()).toContainText(teamText);

  // The agent deletes their own; it stays gone after a reload.
  await mine.getByTestId("reply-delete").click();
  await expect(mine).toHaveCount(0);
  await deskWithChat(agent.page, account);
  await agent.page.getByTestId("replies-toggle").click();
  await expect(team).toBeVisible();
  await expect(agent.page.getByTestId("reply").filter({ hasText: greeting })).toHaveCount(0);

  for (const side of [agent, admin, player, second]) await side.context.close();
});

test("the search box narrows the chat list to a player's account, in any case", async ({ browser, request }) => {
  const stamp = Date.now();
  const [first, second] = [`Sun.Quan.${stamp}`, `zhou.yu.${stamp}`];
  const players = [];
  for (const account of [first, second]) {
    const side = await openWidget(browser, await playerToken(request, account));
    await say(side.page, "请问");
    players.push(side);
  }
  const agent = await openDesk(browser, "agent.e2e");
  await expect(chatRow(agent.page, "queue", first)).toBeVisible();
  await expect(chatRow(agent.page, "queue", second)).toBeVisible();
  await agent.page.getByTestId("desk-search").fill(`sun.quan.${stamp}`);
  await expect(chatRow(agent.page, "queue", first)).toBeVisible();
  await expect(chatRow(agent.page, "queue", second)).toHaveCount(0);
  // Live updates keep to the search: a new message from the hidden chat does not bring it
  // back, though the desk has it (its row shows it once the search is cleared).
  await say(players[1].page, "还在吗");
  await expect(players[1].page.getByTestId("msg").filter({ hasText: "还在吗" })).toHaveAttribute("data-state", /sent|stored/);
  await expect(agent.page.getByTestId("queue").getByTestId("session-item")).toHaveCount(1);
  await agent.page.getByTestId("desk-search").fill("");
  await expect(chatRow(agent.page, "queue", second)).toContainText("还在吗");
  for (const side of [agent, ...players]) await side.context.close();
});

test("a draft stays with its chat, and a cleared chat does not bring back what the agent sent", async ({ browser, request }) => {
  const username = await newAgent(request, "dr");
  const agent = await openDesk(browser, username);
  const stamp = Date.now();
  const [first, second] = [`draft.a.${stamp}`, `draft.b.${stamp}`];
  const a = await acceptedChat(browser, request, agent, first, "第一位");
  const b = await acceptedChat(browser, request, agent, second, "第二位");
  const errors: string[] = [];
  agent.page.on("pageerror", (e) => errors.push(e.message));

  // Half a reply to the first player, then the second chat: its box is empty, and the
  // half reply is back when the first chat is opened again (never sent to the second).
  await chatRow(agent.page, "mine", first).click();
  await agent.page.getByTestId("composer").fill("给第一位的半句");
  await chatRow(agent.page, "mine", second).click();
  await expect(agent.page.getByTestId("composer")).toHaveValue("");
  await say(agent.page, "第二位您好");
  await expect(b.player.page.getByTestId("thread").getByText("第二位您好")).toBeVisible();
  await chatRow(agent.page, "mine", first).click();
  await expect(agent.page.getByTestId("composer")).toHaveValue("给第一位的半句");
  await agent.page.getByTestId("composer").press("Enter");
  await expect(a.player.page.getByTestId("thread").getByText("给第一位的半句")).toBeVisible();
  await expect(b.player.page.getByTestId("thread").getByText("给第一位的半句")).toHaveCount(0);

  // The keyboard walks the list as it is shown: Alt+↓ / Alt+↑ from the composer, each chat
  // keeping its draft; Tab reaches a row and Enter opens it.
  const shown = await agent.page
    .locator(".desk-list [data-session]")
    .evaluateAll((els) => els.map((e) => e.querySelector(".session-who")!.textContent!.replace("★", "").trim()));
  const [i, j] = [shown.indexOf(first), shown.indexOf(second)];
  expect(Math.abs(i - j)).toBe(1);
  await agent.page.getByTestId("composer").fill("键盘半句");
  await agent.page.getByTestId("composer").press(i < j ? "Alt+ArrowDown" : "Alt+ArrowUp");
  await expect(agent.page.getByTestId("chat-with")).toHaveText(second);
  await expect(chatRow(agent.page, "mine", second)).toHaveAttribute("aria-current", "true");
  await expect(agent.page.getByTestId("composer")).toHaveValue("");
  await agent.page.keyboard.press(i < j ? "Alt+ArrowUp" : "Alt+ArrowDown");
  await expect(agent.page.getByTestId("chat-with")).toHaveText(first);
  await expect(agent.page.getByTestId("composer")).toHaveValue("键盘半句");
  await chatRow(agent.page, "mine", second).focus();
  await agent.page.keyboard.press("Enter");
  await expect(agent.page.getByTestId("chat-with")).toHaveText(second);
  await expect(chatRow(agent.page, "mine", first)).not.toHaveAttribute("aria-current", "true");
  await chatRow(agent.page, "mine", first).click();
  await expect(agent.page.getByTestId("chat-with")).toHaveText(first);
  // Going from chat to chat took the place of the history entry: one Back is the list,
  // Forward the chat last open.
  await agent.page.goBack();
  await expect(agent.page).toHaveURL(/\/desk$/);
  await expect(agent.page.getByTestId("chat-with")).toHaveCount(0);
  await agent.page.goForward();
  await expect(agent.page.getByTestId("chat-with")).toHaveText(first);
  await expect(agent.page.getByTestId("composer")).toHaveValue("键盘半句");
  // "返回列表" and, before the browser has gone back, another chat opened: that chat stays
  // open, in an entry of its own over the list's (the going back does not close it).
  await agent.page.evaluate((account) => {
    const row = [...document.querySelectorAll<HTMLElement>('[data-testid="mine"] [data-testid="session-item"]')]
      .find((r) => r.textContent!.includes(account))!;
    document.querySelector<HTMLElement>('[data-testid="back-to-list"]')!.click();
    row.click();
  }, second);
  await expect(agent.page.getByTestId("chat-with")).toHaveText(second);
  await agent.page.waitForTimeout(1500);
  await expect(agent.page.getByTestId("chat-with")).toHaveText(second);
  await expect(agent.page).toHaveURL(/\/desk\?chat=[^&]+$/);
  await agent.page.goBack();
  await expect(agent.page).toHaveURL(/\/desk$/);
  await expect(agent.page.getByTestId("chat-with")).toHaveCount(0);
  await agent.page.goForward();
  await expect(agent.page.getByTestId("chat-with")).toHaveText(second);
  await chatRow(agent.page, "mine", first).click();
  await expect(agent.page.getByTestId("composer")).toHaveValue("键盘半句");

  // A header button the keyboard is on keeps the focus while the player writes.
  await agent.page.getByTestId("transfer").focus();
  await say(a.player.page, "焦点还在吗");
  await expect(agent.page.getByTestId("thread").getByText("焦点还在吗")).toBeVisible();
  await expect(agent.page.getByTestId("transfer")).toBeFocused();

  // Clearing the history empties the thread; the agent's own sent messages do not come back.
  await say(agent.page, "再补一句");
  await expect(agent.page.getByTestId("msg").filter({ hasText: "再补一句" })).toHaveAttribute("data-state", /sent|stored/);
  await agent.page.getByTestId("clear").click();
  // A message arriving while the question is open redraws the thread under it; "cancel"
  // gives the focus back to the button that asked, and nothing is cleared.
  await expect(agent.page.getByTestId("confirm")).toBeVisible();
  await say(a.player.page, "问的时候来的一句");
  await expect(agent.page.getByTestId("thread").getByText("问的时候来的一句")).toBeVisible();
  await answerConfirm(agent.page, "确定清空该会话的全部消息？此操作不可撤销。", null);
  await expect(agent.page.getByTestId("clear")).toBeFocused();
  await expect(agent.page.getByTestId("thread").getByText("再补一句")).toBeVisible();
  // Asked again, "yes" clears it.
  await agent.page.keyboard.press("Enter");
  await answerConfirm(agent.page, "确定清空该会话的全部消息？此操作不可撤销。", "清空记录");
  await expect(a.player.page.getByTestId("thread").getByText("再补一句")).toHaveCount(0);
  await expect(a.player.page.getByTestId("thread").getByText("问的时候来的一句")).toHaveCount(0);
  await expect(agent.page.getByTestId("thread").getByTestId("msg")).toHaveCount(0);
  await agent.page.waitForTimeout(500);
  await expect(agent.page.getByTestId("thread").getByTestId("msg")).toHaveCount(0);
  expect(errors).toEqual([]);
  for (const side of [agent, a.player, b.player]) await side.context.close();
});

test("on a phone the desk shows the list or the open chat, and goes back with its draft", async ({ browser, request }) => {
  const username = await newAgent(request, "ph");
  const agent = await openDesk(browser, username, { viewport: { width: 390, height: 800 } });
  const account = `phone.${Date.now()}`;
  const player = await openWidget(browser, await playerToken(request, account));
  await say(player.page, "手机上能看到吗");
  await expect(agent.page.getByTestId("chat-with")).toHaveCount(0);
  await chatRow(agent.page, "queue", account).click();
  // The chat is open: the list is out of the way, the thread and composer fit the width.
  await expect(chatRow(agent.page, "queue", account)).toBeHidden();
  await agent.page.getByTestId("accept").click();
  await expect(agent.page.getByTestId("composer")).toBeEnabled();
  await expect(agent.page.getByTestId("chat-with")).toHaveText(account);
  await expect(chatRow(agent.page, "mine", account)).toBeHidden();
  await expect(agent.page.getByTestId("thread").getByText("手机上能看到吗")).toBeInViewport();
  const width = await agent.page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(390);
  // The open chat is in the address, one history entry deeper than the list.
  const chatUrl = /\/desk\?chat=[^&]+$/;
  await expect(agent.page).toHaveURL(chatUrl);
  await agent.page.getByTestId("composer").fill("半句话");
  // Back to the list, and into the chat again: the half-written reply is still there.
  await agent.page.getByTestId("back-to-list").click();
  await expect(chatRow(agent.page, "mine", account)).toBeVisible();
  await expect(agent.page.getByTestId("chat-with")).toHaveCount(0);
  await expect(agent.page).toHaveURL(/\/desk$/);
  // The in-page "back" went back in the history: Forward opens the chat again.
  await agent.page.goForward();
  await expect(agent.page.getByTestId("chat-with")).toHaveText(account);
  await expect(agent.page.getByTestId("composer")).toHaveValue("半句话");
  // The browser's Back (the phone's back gesture) goes to the list, not off the desk.
  await agent.page.goBack();
  await expect(agent.page).toHaveURL(/\/desk$/);
  await expect(agent.page.getByTestId("chat-with")).toHaveCount(0);
  await expect(chatRow(agent.page, "mine", account)).toBeVisible();
  await chatRow(agent.page, "mine", account).click();
  await expect(agent.page).toHaveURL(chatUrl);
  await expect(agent.page.getByTestId("composer")).toHaveValue("半句话");
  await agent.page.getByTestId("composer").press("Enter");
  await expect(player.page.getByTestId("thread").getByText("半句话")).toBeVisible();
  // After a reload the chat is open again, and the in-page back still returns to the list's
  // own history entry (Forward opens the chat again) rather than adding a second one.
  await agent.page.reload();
  await hydrated(agent.page);
  await expect(agent.page.getByTestId("chat-with")).toHaveText(account);
  await agent.page.getByTestId("back-to-list").click();
  await expect(agent.page).toHaveURL(/\/desk$/);
  await agent.page.goForward();
  await expect(agent.page.getByTestId("chat-with")).toHaveText(account);
  // On a wide screen the button is not there: list and chat stand side by side.
  await agent.page.setViewportSize({ width: 1280, height: 800 });
  await expect(agent.page.getByTestId("back-to-list")).toBeHidden();
  await expect(chatRow(agent.page, "mine", account)).toBeVisible();
  // Back on the phone with the chat open, it is handed to a colleague: the chat leaves,
  // and the phone shows the list again rather than an empty page.
  await agent.page.setViewportSize({ width: 390, height: 800 });
  await expect(agent.page.getByTestId("back-to-list")).toBeVisible();
  await expect(chatRow(agent.page, "mine", account)).toBeHidden();
  const other = await newAgent(request, "ph2");
  const colleague = await openDesk(browser, other);
  await agent.page.getByTestId("transfer").click();
  const to = agent.page.locator(`[data-testid="transfer-to"][data-account="${other}"]`);
  await expect(to).toBeInViewport();
  await to.click();
  await expect(agent.page.getByTestId("desk-notice")).toContainText(`会话 ${account} 已转接给 ${other}。`);
  await expect(agent.page.getByTestId("chat-with")).toHaveCount(0);
  await expect(agent.page.getByTestId("back-to-list")).toHaveCount(0);
  await expect(agent.page).toHaveURL(/\/desk$/);
  await expect(agent.page.locator(".desk-list")).toBeInViewport();
  await expect(chatRow(agent.page, "mine", account)).toHaveCount(0);
  await expect(chatRow(colleague.page, "mine", account)).toBeVisible();
  for (const side of [agent, player, colleague]) await side.context.close();
});

test("a link to a chat the agent may not read says so and leaves the list showing", async ({ browser, request }) => {
  const [an, bn] = [await newAgent(request, "lk"), await newAgent(request, "lm")];
  const a = await openDesk(browser, an);
  const account = `link.${Date.now()}`;
  const { player } = await acceptedChat(browser, request, a, account, "链接");
  const id = new URL(a.page.url()).searchParams.get("chat");
  expect(id).toBeTruthy();
  // Another agent follows the link to A's chat, then one to a chat that does not exist:
  // each time the refusal shows, the address drops the chat and the list stays usable.
  const b = await openDesk(browser, bn);
  for (const target of [id!, "no-such-chat"]) {
    await b.page.goto(`/desk?chat=${encodeURIComponent(target)}`);
    await hydrated(b.page);
    await expect(b.page.getByTestId("desk-error")).not.toBeEmpty();
    await expect(b.page).toHaveURL(/\/desk$/);
    await expect(b.page.getByTestId("chat-with")).toHaveCount(0);
    await expect(b.page.getByTestId("desk-select")).toBeVisible();
  }
  // The agent who holds it opens the same link: the chat is there.
  await a.page.goto(`/desk?chat=${id}`);
  await hydrated(a.page);
  await expect(a.page.getByTestId("chat-with")).toHaveText(account);
  await expect(a.page.getByTestId("thread").getByText("链接")).toBeVisible();
  for (const side of [a, b, player]) await side.context.close();
});

test("Back while the desk asks a question withdraws it: nothing is done, and the focus stays in the page", async ({ browser, request }) => {
  const username = await newAgent(request, "bq");
  const agent = await openDesk(browser, username);
  const account = `backq.${Date.now()}`;
  const { player } = await acceptedChat(browser, request, agent, account, "别清空我");
  await expect(agent.page).toHaveURL(/\/desk\?chat=[^&]+$/);
  await agent.page.getByTestId("clear").click();
  await expect(agent.page.getByTestId("confirm")).toBeVisible();
  // Back goes to the list: the question goes with the chat it was about, and the focus
  // (its button is gone with the chat) lands on the page's content, not on nothing.
  await agent.page.goBack();
  await expect(agent.page).toHaveURL(/\/desk$/);
  await expect(agent.page.getByTestId("confirm")).toBeHidden();
  await expect(agent.page.getByTestId("chat-with")).toHaveCount(0);
  await expect(agent.page.locator("main")).toBeFocused();
  // Nothing was cleared: Forward opens the chat with its message, on both sides.
  await agent.page.goForward();
  await expect(agent.page.getByTestId("chat-with")).toHaveText(account);
  await expect(agent.page.getByTestId("thread").getByText("别清空我")).toBeVisible();
  await player.page.reload();
  await hydrated(player.page);
  await expect(player.page.getByTestId("thread").getByText("别清空我")).toBeVisible();
  for (const side of [agent, player]) await side.context.close();
});

test("with a full chat list, a link to a chat the agent may not read still closes it", async ({ browser, request }) => {
  test.setTimeout(120_000);
  // A server of the test's own over demo data large enough that the agent's list (the
  // queue and their own chats, ended ones too) is cut at the desk's 500 rows: the list
  // alone cannot tell that the linked chat is not theirs.
  const dir = mkdtempSync(join(tmpdir(), "kefu-fulllist-"));
  execFileSync(BIN, ["demo-data", "--players", "30000"], { env: { ...process.env, KEFU_DATA_DIR: dir } });
  const colleagues = execFileSync("python3", [
    "-c",
    "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT id FROM chat_sessions WHERE agent = 'daqiao' AND status = 'active'\").fetchone()[0])",
    join(dir, "kefu.db"),
  ]).toString().trim();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = serve(dir, port);
  try {
    await ready(request, base);
    const context = await browser.newContext({ baseURL: base });
    const page = await context.newPage();
    await signIn(page, "xiaoqiao", "demo-password-1");
    for (const target of [colleagues, "no-such-chat"]) {
      await page.goto(`/desk?chat=${encodeURIComponent(target)}`);
      await hydrated(page);
      await expect(page.getByTestId("desk-error")).not.toBeEmpty();
      await expect(page).toHaveURL(/\/desk$/);
      await expect(page.getByTestId("chat-with")).toHaveCount(0);
      await expect(page.getByTestId("desk-select")).toBeVisible();
    }
    await expect(page.getByTestId("session-item")).toHaveCount(500);
    await context.close();
  } finally {
    server.kill("SIGKILL");
  }
});
