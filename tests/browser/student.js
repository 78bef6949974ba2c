// What a student does: open the notebook in JupyterLab, run the cells from the top to the
// first check cell with Shift+Enter, and read the verdict. Usage: node student.js URL SHOT
const { chromium } = require("playwright-core");

(async () => {
  const [url, shot, cells] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1100 } });
    await page.goto(url);
    await page.waitForSelector(".jp-Notebook .jp-Cell", { timeout: 120000 });
    // Wait until the kernel is connected and idle before running anything.
    await page.waitForFunction(() => document.body.innerText.includes("Rust (diffusion workbook)"), null, { timeout: 120000 });
    await page.locator(".jp-Notebook .jp-Cell").first().click();
    await page.keyboard.press("Escape");
    for (let i = 0; i < Number(cells); i++) {
      await page.keyboard.press("Shift+Enter");
      await page.waitForTimeout(150);
    }
    // The verdict must appear in a cell's output, not just anywhere on the page.
    const verdictIn = () => [...document.querySelectorAll(".jp-OutputArea-output")]
      .map((e) => e.innerText).find((t) => /alpha_bar_100: (not implemented yet|.* is right)/.test(t));
    await page.waitForFunction(verdictIn, null, { timeout: 600000 });
    const verdict = await page.evaluate(verdictIn);
    const outputs = page.locator(".jp-OutputArea-output", { hasText: "alpha_bar_100" });
    await outputs.first().scrollIntoViewIfNeeded();
    await page.waitForTimeout(500);
    await page.screenshot({ path: shot, fullPage: false });
    console.log("VERDICT " + verdict.trim().replace(/\n/g, " | "));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
