// Renders test cases with brazejs for render's oracle_test.go.
// stdin: a JSON array of {"template": string, "context": object};
// stdout: a JSON array, one {"out"}, {"abort"} or {"error"} per case.
'use strict';
const Liquid = require('brazejs');

async function renderCase(engine, c) {
  try {
    const tpl = engine.parse(c.template);
    return { out: await engine.render(tpl, c.context) };
  } catch (err) {
    if (err.name === 'AbortError') {
      return { abort: err.message };
    }
    return { error: String(err.message) };
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const engine = new Liquid();
  const results = [];
  for (const c of cases) {
    results.push(await renderCase(engine, c));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(String(err.stack) + '\n');
  process.exit(1);
});
