import { test, expect, APIRequestContext } from "@playwright/test";
import { answerConfirm, hydrated, signIn, watchCalls } from "./helpers";

const ADMIN_PASSWORD = process.env.KEFU_E2E_ADMIN_PASSWORD ?? "";
const STAFF_PASSWORD = process.env.KEFU_E2E_AGENT_PASSWORD ?? "";

async function token(request: APIRequestContext, username: string, password: string) {
  const r = await request.post("/api/cs_login", { data: { username, password } });
  expect(r.status()).toBe(200);
  return (await r.json()).access_token as string;
}

async function seedPlayer(request: APIRequestContext, t: string, body: object) {
  const r = await request.post("/api/admin/users", { data: body, headers: { Authorization: `Bearer ${t}` } });
  expect(r.status(), await r.text()).toBe(200);
}

test("a super admin filters by two filters and the URL keeps them", async ({ page, request }) => {
  const t = await token(request, "admin", ADMIN_PASSWORD);
  await seedPlayer(request, t, { account: "f.one", server_name: "洛阳", game_platform: 1 });
  await seedPlayer(request, t, { account: "f.two", server_name: "洛阳", game_platform: 2 });
  await seedPlayer(request, t, { account: "f.three", server_name: "许昌", game_platform: 1 });
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto("/players");
  await hydrated(page);
  await page.getByTestId("filter-server_name").fill("洛阳");
  await page.getByTestId("filter-game_platform_list").getByLabel("安卓").check();
  // A 0/1 column is a yes/no list (new players are open).
  await page.getByTestId("filter-is_open").selectOption({ label: "是" });
  await page.getByTestId("filter-apply").click();
  await expect(page).toHaveURL(/server_name=%E6%B4%9B%E9%98%B3|server_name=洛阳/);
  await expect(page).toHaveURL(/game_platform_list=1/);
  await expect(page).toHaveURL(/is_open=1/);
  // The address holds the three filters and nothing else: no empty fields, no stray `=`.
  expect([...new URL(page.url()).searchParams.keys()].sort()).toEqual(["game_platform_list", "is_open", "server_name"]);
  await expect(page.getByTestId("row-f.one")).toBeVisible();
  await expect(page.getByTestId("row-f.two")).toHaveCount(0);
  await expect(page.getByTestId("row-f.three")).toHaveCount(0);
  await expect(page.getByTestId("total")).toHaveText("共 1 条");
  // The filtered view survives a reload (it lives in the URL).
  await page.reload();
  await expect(page.getByTestId("row-f.one")).toBeVisible();
  await expect(page.getByTestId("filter-server_name")).toHaveValue("洛阳");
  await expect(page.getByTestId("filter-is_open")).toHaveValue("1");
  await expect(page.getByTestId("filter-game_platform_list").getByLabel("安卓")).toBeChecked();
  await expect(page.getByTestId("filter-game_platform_list").getByLabel("iOS")).not.toBeChecked();
  // A row ticked here is forgotten once the list shows another order (or page, or filter):
  // "delete selected" never takes rows that are out of sight.
  await hydrated(page);
  await page.getByTestId("select-f.one").check();
  await page.getByTestId("sort-account").click();
  await expect(page).toHaveURL(/sort_by=account/);
  await expect(page.getByTestId("row-f.one")).toBeVisible();
  await expect(page.getByTestId("select-f.one")).not.toBeChecked();
});

test("create, recharge with a previewed expiry, history, transfer, batch delete", async ({ page, request }) => {
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    return d.accept();
  });
  const t = await token(request, "admin", ADMIN_PASSWORD);
  await seedPlayer(request, t, { account: "r.target" });
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto("/players");
  await hydrated(page);
  await page.getByTestId("player-new").click();
  await expect(page).toHaveURL(/\/players\/new$/);
  await page.getByTestId("input-account").fill("r.new");
  await page.getByTestId("input-server_name").fill("成都");
  await page.getByTestId("player-save").click();
  await expect(page).toHaveURL(/\/players\/r\.new$/);
  await expect(page.getByTestId("field-server_name")).toHaveText("成都");
  await expect(page.getByTestId("field-membership_expire_date")).toHaveText("");

  // What is wrong is said beside the field it is about, and nothing is asked or stored.
  // An empty amount is refused unless the recharge is a gift: ticking "gift" takes the refusal away.
  await page.getByTestId("recharge-submit").click();
  await expect(page.getByTestId("recharge-error-amount")).toHaveText(/^金额（元）: 请输入数字$/);
  await expect(page.getByTestId("recharge-amount")).toBeFocused();
  await expect(page.getByTestId("recharge-amount")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("confirm")).toBeHidden();
  await page.getByTestId("recharge-gift").check();
  await expect(page.getByTestId("recharge-error-amount")).toHaveCount(0);
  await page.getByTestId("recharge-gift").uncheck();
  await page.getByTestId("recharge-amount").fill("30");
  await page.getByTestId("recharge-days").fill("0");
  await page.getByTestId("recharge-submit").click();
  await expect(page.getByTestId("recharge-error-duration")).toHaveText("时长（天）: 1–3650");
  await expect(page.getByTestId("recharge-days")).toHaveAttribute("aria-invalid", "true");
  // The refused field takes the focus; its name stays its name, the error is its description.
  await expect(page.getByTestId("recharge-days")).toBeFocused();
  await expect(page.getByTestId("recharge-days")).toHaveAccessibleName("时长（天）");
  await expect(page.getByTestId("recharge-days")).toHaveAccessibleDescription("时长（天）: 1–3650");
  await expect(page.getByTestId("confirm")).toBeHidden();
  await page.getByTestId("recharge-days").fill("30");
  await page.getByTestId("recharge-submit").click();
  await expect(page.getByTestId("recharge-error-service_agent")).toHaveText("服务客服: 必填");
  await expect(page.getByTestId("recharge-agent")).toBeFocused();
  await expect(page.getByTestId("recharge-error-duration")).toHaveCount(0);
  await expect(page.getByTestId("recharge-days")).not.toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("confirm")).toBeHidden();
  await page.getByTestId("recharge-agent").fill("小乔");
  // A refusal of the server's lands beside its field too.
  await page.getByTestId("recharge-remark").fill("长".repeat(501));
  await page.getByTestId("recharge-submit").click();
  await answerConfirm(page, /^确认充值？/, "确认充值");
  await expect(page.getByTestId("recharge-error-remark")).toHaveText("备注: 最多 500 个字符");
  await expect(page.getByTestId("recharge-remark")).toBeFocused();
  await expect(page.getByTestId("recharge-result")).toHaveCount(0);
  await expect(page.getByTestId("field-membership_expire_date")).toHaveText("");
  // Asked again with nothing changed and cancelled: the server's word on the form still stands.
  const watch = watchCalls(page);
  let before = await watch.calls();
  await page.getByTestId("recharge-submit").click();
  await answerConfirm(page, /^确认充值？/, null);
  await expect(page.getByTestId("recharge-error-remark")).toHaveText("备注: 最多 500 个字符");
  expect(await watch.calls()).toEqual(before);
  // Editing the field takes the refusal away.
  await page.getByTestId("recharge-remark").fill("");
  await expect(page.getByTestId("recharge-error-remark")).toHaveCount(0);
  await expect(page.getByTestId("recharge-remark")).not.toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("recharge-preview")).toContainText("新到期时间：");
  // Asked first, in a dialog of the page: cancelling changes nothing.
  before = await watch.calls();
  await page.getByTestId("recharge-submit").click();
  await answerConfirm(page, /^确认充值？新到期时间为 \d{4}-\d{2}-\d{2}/, null);
  expect(await watch.calls()).toEqual(before);
  await expect(page.getByTestId("recharge-result")).toHaveCount(0);
  await expect(page.getByTestId("field-membership_expire_date")).toHaveText("");
  await page.getByTestId("recharge-submit").click();
  await answerConfirm(page, /^确认充值？/, "确认充值");
  await expect(page.getByTestId("recharge-result")).toContainText("充值成功");
  await expect(page.getByTestId("field-membership_expire_date")).not.toHaveText("");
  await expect(page.getByTestId("field-membership_pay_money")).toHaveText("30.00");
  await expect(page.getByTestId("recharge-history").locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId("recharge-history").locator("tbody tr").first()).toContainText("小乔");
  // A later refusal does not leave the earlier success showing as if it answered it
  // (the success emptied the amount and the agent).
  await page.getByTestId("recharge-amount").fill("30");
  await page.getByTestId("recharge-days").fill("30");
  await page.getByTestId("recharge-agent").fill("小乔");
  await page.getByTestId("recharge-remark").fill("长".repeat(501));
  await page.getByTestId("recharge-submit").click();
  await answerConfirm(page, /^确认充值？/, "确认充值");
  await expect(page.getByTestId("recharge-error-remark")).toHaveText("备注: 最多 500 个字符");
  await expect(page.getByTestId("recharge-result")).toHaveCount(0);
  await expect(page.getByTestId("recharge-history").locator("tbody tr")).toHaveCount(1);
  await page.getByTestId("recharge-remark").fill("");

  // A transfer the server would refuse is refused before the question is asked.
  await page.getByTestId("transfer-submit").click();
  await expect(page.getByTestId("transfer-result")).toHaveText("目标账号: 必填");
  await expect(page.getByTestId("confirm")).toBeHidden();
  await page.getByTestId("transfer-target").fill(" r.new ");
  await page.getByTestId("transfer-submit").click();
  await expect(page.getByTestId("transfer-result")).toHaveText("目标账号: 不能与转出账号相同");
  await expect(page.getByTestId("confirm")).toBeHidden();
  await page.getByTestId("transfer-target").fill("r.target");
  await page.getByTestId("transfer-submit").click();
  await answerConfirm(page, "确定把会员转移到 r.target 吗？", "转移");
  await expect(page.getByTestId("transfer-result")).toContainText("r.target");
  await expect(page.getByTestId("field-membership_pay_money")).toHaveText("0.00");
  const target = await request.get("/api/admin/users/r.target", { headers: { Authorization: `Bearer ${t}` } });
  expect((await target.json()).data.membership_pay_money).toBe(30);

  // Batch delete two players from the table.
  await page.goto("/players?keyword=r.");
  await hydrated(page);
  await page.getByTestId("select-r.new").check();
  await page.getByTestId("select-r.target").check();
  // Escape cancels: no call is made and both rows stay.
  before = await watch.calls();
  await page.getByTestId("batch-delete").click();
  await expect(page.getByTestId("confirm-text")).toHaveText("确定删除 2 个玩家吗？此操作不可撤销。");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("confirm")).toBeHidden();
  expect(await watch.calls()).toEqual(before);
  await expect(page.getByTestId("row-r.new")).toBeVisible();
  await expect(page.getByTestId("row-r.target")).toBeVisible();
  await page.getByTestId("batch-delete").click();
  await answerConfirm(page, "确定删除 2 个玩家吗？此操作不可撤销。", "删除");
  await expect(page.getByTestId("toast")).toHaveText("已删除 2 个玩家。");
  await expect(page.getByTestId("row-r.new")).toHaveCount(0);
  await expect(page.getByTestId("row-r.target")).toHaveCount(0);
  // Every question was the page's own: the browser's confirm() was never used.
  expect(dialogs).toEqual([]);
});

test("deleting a player or a staff member asks in the page first; only yes deletes", async ({ page, request }) => {
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    return d.dismiss();
  });
  const t = await token(request, "admin", ADMIN_PASSWORD);
  const account = `del.${Date.now()}`;
  await seedPlayer(request, t, { account });
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto(`/players/${account}`);
  await hydrated(page);
  const watch = watchCalls(page);
  const before = await watch.calls();
  await page.getByTestId("player-delete").click();
  await answerConfirm(page, "确定删除 1 个玩家吗？此操作不可撤销。", null);
  expect(await watch.calls()).toEqual(before);
  await expect(page).toHaveURL(new RegExp(`/players/${account.replace(".", "\\.")}$`));
  const kept = await request.get(`/api/admin/users/${account}`, { headers: { Authorization: `Bearer ${t}` } });
  expect(kept.status()).toBe(200);
  // A question belongs to its page: going Back withdraws it unanswered.
  await page.goto(`/players?keyword=${account}`);
  await hydrated(page);
  await page.getByTestId(`row-${account}`).getByRole("link", { name: account }).click();
  await expect(page).toHaveURL(new RegExp(`/players/${account.replace(".", "\\.")}$`));
  await expect(page.getByTestId("player-delete")).toBeVisible();
  await page.getByTestId("player-delete").click();
  await expect(page.getByTestId("confirm")).toBeVisible();
  // The rest of the page is inert while it is open.
  await expect(page.getByTestId("player-edit").click({ trial: true, timeout: 1000 })).rejects.toThrow();
  await page.goBack();
  await expect(page).toHaveURL(/\/players\?keyword=/);
  await expect(page.getByTestId("confirm")).toBeHidden();
  await expect(page.getByTestId(`row-${account}`)).toBeVisible();
  expect((await request.get(`/api/admin/users/${account}`, { headers: { Authorization: `Bearer ${t}` } })).status()).toBe(200);
  await page.goForward();
  await expect(page.getByTestId("player-delete")).toBeVisible();
  await page.getByTestId("player-delete").click();
  await answerConfirm(page, "确定删除 1 个玩家吗？此操作不可撤销。", "删除");
  await expect(page).toHaveURL(/\/players$/);
  const gone = await request.get(`/api/admin/users/${account}`, { headers: { Authorization: `Bearer ${t}` } });
  expect(gone.status()).toBe(404);

  const name = `gan.ning${Date.now() % 100000}`;
  await page.goto("/staff");
  await hydrated(page);
  await page.getByTestId("staff-username").fill(name);
  await page.getByTestId("staff-password").fill("gan-ning-password");
  await page.getByTestId("staff-create").click();
  const row = page.getByTestId(`staff-${name}`);
  await expect(row).toBeVisible();
  const staffCalls = await watch.calls();
  await row.getByTestId("staff-delete").click();
  await answerConfirm(page, `确定删除 ${name} 吗？`, null);
  expect(await watch.calls()).toEqual(staffCalls);
  await expect(row).toBeVisible();
  await row.getByTestId("staff-delete").click();
  await answerConfirm(page, `确定删除 ${name} 吗？`, "删除");
  await expect(row).toHaveCount(0);
  // The focus went back to the delete button, then left with its row: the content area
  // takes it, not the page's body (where the next Tab would start over from the top).
  await expect(page.locator("main")).toBeFocused();
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("staff-table")).toBeVisible();
  await expect(page.getByTestId(`staff-${name}`)).toHaveCount(0);
  expect(dialogs).toEqual([]);
});

test("an admin reads players without edit controls and the API refuses writes", async ({ page, request }) => {
  const t = await token(request, "admin", ADMIN_PASSWORD);
  await seedPlayer(request, t, { account: "ro.player" });
  await signIn(page, "admin.e2e", STAFF_PASSWORD);
  await page.goto("/players");
  await hydrated(page);
  await expect(page.getByTestId("row-ro.player")).toBeVisible();
  await expect(page.getByTestId("player-new")).toHaveCount(0);
  await expect(page.getByTestId("batch-delete")).toHaveCount(0);
  await expect(page.getByTestId("select-ro.player")).toHaveCount(0);
  await page.goto("/players/ro.player");
  await expect(page.getByTestId("page-title")).toHaveText("ro.player");
  await expect(page.getByTestId("recharge-form")).toHaveCount(0);
  await expect(page.getByTestId("player-edit")).toHaveCount(0);
  const admin = await token(request, "admin.e2e", STAFF_PASSWORD);
  const r = await request.post("/api/admin/users", { data: { account: "nope" }, headers: { Authorization: `Bearer ${admin}` } });
  expect(r.status()).toBe(403);
  const edit = await page.goto("/players/ro.player/edit");
  expect(edit?.status()).toBe(403);
});

test("a super admin creates an agent, disables it, and it can no longer sign in", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto("/staff");
  await hydrated(page);
  await page.getByTestId("staff-username").fill("lu.xun");
  await page.getByTestId("staff-password").fill("lu-xun-password");
  await page.getByTestId("staff-role").selectOption("customer_service");
  await page.getByTestId("staff-create").click();
  const row = page.getByTestId("staff-lu.xun");
  await expect(row).toBeVisible();
  await expect(row.getByTestId("staff-status")).toHaveText("启用");
  // The same username again: refused, and the server's reason reads in Chinese.
  await page.getByTestId("staff-username").fill("lu.xun");
  await page.getByTestId("staff-password").fill("lu-xun-password");
  await page.getByTestId("staff-create").click();
  await expect(page.getByTestId("toast")).toHaveText("用户名 lu.xun 已被占用。");
  await expect(page.getByTestId("staff-table").locator('[data-testid="staff-lu.xun"]')).toHaveCount(1);
  // A new password is typed twice, hidden; two that differ change nothing.
  await row.getByTestId("staff-password-change").click();
  await expect(page.getByTestId("password-form")).toContainText("为 lu.xun 设置新密码");
  await expect(page.getByTestId("password-new")).toHaveAttribute("type", "password");
  await page.getByTestId("password-new").fill("lu-xun-new-pass");
  await page.getByTestId("password-again").fill("lu-xun-new-pasS");
  await page.getByTestId("password-save").click();
  await expect(page.getByTestId("password-error")).toHaveText("两次输入的密码不一致。");
  await page.getByTestId("password-again").fill("lu-xun-new-pass");
  await page.getByTestId("password-save").click();
  await expect(page.getByTestId("password-form")).toHaveCount(0);
  await expect(page.getByTestId("toast")).toHaveText("操作成功。");
  await row.getByTestId("staff-toggle").click();
  await expect(row.getByTestId("staff-status")).toHaveText("停用");
  // The audit log shows the writes (the password change too).
  await page.goto("/staff/audit?target=lu.xun");
  await expect(page.getByTestId("audit-table")).toContainText("新建员工");
  await expect(page.getByTestId("audit-table")).toContainText("启用 / 停用员工");
  // The action filter lists the actions by name.
  await hydrated(page);
  await page.getByTestId("audit-action").selectOption({ label: "启用 / 停用员工" });
  await page.getByTestId("audit-action").evaluate((el: HTMLSelectElement) => el.form!.requestSubmit());
  await expect(page).toHaveURL(/action=staff\.status/);
  // The target from the address and the action chosen; the empty fields stay out of it.
  expect([...new URL(page.url()).searchParams.keys()].sort()).toEqual(["action", "target"]);
  await expect(page.getByTestId("audit-table").locator("td[data-action]")).toHaveCount(1);
  // Longer lists page: one entry a page here, the older one a click away.
  await page.goto("/staff/audit?target=lu.xun&size=1");
  await hydrated(page);
  await expect(page.getByTestId("pager")).toContainText("第 1 / 3 页");
  await expect(page.getByTestId("audit-table")).toContainText("启用 / 停用员工");
  await page.getByTestId("page-next").click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByTestId("pager")).toContainText("第 2 / 3 页");
  await page.getByTestId("page-next").click();
  await expect(page).toHaveURL(/page=3/);
  await expect(page.getByTestId("audit-table")).toContainText("新建员工");
  await expect(page.getByTestId("page-prev")).toBeVisible();

  await page.getByTestId("logout").click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.getByTestId("login-username").fill("lu.xun");
  // The old password is no longer right; the new one is, and only then is
  // the account said to be disabled.
  await page.getByTestId("login-password").fill("lu-xun-password");
  await page.getByTestId("login-submit").click();
  await expect(page.getByTestId("login-error")).toHaveText("用户名或密码错误。");
  await page.getByTestId("login-password").fill("lu-xun-new-pass");
  await page.getByTestId("login-submit").click();
  await expect(page.getByTestId("login-error")).toHaveText("此账号已被停用，请联系超级管理员。");
});

test("editing a player keeps what was not changed, and the recharge preview reads in the business time zone", async ({ browser, request }) => {
  const t = await token(request, "admin", ADMIN_PASSWORD);
  const account = `keep.${Date.now()}`;
  const auth = { Authorization: `Bearer ${t}` };
  await seedPlayer(request, t, { account });
  const r = await request.put(`/api/admin/users/${account}/recharge`, {
    headers: auth,
    data: { amount: 12, duration: 30, service_agent: "小乔" },
  });
  expect(r.status(), await r.text()).toBe(200);
  const before = (await (await request.get(`/api/admin/users/${account}`, { headers: auth })).json()).data;
  expect(before.membership_expire_date).toMatch(/\+08:00$/);

  // A browser in another zone than the business's (UTC here, Shanghai there).
  const context = await browser.newContext({ timezoneId: "UTC" });
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept());
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.goto(`/players/${account}`);
  await hydrated(page);
  // The preview of 30 more days keeps the expiry's time of day as the page shows times (business zone).
  await page.getByTestId("recharge-days").fill("30");
  const clock = before.membership_expire_date.slice(11, 16);
  await expect(page.getByTestId("recharge-preview")).toContainText(clock);

  // Only the remarks change; the expiry (with its time of day) and the paid total stay.
  await page.goto(`/players/${account}/edit`);
  await hydrated(page);
  await page.getByTestId("input-remarks").fill("只改备注");
  await page.getByTestId("player-save").click();
  await expect(page).toHaveURL(new RegExp(`/players/${account.replace(".", "\\.")}$`));
  await expect(page.getByTestId("field-remarks")).toHaveText("只改备注");
  const after = (await (await request.get(`/api/admin/users/${account}`, { headers: auth })).json()).data;
  expect(after.membership_expire_date).toBe(before.membership_expire_date);
  expect(after.membership_pay_money).toBe(before.membership_pay_money);
  await context.close();
});
