// The web console end to end, in Debian's headless Chromium driven by playwright-core: starts
// the real tokenledgerd (port 0, a temporary data dir), signs in with its admin token, creates
// a token and reads the secret from the dialog, checks through the API that the secret
// validates, creates a second, ticks both, revokes them through the confirmation dialog and
// checks through the API that both are revoked. Saves a screenshot of the list.
//
//   node console_test.mjs --bin build/bin --artifacts build/artifacts
// Exits 0 when every check passed, 1 on the first failure (with the page's screenshot).
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => {
  if (arg.startsWith("--")) pairs.push([arg.slice(2), all[i + 1]]);
  return pairs;
}, []));
const bin = resolve(args.bin || "build/bin");
const artifacts = resolve(args.artifacts || "build/artifacts");
const chromiumPath = args.chromium || "/usr/bin/chromium";
mkdirSync(artifacts, { recursive: true });

const deadline = setTimeout(() => fail("the test took longer than 120 s"), 120_000);
let server, browser, page, dataDir;
let checks = 0;

function check(condition, what) {
  if (!condition) throw new Error("check failed: " + what);
  checks++;
  console.log("ok " + checks + " - " + what);
}

async function fail(message) {
  console.error("FAIL: " + message);
  if (page) await page.screenshot({ path: join(artifacts, "console-failure.png"), fullPage: true }).catch(() => {});
  await cleanUp();
  process.exit(1);
}

async function cleanUp() {
  clearTimeout(deadline);
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) server.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

// Starts tokenledgerd and resolves with its base URL once it prints its listening line.
function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), "tokenledger-browser-"));
  server = spawn(join(bin, "tokenledgerd"), ["--data-dir", join(dataDir, "data"), "--listen", "127.0.0.1:0"],
                 { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolveUrl, reject) => {
    let seen = "";
    const onData = (chunk) => {
      seen += chunk;
      const m = /tokenledgerd listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m) resolveUrl(m[1]);
    };
    server.stdout.on("data", onData);
    server.stderr.on("data", onData);
    server.on("exit", (code) => reject(new Error("tokenledgerd exited with " + code + ":\n" + seen)));
    setTimeout(() => reject(new Error("tokenledgerd did not start:\n" + seen)), 20_000);
  });
}

async function api(url, admin, method, path, body) {
  const response = await fetch(url + path, {
    method,
    headers: { "Authorization": "Bearer " + admin, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function createInConsole(name) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Create Access Token" }).click();
  const dialog = page.locator("#secret-dialog");
  await dialog.waitFor({ state: "visible" });
  check(await dialog.getByText("only time the secret is shown").isVisible(), "the secret dialog warns it is shown once (" + name + ")");
  const secret = await page.locator("#secret-value").inputValue();
  check(/^tlpat_[0-9A-Za-z]{38}$/.test(secret), "the dialog shows a token secret (" + name + ")");
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByText("Copied to the clipboard.").waitFor();
  check(true, "Copy puts the secret on the clipboard (" + name + ")");
  await page.getByRole("button", { name: "I have copied it" }).click();
  await dialog.waitFor({ state: "hidden" });
  check(await page.locator("#secret-value").inputValue() === "", "the secret is gone from the page once the dialog closes");
  await page.locator("#tokens tbody tr", { hasText: name }).waitFor();
  return secret;
}

try {
  const url = await startServer();
  const admin = readFileSync(join(dataDir, "data", "admin.token"), "utf8").trim();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    // What Chromium needs on these machines: no sandbox as root, no GPU, and nothing that
    // reaches for Google's services (the network is closed).
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
  page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(e.message));

  await page.goto(url + "/console/");
  check(await page.title() === "Access Tokens · tokenledger", "the console loads");

  // A wrong admin token is refused and nothing is kept.
  await page.getByLabel("Admin token").fill("not-the-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That admin token was refused.").waitFor();
  check(await page.evaluate(() => sessionStorage.getItem("tl.admin")) === null, "a refused admin token is not kept");

  consoleErrors.length = 0;  // the refusal above logged its 401
  await page.getByLabel("Admin token").fill(admin);
  await page.getByLabel(/Your name/).fill("browser-test");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Namespace", { exact: true }).fill("acme/prod");
  await page.getByRole("button", { name: "Open" }).click();
  await page.getByRole("heading", { name: "Access Tokens in acme/prod" }).waitFor();
  check(await page.evaluate(() => localStorage.length) === 0, "nothing is written to local storage");

  const first = await createInConsole("ci-deploy");
  const validated = await fetch(url + "/v1/validate", { method: "POST", body: JSON.stringify({ token: first, namespace: "acme/prod" }) });
  const validation = await validated.json();
  check(validation.active === true, "the secret read from the dialog validates through the API");
  const firstId = validation.token_id;
  await createInConsole("nightly-backup");

  // The list: both tokens, with created, expires, last used and status.
  await page.getByRole("button", { name: "Refresh" }).click();
  const rows = page.locator("#tokens tbody tr");
  await rows.nth(1).waitFor();
  check(await rows.count() === 2, "the list shows both tokens");
  const firstRow = page.locator("#tokens tbody tr", { hasText: "ci-deploy" });
  check((await firstRow.locator(".last-used").innerText()).includes("within the last minute"), "the validated token shows its last use");
  check((await page.locator("#tokens tbody tr", { hasText: "nightly-backup" }).locator(".last-used").innerText()) === "never",
        "the other token was never used");
  check((await firstRow.locator(".status").innerText()) === "active", "the status is shown");
  await page.screenshot({ path: join(artifacts, "console-list.png") });

  // Tick both with the keyboard and the mouse, then revoke through the confirmation dialog.
  await page.getByRole("checkbox", { name: /Select ci-deploy/ }).check();
  await page.getByRole("checkbox", { name: /Select nightly-backup/ }).focus();
  await page.keyboard.press("Space");
  const revoke = page.getByRole("button", { name: "Revoke 2 Tokens" });
  check(await revoke.isEnabled(), "the Revoke button counts the two selected tokens");
  await revoke.click();
  const confirm = page.locator("#revoke-dialog");
  await confirm.waitFor({ state: "visible" });
  check((await confirm.innerText()).includes("cannot be undone"), "the confirmation says revocation cannot be undone");
  // Cancel first: nothing happens.
  await page.getByRole("button", { name: "Cancel" }).click();
  await confirm.waitFor({ state: "hidden" });
  let listed = await api(url, admin, "GET", "/v1/namespaces/acme%2Fprod/tokens?status=active");
  check(listed.body.tokens.length === 2, "cancelling revokes nothing");
  await revoke.click();
  await confirm.waitFor({ state: "visible" });
  await page.getByLabel(/Reason/).fill("rotated out in the console test");
  await confirm.getByRole("button", { name: "Revoke" }).click();
  await page.getByText("Revoked 2 tokens.").waitFor();
  check(true, "the console reports two revocations");

  listed = await api(url, admin, "GET", "/v1/namespaces/acme%2Fprod/tokens?status=all");
  check(listed.body.tokens.length === 2 && listed.body.tokens.every((t) => t.status === "revoked"),
        "the API reports both tokens revoked");
  const again = await (await fetch(url + "/v1/validate", { method: "POST", body: JSON.stringify({ token: first }) })).json();
  check(again.active === false, "the revoked secret no longer validates");

  // The history panel shows the revocation with who did it and why.
  await page.getByLabel("Show").selectOption("all");
  await page.getByRole("button", { name: "History of ci-deploy" }).click();
  const history = page.locator("#history-events");
  await history.locator("li").nth(1).waitFor();
  const text = await history.innerText();
  check(text.includes("Created by browser-test") && text.includes("Revoked by browser-test (rotated out in the console test)"),
        "the history panel shows creation and revocation with actor and reason");
  const audit = await api(url, admin, "GET", "/v1/tokens/" + firstId + "/history");
  check(audit.body.events[1].actor === "browser-test", "the console's X-Actor is recorded in the ledger");

  // A token with a chosen expiry five days out is highlighted as expiring soon.
  const inFiveDays = new Date(Date.now() + 5 * 86400_000).toISOString().slice(0, 10);
  await page.getByLabel(/Expires on/).fill(inFiveDays);
  await createInConsole("staging-preview");
  const soon = page.locator("#tokens tbody tr", { hasText: "staging-preview" }).locator(".soon");
  check(/expires in [45] days/.test(await soon.innerText()), "a token expiring within 30 days is highlighted");
  const created = (await api(url, admin, "GET", "/v1/namespaces/acme%2Fprod/tokens?status=active")).body.tokens[0];
  check(created.expires_at === inFiveDays + "T00:00:00Z", "the chosen expiry reaches the API");
  await page.getByRole("button", { name: "History of ci-deploy" }).click();
  await history.locator("li").nth(1).waitFor();
  await page.screenshot({ path: join(artifacts, "console.png") });

  // Rotate staging-preview without grace: the new secret is shown once and works, the old one
  // is refused at once, and the successor says what it replaces.
  const staging = page.locator("#tokens tbody tr", { hasText: "staging-preview" });
  const oldId = created.id;
  await page.getByRole("button", { name: "Rotate staging-preview" }).click();
  const rotateDialog = page.locator("#rotate-dialog");
  await rotateDialog.waitFor({ state: "visible" });
  check((await rotateDialog.innerText()).includes("stops working at the end of the grace period"),
        "the rotate dialog explains what happens to the old token");
  await page.getByLabel("Old token keeps working for").selectOption("0");
  await rotateDialog.getByRole("button", { name: "Rotate" }).click();
  await page.locator("#secret-dialog").waitFor({ state: "visible" });
  const rotatedSecret = await page.locator("#secret-value").inputValue();
  await page.getByRole("button", { name: "I have copied it" }).click();
  const fresh = await (await fetch(url + "/v1/validate", { method: "POST", body: JSON.stringify({ token: rotatedSecret }) })).json();
  check(fresh.active === true && fresh.token_id !== oldId, "the rotated-in secret validates");
  const oldToken = (await api(url, admin, "GET", "/v1/namespaces/acme%2Fprod/tokens/" + oldId)).body;
  check(oldToken.status === "revoked" && oldToken.rotated_to === fresh.token_id, "the old token is revoked and points to its successor");
  await page.locator("#tokens tbody tr", { hasText: "replaces " + oldId }).waitFor();
  check(await staging.count() === 2, "the list shows the successor beside the old token");
  await page.screenshot({ path: join(artifacts, "console-rotated.png") });

  check(consoleErrors.length === 0, "no errors in the page's console (" + consoleErrors.join("; ") + ")");
  await cleanUp();
  console.log("# " + checks + " checks passed; screenshots in " + artifacts);
  process.exit(0);
} catch (e) {
  await fail(e.stack || e.message);
}
