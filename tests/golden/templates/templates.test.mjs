// Chat templates: the committed goldens are what the pinned reference renders today, and
// `onnx-chat template` prints exactly those renders for model folders holding the templates.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { binPath } from "../../lib/paths.mjs";
import { renderAll, renderFeatures } from "./gen.mjs";
import { realNow } from "./models.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const readJson = (f) => JSON.parse(fs.readFileSync(path.join(here, f), "utf8"));

test("golden.json is what the reference renders (regenerate with node golden/templates/gen.mjs)", async () => {
  const fresh = await renderAll();
  const committed = readJson("golden.json");
  assert.deepEqual(fresh.models.map((m) => m.name), committed.models.map((m) => m.name));
  for (const m of fresh.models) {
    const old = committed.models.find((x) => x.name === m.name);
    assert.equal(m.template, old.template, `${m.name}: template changed`);
    assert.deepEqual(m.special_tokens, old.special_tokens);
  }
  assert.deepEqual(fresh.expected, committed.expected);
});

test("features.json is what the reference renders", () => {
  const committed = readJson("features.json");
  assert.deepEqual(renderFeatures(), committed.cases);
});

// A model folder as the server sees it: chat_template.jinja plus the special tokens.
function modelDir(model) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `oc-template-${model.name}-`));
  fs.writeFileSync(path.join(dir, "chat_template.jinja"), model.template);
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(model.special_tokens));
  return dir;
}

test("onnx-chat template prints the reference render", () => {
  const golden = readJson("golden.json");
  const { conversations } = readJson("conversations.json");
  const picks = [
    ["gemma-3", "image_audio_text"],
    ["gemma-3", "multi_turn_no_generation_prompt"],
    ["qwen3", "parallel_tool_calls"],
    ["llama-3.2", "tool_call_and_result"],
    ["qwen3", "tools_nested_schema"],
    ["granite-3.3", "unicode"],
  ];
  for (const [name, convName] of picks) {
    const model = golden.models.find((m) => m.name === name);
    const conv = conversations.find((c) => c.name === convName);
    const dir = modelDir(model);
    try {
      fs.writeFileSync(path.join(dir, "messages.json"), JSON.stringify(conv.messages));
      const args = ["template", dir, "--messages", path.join(dir, "messages.json")];
      if (conv.tools) {
        fs.writeFileSync(path.join(dir, "tools.json"), JSON.stringify(conv.tools));
        args.push("--tools", path.join(dir, "tools.json"));
      }
      if (conv.add_generation_prompt === false) args.push("--no-generation-prompt");
      const r = spawnSync(binPath(), args, { encoding: "utf8", env: { ...process.env, TZ: "UTC" } });
      const expected = golden.expected[name][convName];
      if (name === "llama-3.2") {
        // These print today's date (strftime_now): compare with the date replaced.
        assert.equal(r.status, 0, r.stderr);
        const today = realNow();
        const pattern = expected.output.replace(/26 Jul 2025|2025-07-26/g, "<DATE>");
        const got = r.stdout.replace(
          new RegExp(
            `${String(today.getUTCDate()).padStart(2, "0")} ${today.toLocaleString("en-US", { month: "short", timeZone: "UTC" })} ${today.getUTCFullYear()}|${today.toISOString().slice(0, 10)}`,
            "g",
          ),
          "<DATE>",
        );
        assert.equal(got, pattern, `${name} / ${convName}`);
      } else {
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, expected.output, `${name} / ${convName}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("onnx-chat template reports the template's own error", () => {
  const golden = readJson("golden.json");
  const model = golden.models.find((m) => m.name === "gemma-3");
  const dir = modelDir(model);
  try {
    fs.writeFileSync(
      path.join(dir, "messages.json"),
      JSON.stringify([{ role: "user", content: "a" }, { role: "user", content: "b" }]),
    );
    const r = spawnSync(binPath(), ["template", dir, "--messages", path.join(dir, "messages.json")], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Conversation roles must alternate user\/assistant\/user\/assistant\/\.\.\./);
    assert.match(r.stderr, /line \d+, column \d+/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
