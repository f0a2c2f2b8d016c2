/**
 * The GPU server's serving in the lab, one process per role as on the host, from its rendered
 * files: `backend` is one model's server (where vLLM runs) on the port the llama-swap config
 * proxies to; `swap` is llama-swap's front door on the address its unit listens on.
 *   usage: serving.ts backend CONFIG MODEL CHUNKS CADENCE_MS
 *          serving.ts swap CONFIG UNIT
 *          serving.ts processes CONFIG UNIT   (llama-swap's process side too: each model's cmd)
 */
import { load } from "js-yaml";
import { readFileSync } from "node:fs";
import { startBackend } from "../../gateway/http";
import { StandInProcesses, type ProcessConfig } from "../../serving/standInProcesses";
import { startStandInSwap, type SwapConfig } from "../../serving/standInSwap";

type RenderedSwap = SwapConfig & ProcessConfig;

async function main(): Promise<void> {
  const [role, configFile, ...rest] = process.argv.slice(2);
  const config = load(readFileSync(configFile, "utf8")) as RenderedSwap;
  const proxyOf = (model: string) => new URL(config.models[model].proxy);
  if (role === "backend") {
    const [model, chunks, cadenceMs] = rest;
    const proxy = proxyOf(model);
    await startBackend({ host: proxy.hostname, port: Number(proxy.port), chunks: Number(chunks), cadenceMs: Number(cadenceMs), models: [model] });
    return;
  }
  if (role === "swap" || role === "processes") {
    const listen = /--listen (\S+):(\d+)/.exec(readFileSync(rest[0], "utf8"));
    if (!listen) throw new Error(`serving.ts: no --listen in ${rest[0]}`);
    const backends = Object.fromEntries(Object.keys(config.models).map((model) => [model, { port: Number(proxyOf(model).port) }]));
    // processes: llama-swap's own part too, each model's cmd run and swapped as it does.
    const processes = role === "processes" ? new StandInProcesses(config) : undefined;
    await startStandInSwap(config, backends, { listen: { host: listen[1], port: Number(listen[2]) }, processes });
    if (processes) {
      const shutdown = () => void processes.stopAll().then(() => process.exit(0));
      process.on("SIGTERM", shutdown);
      process.on("SIGINT", shutdown);
      await processes.preload();
    }
    return;
  }
  throw new Error("usage: serving.ts backend CONFIG MODEL CHUNKS CADENCE_MS | serving.ts swap CONFIG UNIT");
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
