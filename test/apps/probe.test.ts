/**
 * infernus-app-probe (assets/apps/app-probe.sh) against the gateway on real nginx: podman exec is
 * stood in for by running the same command here (the real node and python3, with the environment
 * the container would have), so the probe's own code meets real TLS, a real key map and the
 * trust each runtime gets from the rendered unit.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderProbeConf } from "../../components/apps/files";
import { startBackend, startGateway, type Gateway } from "../gateway/lab";

const KEY = "sk-infernus-search0000000000000000000000000000000";
const run = promisify(execFile);

describe("infernus-app-probe against the gateway on real nginx", () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let gateway: Gateway;
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-app-probe-"));
  const bin = path.join(dir, "bin");
  const apps = path.join(dir, "apps");
  const textfiles = path.join(dir, "textfile");
  let bundle = "";

  beforeAll(async () => {
    backend = await startBackend({ chunks: 1, cadenceMs: 1, models: ["gpt-oss-120b", "qwen3-embedding-8b"] });
    gateway = startGateway({
      gateway: { port: 18473, upstreamPort: 0, maxRequestMiB: 1, generationTimeoutSeconds: 60, maxStreams: 64 },
      apiKeys: [{ name: "search", requestsPerMinute: 600, burst: 50, rotation: 0 }],
      keys: { search: KEY },
      upstreams: [`127.0.0.1:${backend.port}`],
    });
    mkdirSync(bin);
    mkdirSync(apps);
    // `podman exec -i UNIT CMD…` runs CMD here, in the environment the test gives the container.
    writeFileSync(path.join(bin, "podman"), '#!/bin/sh\n[ "$1" = exec ] || exit 125\nshift 3\nexec "$@"\n');
    chmodSync(path.join(bin, "podman"), 0o755);
    bundle = path.join(dir, "bundle.crt");
    writeFileSync(bundle, readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8") + readFileSync(gateway.paths.certificate, "utf8"));
  });
  afterAll(async () => {
    gateway?.stop();
    await backend?.stop();
  });

  async function probe(runtime: "node" | "python", containerEnv: Record<string, string>, options: { key?: string; models?: string[] } = {}) {
    writeFileSync(
      path.join(apps, "search.probe.json"),
      renderProbeConf({ unit: "infernus-search", runtime, baseUrl: `https://localhost:${gateway.port}/v1`, key: options.key ?? KEY, models: options.models ?? ["gpt-oss-120b", "qwen3-embedding-8b"] }),
    );
    const { stdout } = await run("bash", [path.join(__dirname, "../../assets/apps/app-probe.sh"), "search"], {
      timeout: 90_000,
      env: { PATH: `${bin}:${process.env.PATH}`, INFERNUS_APPS_DIR: apps, INFERNUS_TEXTFILE_DIR: textfiles, ...containerEnv },
    });
    const metrics = readFileSync(path.join(textfiles, "infernus_app_search.prom"), "utf8");
    const up = /^infernus_app_gateway_up\{app="search",status="([^"]*)",missing="([^"]*)"\} (\d)$/m.exec(metrics)!;
    return { stdout, status: up[1], missing: up[2], up: Number(up[3]), at: Number(/^infernus_app_gateway_probe_timestamp_seconds\{app="search"\} (\d+)$/m.exec(metrics)![1]) };
  }

  it("finds the models from Node with the CA in NODE_EXTRA_CA_CERTS, as Perplexica's and n8n's containers have it", async () => {
    const found = await probe("node", { NODE_EXTRA_CA_CERTS: gateway.paths.certificate });
    expect(found).toMatchObject({ status: "200", missing: "", up: 1 });
    expect(Math.abs(found.at - Date.now() / 1000)).toBeLessThan(60);
    expect(found.stdout).toBe("infernus-app-probe: search lists its models at the gateway\n");
    expect(backend.seen.at(-1)).toMatchObject({ path: "/v1/models", client: "search" });
  });

  it("finds the models from Python with the bundle in SSL_CERT_FILE, as Open WebUI's container has it", async () => {
    expect(await probe("python", { SSL_CERT_FILE: bundle })).toMatchObject({ status: "200", missing: "", up: 1 });
  });

  it("says why when it cannot: no trust in the CA, a wrong key, a model the gateway does not list", async () => {
    expect(await probe("node", {})).toMatchObject({ status: "DEPTH_ZERO_SELF_SIGNED_CERT", up: 0 });
    expect(await probe("python", {})).toMatchObject({ status: "CERTIFICATE_VERIFY_FAILED", up: 0 });
    expect(await probe("node", { NODE_EXTRA_CA_CERTS: gateway.paths.certificate }, { key: "sk-infernus-wrong" })).toMatchObject({ status: "401", up: 0 });
    const short = await probe("python", { SSL_CERT_FILE: bundle }, { models: ["gpt-oss-120b", "qwen3-coder-30b"] });
    expect(short).toMatchObject({ status: "200", missing: "qwen3-coder-30b", up: 0 });
    expect(short.stdout).toBe("infernus-app-probe: search: status 200, missing qwen3-coder-30b\n");
  });

  it("takes a model another server serves (listed as server/model) as found", async () => {
    await backend.stop();
    backend = await startBackend({ chunks: 1, cadenceMs: 1, models: ["gpt-oss-120b", "gpu2/qwen3-embedding-8b"], port: backend.port });
    expect(await probe("node", { NODE_EXTRA_CA_CERTS: gateway.paths.certificate })).toMatchObject({ status: "200", missing: "", up: 1 });
  });

  it("refuses a name that is no app, and a missing conf, with what to do", async () => {
    await expect(run("bash", [path.join(__dirname, "../../assets/apps/app-probe.sh"), "../etc"])).rejects.toMatchObject({ code: 64, stderr: expect.stringContaining("usage: infernus-app-probe APP") });
    await expect(run("bash", [path.join(__dirname, "../../assets/apps/app-probe.sh"), "nothing"], { env: { PATH: process.env.PATH, INFERNUS_APPS_DIR: apps } })).rejects.toMatchObject({
      code: 64,
      stderr: expect.stringContaining("nothing.probe.json is missing or unreadable: it is written by pulumi up"),
    });
  });
});
