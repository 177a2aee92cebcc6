// Regenerates golden.json: every model's template rendered by the reference (@huggingface/jinja,
// as transformers.js's apply_chat_template calls it) for every conversation of conversations.json.
//   usage (from tests/): node golden/templates/gen.mjs
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";
import { loadModels, chatContext, freezeClock, CLOCK } from "./models.mjs";
import { FEATURES } from "./features.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

export async function renderAll() {
  freezeClock();
  const { conversations } = JSON.parse(fs.readFileSync(path.join(here, "conversations.json"), "utf8"));
  const models = await loadModels();
  const expected = {};
  for (const model of models) {
    const compiled = new Template(model.template);
    expected[model.name] = {};
    for (const conv of conversations) {
      // A fresh parse of the conversation each time: rendering must not see another render's objects.
      const ctx = chatContext(model, JSON.parse(JSON.stringify(conv)));
      try {
        expected[model.name][conv.name] = { output: compiled.render(ctx) };
      } catch (e) {
        expected[model.name][conv.name] = { error: e.message };
      }
    }
  }
  return {
    generated_by: "tests/golden/templates/gen.mjs with @huggingface/jinja (version in tests/package.json)",
    clock_utc_ms: CLOCK,
    models: models.map(({ name, source, template, special_tokens }) => ({ name, source, template, special_tokens })),
    expected,
  };
}

export function renderFeatures() {
  freezeClock();
  return FEATURES.map(([name, template, context = {}, kind]) => {
    const c = { name, template, context };
    try {
      c.output = new Template(template).render(JSON.parse(JSON.stringify(context)));
    } catch (e) {
      c.error = e.message;
      if (kind === "parse") c.parse_error = true;
    }
    return c;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const features = renderFeatures();
  fs.writeFileSync(path.join(here, "features.json"), JSON.stringify({ clock_utc_ms: CLOCK, cases: features }, null, 1) + "\n");
  console.log(`features.json: ${features.length} cases (${features.filter((c) => c.error).length} raise an error)`);
  const golden = await renderAll();
  fs.writeFileSync(path.join(here, "golden.json"), JSON.stringify(golden, null, 1) + "\n");
  let errors = 0, total = 0;
  for (const m of Object.values(golden.expected)) for (const r of Object.values(m)) total++, (errors += r.error ? 1 : 0);
  console.log(`golden.json: ${golden.models.length} models, ${total} renders (${errors} raise an error)`);
}
