/**
 * Swaps as the user makes them, through the gateway: requests alternating between two models that
 * cannot be resident together, a stream in flight on one when the other is asked for, and what the
 * swap mechanism itself costs (a swap's latency less a request with no swap, less the stand-in's
 * simulated sleep and wake). Prints one JSON line.
 *   usage: swaps.ts BASE_URL KEY_FILE CA_FILE MODEL_A MODEL_B COUNT SIMULATED_MS
 */
import { readFileSync } from "node:fs";
import { request, type Reply } from "../../gateway/http";

const [base, keyFile, caFile, a, b, countText, simulatedText] = process.argv.slice(2);
const target = { url: base, ca: readFileSync(caFile) };
const key = readFileSync(keyFile, "utf8").trim();
const count = Number(countText);
const simulatedMs = Number(simulatedText);

// A model's first start is cold (a stand-in vLLM's start and load, llama-swap's health polling): give it time.
const ask = (model: string, maxTokens = 1, stream = false): Promise<Reply> =>
  request(target, "POST", `${new URL(base).pathname}/chat/completions`, { key, timeoutMs: 120_000, body: { model, stream, max_tokens: maxTokens, messages: [{ role: "user", content: "hi" }] } });
const percentile = (values: readonly number[], p: number) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
/** Every token in order, then [DONE]: the stream was not cut. */
const whole = (reply: Reply, tokens: number) => reply.status === 200 && [...Array(tokens).keys()].every((i) => reply.body.includes(`"t${i}"`)) && reply.body.trimEnd().endsWith("data: [DONE]");

async function main(): Promise<void> {
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  /** One request, its status counted, or its error by message (with when and for which model, on stderr). */
  const counted = async (model: string): Promise<Reply | undefined> => {
    const started = Date.now();
    try {
      const reply = await ask(model);
      statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
      if (reply.status !== 200) console.error(`${new Date(started).toISOString()} ${model}: ${reply.status} ${reply.body.slice(0, 200)}`);
      return reply;
    } catch (error) {
      errors[(error as Error).message] = (errors[(error as Error).message] ?? 0) + 1;
      console.error(`${new Date(started).toISOString()} ${model}: ${(error as Error).message} after ${Date.now() - started} ms`);
      return undefined;
    }
  };
  // Both started once (their first start is cold), then a baseline of requests that swap nothing.
  for (const model of [a, b, a]) await counted(model);
  const baseline: number[] = [];
  for (let i = 0; i < 5; i++) baseline.push((await ask(a)).ms);
  const noSwapMs = percentile(baseline, 50);
  const swapMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await counted(i % 2 === 0 ? b : a);
    if (reply) swapMs.push(reply.ms);
  }
  const mechanism = swapMs.map((ms) => ms - noSwapMs - simulatedMs);

  // A long stream on the model in use when the other is asked for: the swap waits for it.
  const loaded = count % 2 === 0 ? a : b;
  const other = loaded === a ? b : a;
  const streaming = ask(loaded, 40, true);
  await new Promise((done) => setTimeout(done, 300));
  const asked = Date.now();
  const swapped = await ask(other);
  const stream = await streaming;
  const streamEnded = stream.startedAt + stream.ms;
  console.log(
    JSON.stringify({
      swaps: count,
      statuses,
      errors,
      noSwapMs: Math.round(noSwapMs),
      swapP50Ms: Math.round(percentile(swapMs, 50)),
      swapP99Ms: Math.round(percentile(swapMs, 99)),
      mechanismP50Ms: Math.round(percentile(mechanism, 50)),
      mechanismP99Ms: Math.round(percentile(mechanism, 99)),
      streamWhole: whole(stream, 40),
      swapAfterStream: swapped.status === 200 && asked + swapped.ms >= streamEnded,
    }),
  );
}

main().catch((error: Error) => {
  console.error(`swaps.ts: ${error.message}`);
  process.exit(1);
});
