/** The gateway's njs usage reader, run by njs itself (the distribution's command-line engine, the one nginx embeds). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tool } from "../helpers";

const scratch = mkdtempSync(path.join(tmpdir(), "infernus-njs-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** usageOf(head, tail) in njs, for a response that arrived whole (head and tail are then the same text). */
function usageOf(response: string): { model: string; prompt: string; completion: string } {
  const script = path.join(scratch, "run.js");
  writeFileSync(script, `import usage from 'usage.js';\nconst text = ${JSON.stringify(response)};\nconsole.log(JSON.stringify(usage.usageOf(text, text)));\n`);
  const run = tool("njs", ["-p", path.resolve("assets/gateway"), script]);
  if (run.status !== 0) throw new Error(`njs: ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout.trim().split("\n").at(-1)!);
}

const sse = (...chunks: object[]) => chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";

describe("the usage reader under njs (the real engine)", () => {
  it("takes the last usage of a stream with continuous usage stats, as vLLM sends them on every chunk", () => {
    const stream = sse(
      { id: "c", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { content: "a" } }], usage: { prompt_tokens: 9, total_tokens: 10, completion_tokens: 1 } },
      { id: "c", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { content: "b" } }], usage: { prompt_tokens: 9, total_tokens: 11, completion_tokens: 2 } },
      { id: "c", object: "chat.completion.chunk", model: "m", choices: [], usage: { prompt_tokens: 9, total_tokens: 11, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 8 } } },
    );
    expect(usageOf(stream)).toEqual({ model: "m", prompt: "9", completion: "2" });
  });

  it("is not fooled by generated text that spells a usage or a model", () => {
    const text = 'here: "usage":{"prompt_tokens":1,"completion_tokens":1} and "model":"fake"';
    const stream = sse({ id: "c", model: "real", choices: [{ index: 0, delta: { content: text } }] }, { id: "c", model: "real", choices: [], usage: { prompt_tokens: 5, total_tokens: 8, completion_tokens: 3 } });
    expect(usageOf(stream)).toEqual({ model: "real", prompt: "5", completion: "3" });
  });

  it("reads a model name with JSON escapes as the name itself", () => {
    expect(usageOf(JSON.stringify({ id: "x", model: 'my "tuned" qwen', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }))).toEqual({ model: 'my "tuned" qwen', prompt: "1", completion: "2" });
  });

  it("gives null counts, not zeros, for an answer without usage (an error, a model list)", () => {
    expect(usageOf(JSON.stringify({ error: { message: "The model `x` does not exist.", type: "NotFoundError", code: 404 } }))).toEqual({ model: "", prompt: "null", completion: "null" });
    expect(usageOf(JSON.stringify({ object: "list", data: [{ id: "m", object: "model" }] }))).toEqual({ model: "", prompt: "null", completion: "null" });
  });

  it("refuses counts that are not whole numbers", () => {
    expect(usageOf(JSON.stringify({ model: "m", usage: { prompt_tokens: "12", completion_tokens: -1 } }))).toEqual({ model: "m", prompt: "null", completion: "null" });
  });
});
