/** The rendered serving files, checked by the llama-swap schema (ajv) and systemd-analyze. */
import { load } from "js-yaml";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MODEL_CATALOGUE } from "../../components/serving/catalogue";
import { VLLM_FLAGS } from "../../components/serving/flags";
import { renderStack } from "../../render/render";
import { clone, pulumiConfig, stackObject, verifyUnits } from "../helpers";
import { llamaSwapValidator } from "./llamaSwapSchema";


describe.each([["home"], ["singapore"]])("the %s serving files", (stack) => {
  let files: ReadonlyMap<string, string | Buffer>;
  const file = (p: string) => String(files.get(`hosts/gpu1${p}`));
  beforeAll(async () => {
    files = (await renderStack(stack)).files;
  });

  it("has a llama-swap config that its JSON schema (ajv) accepts", () => {
    const validate = llamaSwapValidator();
    const config = load(file("/etc/infernus/llama-swap/config.yaml")) as Record<string, unknown>;
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    // The schema is live: it refuses what llama-swap refuses.
    expect(validate({ ...config, groups: {} })).toBe(false);
    expect(validate({ ...config, matrix: { vars: { "too-long-name": "x" }, sets: { a: "x" } } })).toBe(false);
  });

  it("starts each model with only the typed options' flags, the catalogue's and infernus' own", () => {
    const config = load(file("/etc/infernus/llama-swap/config.yaml")) as { models: Record<string, { cmd: string }> };
    for (const [name, entry] of Object.entries(config.models)) {
      // llama-swap runs infernus-vllm; vLLM's own arguments are in the model's .args file, one per line.
      expect(entry.cmd).toBe(`/usr/local/bin/infernus-vllm serve ${name}`);
      const args = file(`/etc/infernus/vllm/${name}.args`).split("\n").filter((line) => line && !line.startsWith("#"));
      const allowed = new Set<string>([...Object.values(VLLM_FLAGS), ...MODEL_CATALOGUE[name].vllmArgs.filter((a) => a.startsWith("--"))]);
      for (const flag of args.filter((word) => word.startsWith("--"))) expect(allowed, `${name}: ${flag}`).toContain(flag);
      expect(args.slice(0, 9).join(" ")).toMatch(/^\/opt\/infernus\/vllm\/bin\/vllm serve \/srv\/models\/[a-z0-9-]+ --served-model-name [a-z0-9-]+ --host 127\.0\.0\.1 --port 58[0-9][0-9]$/);
    }
  });

  it("puts the models that swap out to sleep at the plan's level, and keeps the embedder resident", () => {
    const settings = (name: string) => Object.fromEntries(file(`/etc/infernus/vllm/${name}.conf`).split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split("=")));
    expect(settings("gpt-oss-120b")).toEqual({ PORT: "5801", GPU: "0", NEED_MIB: "73360", SLEEP_LEVEL: "1", LOAD_SECONDS: "900", DRAIN_SECONDS: "120", FREE_SECONDS: "120" });
    expect(settings("qwen3-embedding-8b")).toMatchObject({ PORT: "5803", SLEEP_LEVEL: "0" });
    // Sleep mode and its endpoints only where the model sleeps; vLLM listens on loopback either way.
    expect(file("/etc/infernus/vllm/gpt-oss-120b.args")).toContain("\n--enable-sleep-mode\n");
    expect(file("/etc/infernus/vllm/gpt-oss-120b.env")).toContain("\nVLLM_SERVER_DEV_MODE=1\n");
    expect(file("/etc/infernus/vllm/qwen3-embedding-8b.args")).not.toContain("--enable-sleep-mode");
    expect(file("/etc/infernus/vllm/qwen3-embedding-8b.env")).not.toContain("VLLM_SERVER_DEV_MODE");
    for (const name of ["gpt-oss-120b", "qwen3-coder-30b", "qwen3-embedding-8b"]) expect(file(`/etc/infernus/vllm/${name}.env`)).toContain("\nVLLM_CACHE_ROOT=/var/lib/infernus-llm/cache/vllm\n");
  });

  it("loads the first resident set when llama-swap starts, and lets an unload wait for the drain", () => {
    const config = load(file("/etc/infernus/llama-swap/config.yaml")) as { hooks: unknown; unloadTimeout: number };
    expect(config.hooks).toEqual({ on_startup: { preload: ["gpt-oss-120b", "qwen3-embedding-8b"] } });
    expect(config.unloadTimeout).toBe(240);
  });

  it("has a polkit rule that lets only llama-swap's user start and stop only the vLLM units (the rule run as polkit runs it)", () => {
    let rule: ((action: unknown, subject: unknown) => string) | undefined;
    const polkit = { Result: { YES: "yes", NOT_HANDLED: "not handled" }, addRule: (fn: typeof rule) => (rule = fn) };
    // polkitd runs rules files as ECMAScript 5 (duktape) with this polkit object in scope.
    new Function("polkit", file("/etc/polkit-1/rules.d/50-infernus-vllm.rules"))(polkit);
    const decide = (user: string, unit: string, verb: string, id = "org.freedesktop.systemd1.manage-units") => rule!({ id, lookup: (key: string) => ({ unit, verb })[key] }, { user });
    expect(decide("infernus-llm", "infernus-vllm@gpt-oss-120b.service", "start")).toBe("yes");
    expect(decide("infernus-llm", "infernus-vllm@gpt-oss-120b.service", "stop")).toBe("yes");
    expect(decide("infernus-llm", "infernus-llama-swap.service", "stop")).toBe("not handled");
    expect(decide("infernus-llm", "infernus-vllm@x.service", "restart")).toBe("not handled");
    expect(decide("infernus-llm", "ssh.service", "stop")).toBe("not handled");
    expect(decide("kirill", "infernus-vllm@gpt-oss-120b.service", "start")).toBe("not handled");
    expect(decide("infernus-llm", "infernus-vllm@gpt-oss-120b.service", "start", "org.freedesktop.systemd1.manage-unit-files")).toBe("not handled");
  });

  it("has unit files (serving, power limits, replication, offsite, metrics) that systemd-analyze verify (real tool) accepts", () => {
    // The apps' units (and their probes) are checked with the apps (test/apps).
    const apps = (stackObject(stack).apps as { name: string }[]).map((a) => `infernus-${a.name}`);
    const units = [...files.keys()].filter((f) => f.startsWith("hosts/gpu1/etc/systemd/system/") && /\.(service|timer)$/.test(f) && !apps.some((a) => path.basename(f).startsWith(`${a}.`) || path.basename(f).startsWith(`${a}-`)) && !path.basename(f).startsWith("infernus-app-probe@"));
    const offsite = stack === "singapore" ? ["infernus-offsite.service", "infernus-offsite.timer"] : [];
    expect(units.map((u) => path.basename(u)).sort()).toEqual(
      [
      ...offsite,
      "infernus-fetch-gpt-oss-120b.service",
      "infernus-fetch-qwen3-coder-30b.service",
      "infernus-fetch-qwen3-embedding-8b.service",
      "infernus-fetch-tiktoken.service",
      "infernus-gpu-power.service",
      "infernus-llama-swap.service",
      "infernus-metrics.service",
      "infernus-vllm@.service",
      "infernus-metrics.timer",
      "infernus-syncoid.service",
      "infernus-syncoid.timer",
      ].sort(),
    );
    const check = verifyUnits(units.map((unit) => ({ name: path.basename(unit), text: String(files.get(unit)) })));
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});

describe("serving convergence", () => {
  async function triggers(config: Record<string, any>) {
    const { files } = await renderStack("test", pulumiConfig(config));
    const plan = JSON.parse(String(files.get("plan.json"))) as { steps: { host: string; step: string; trigger: string }[] };
    return Object.fromEntries(plan.steps.filter((s) => s.host === "gpu1").map((s) => [s.step, s.trigger]));
  }

  it("re-runs only the model and llama-swap steps when a model is added or one option changes", async () => {
    const home = stackObject("home");
    const before = await triggers(home);
    const added = clone(home);
    added.servers[0].models.push("qwen3-coder-30b-fp8");
    const option = clone(home);
    option.servers[0].models[1].maxModelLen = 65536;
    for (const config of [added, option]) {
      const after = await triggers(config);
      const changed = Object.keys(before).filter((step) => before[step] !== after[step]);
      expect(changed.filter((s) => s !== "models")).toEqual(["llama-swap"]);
    }
  });
});
