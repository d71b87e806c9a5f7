// Headless Chromium for tests/hub/test_hub.py.
//
// Reads one JSON command per line on stdin and answers each with one JSON line on stdout:
// {"ok": true, "value": ...} or {"ok": false, "error": "..."}. The test keeps the scenario; this
// only moves the browser. Needs playwright-core (npm; NODE_PATH may point at a global install) and
// a Chromium of the system: CHROMIUM (default /usr/bin/chromium). No browser is downloaded.
"use strict";
const readline = require("readline");
const { chromium } = require("playwright-core");

const TIMEOUT = Number(process.env.BRIDGE_TIMEOUT_MS || 60000);

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // --no-sandbox: Chromium's own sandbox refuses to run as root
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  let context = null;
  let page = null;
  const first = (selector) => page.locator(selector).first();
  const ops = {
    // a fresh browser profile: no cookies, so the next login is another user
    async session({ width = 1280, height = 900 }) {
      if (context) await context.close();
      context = await browser.newContext({ viewport: { width, height } });
      page = await context.newPage();
      page.setDefaultTimeout(TIMEOUT);
    },
    async goto({ url }) { await page.goto(url, { waitUntil: "domcontentloaded" }); return page.url(); },
    async url() { return page.url(); },
    async fill({ selector, value }) { await first(selector).fill(value); },
    async press({ selector, key }) { await first(selector).press(key); },
    async click({ selector }) { await first(selector).click(); },
    // click it if it shows up within `timeout` ms; answers whether it did
    async clickIfShown({ selector, timeout = 5000 }) {
      try { await first(selector).click({ timeout }); return true; } catch { return false; }
    },
    async wait({ selector, state = "visible", timeout = TIMEOUT }) {
      await first(selector).waitFor({ state, timeout });
    },
    async text({ selector }) { return await first(selector).innerText(); },
    async count({ selector }) { return await page.locator(selector).count(); },
    async scroll({ selector }) { await first(selector).scrollIntoViewIfNeeded(); },
    async screenshot({ path, fullPage = false }) { await page.screenshot({ path, fullPage }); },
  };

  const out = (answer) => process.stdout.write(JSON.stringify(answer) + "\n");
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    let command;
    try {
      command = JSON.parse(line);
      if (!(command.op in ops)) throw new Error(`unknown op ${command.op}`);
      if (command.op !== "session" && !page) throw new Error("no session: send {\"op\": \"session\"} first");
      out({ ok: true, value: (await ops[command.op](command)) ?? null });
    } catch (err) {
      out({ ok: false, error: String((err && err.message) || err) });
    }
  }
  await browser.close();
}

main().catch((err) => {
  process.stderr.write(`browser_bridge: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
