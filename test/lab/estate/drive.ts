/**
 * Drives the API the way its users do, from inside a lab namespace, and prints one JSON line of
 * what happened: statuses, errors, streams that ended early, requests per second, and per-request
 * latency and first-chunk delay (the client's arrival minus the backend's send time). A request
 * reset on a kept connection the server had closed is sent again once, as HTTP clients do (the
 * OpenAI SDKs retry connection errors), and counted under `retried`.
 *   usage: drive.ts URL --keys MAP --as NAME[,NAME…] [--ca FILE] [--model M] [--stream]
 *                       [--clients C] [--count N per client] [--seconds S] [--max-tokens T]
 * MAP is in the gateway's api-keys.map format; client i sends the key of the i-th name (cycling).
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { parseArgs } from "node:util";
import { request, type Reply } from "../../gateway/http";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    keys: { type: "string" },
    as: { type: "string" },
    ca: { type: "string" },
    model: { type: "string", default: "gpt-oss-120b" },
    stream: { type: "boolean", default: false },
    clients: { type: "string", default: "1" },
    count: { type: "string" },
    seconds: { type: "string" },
    "max-tokens": { type: "string" },
  },
});

interface Tally {
  statuses: Record<string, number>;
  errors: Record<string, number>;
  incomplete: number;
  retried: number;
  latencyMs: number[];
  firstChunkMs: number[];
}

/** A stream is whole when its tokens come in order, none missing, and it ends with [DONE]. */
function wholeStream(body: string): boolean {
  const events = body.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice("data: ".length));
  if (events.at(-1) !== "[DONE]") return false;
  return events.slice(0, -1).every((event, i) => (JSON.parse(event) as { choices: { delta: { content: string } }[] }).choices[0].delta.content === `t${i}`);
}

function firstChunkDelay(reply: Reply): number {
  const first = /^data: (\{.*\})$/m.exec(reply.body);
  return reply.startedAt + reply.chunkTimes[0] - (JSON.parse(first![1]) as { sentAt: number }).sentAt;
}

function percentile(sorted: readonly number[], p: number): number | null {
  return sorted.length === 0 ? null : Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2));
}

async function client(index: number, base: URL, ca: Buffer | undefined, keys: readonly string[], deadline: number, tally: Tally): Promise<void> {
  const agent = base.protocol === "https:" ? new https.Agent({ keepAlive: true, maxSockets: 1, ca }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  const target = { url: base.origin, ca, agent };
  const maxTokens = values["max-tokens"] ? { max_tokens: Number(values["max-tokens"]) } : {};
  const body = { model: values.model, stream: values.stream, ...maxTokens, messages: [{ role: "user", content: "hi" }] };
  const count = values.count ? Number(values.count) : Infinity;
  const send = () => request(target, "POST", base.pathname, { key: keys[index % keys.length], body });
  for (let sent = 0; sent < count && performance.now() < deadline; sent++) {
    try {
      const reply = await send().catch((error: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
        if (!error.reusedSocket || !["ECONNRESET", "EPIPE"].includes(error.code ?? "")) throw error;
        tally.retried++;
        return send();
      });
      tally.statuses[reply.status] = (tally.statuses[reply.status] ?? 0) + 1;
      if (reply.status !== 200) continue;
      tally.latencyMs.push(reply.ms);
      if (!values.stream) continue;
      if (wholeStream(reply.body)) tally.firstChunkMs.push(firstChunkDelay(reply));
      else tally.incomplete++;
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      tally.errors[reason] = (tally.errors[reason] ?? 0) + 1;
    }
  }
  agent.destroy();
}

async function main(): Promise<void> {
  const map = readFileSync(values.keys!, "utf8");
  const keys = values.as!.split(",").map((name) => {
    const line = new RegExp(`^"Bearer (\\S+)" ${name};$`, "m").exec(map);
    if (!line) throw new Error(`drive.ts: no key named ${name} in ${values.keys}`);
    return line[1];
  });
  const tally: Tally = { statuses: {}, errors: {}, incomplete: 0, retried: 0, latencyMs: [], firstChunkMs: [] };
  const started = performance.now();
  const deadline = started + (values.seconds ? Number(values.seconds) * 1000 : 600_000);
  const base = new URL(positionals[0]);
  const ca = values.ca ? readFileSync(values.ca) : undefined;
  await Promise.all(Array.from({ length: Number(values.clients) }, (_, i) => client(i, base, ca, keys, deadline, tally)));
  const seconds = (performance.now() - started) / 1000;
  const requests = Object.values(tally.statuses).reduce((a, b) => a + b, 0) + Object.values(tally.errors).reduce((a, b) => a + b, 0);
  const latency = [...tally.latencyMs].sort((a, b) => a - b);
  const firstChunk = [...tally.firstChunkMs].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      requests,
      statuses: tally.statuses,
      errors: tally.errors,
      incomplete: tally.incomplete,
      retried: tally.retried,
      seconds: Number(seconds.toFixed(3)),
      rps: Number((requests / seconds).toFixed(1)),
      latencyMs: { p50: percentile(latency, 50), p99: percentile(latency, 99) },
      firstChunkMs: { p50: percentile(firstChunk, 50), p99: percentile(firstChunk, 99) },
    }),
  );
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
