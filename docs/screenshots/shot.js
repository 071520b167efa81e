const { chromium } = require('playwright-core');
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const shots = [
    ['intake', 'en-US', '/admin/', 'dashboard-en.png'],
    ['head_qa', 'zh-CN', '/admin/complaint/', 'queue-zh.png'],
  ];
  for (const [user, locale, path, file] of shots) {
    const ctx = await browser.newContext({ locale, viewport: { width: 1360, height: 820 } });
    const page = await ctx.newPage();
    await page.goto('http://127.0.0.1:5077/login');
    await page.fill('#username', user);
    await page.fill('#password', 'demo-pass-2026');
    await page.click('button[type=submit]');
    await page.waitForLoadState('networkidle');
    await page.goto('http://127.0.0.1:5077' + path);
    await page.screenshot({ path: '/tmp/shot/' + file });
    if (file === 'queue-zh.png') {
      const link = await page.$('a[href*="/admin/complaint/details/"]');
      if (link) { await link.click(); await page.waitForLoadState('networkidle');
        await page.screenshot({ path: '/tmp/shot/detail-zh.png', fullPage: false }); }
    }
    await ctx.close();
  }
  await browser.close();
})();
