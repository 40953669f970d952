// axe-core in the page under test: injected through the debugging protocol
// (page.evaluate), so the console's Content-Security-Policy stays as served.
"use strict";

const axe = require("axe-core");

/** The page's accessibility violations (WCAG 2.1 A/AA), as readable lines. */
async function axeViolations(page) {
  await page.evaluate(axe.source);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  }));
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

module.exports = { axeViolations };
