/**
 * The program as `pulumi preview` and `pulumi up` run it: through @pulumi/pulumi's own run entry,
 * type-checked by ts-node, against the engine stand-in (./engine.ts), for both stacks. What the
 * mock runtime accepts and the engine refuses or warns about shows here.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { deploy, isSecret, leaks, plain, type Deployment } from "./engine";
import { emptyAccount, SECRETS, stackInput } from "./stacks";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The stack outputs that carry keys, passwords or configs with private keys. */
const SECRET_OUTPUTS = ["clientConfigs", "apiKeys", "apiSnippets", "appSnippets", "offsite"];

/** Every secret's plain text in a deployment's state: what must never appear outside a secret. */
function secretTexts(deployment: Deployment): string[] {
  const texts = new Set<string>(Object.values(SECRETS));
  const collect = (value: unknown, inSecret: boolean): void => {
    if (isSecret(value)) return collect((value as { value: unknown }).value, true);
    if (typeof value === "string" && inSecret && value.length >= 16 && value !== UNKNOWN) texts.add(value);
    if (Array.isArray(value)) value.forEach((v) => collect(v, inSecret));
    else if (typeof value === "object" && value !== null) Object.values(value).forEach((v) => collect(v, inSecret));
  };
  // Generated secrets are single values (keys, passwords), not the files that embed them.
  for (const resource of deployment.state.values()) {
    if (!/random:|tls:index\/privateKey/.test(resource.type)) continue;
    collect(resource.outputs, false);
  }
  return [...texts];
}

/** Secret as a whole, or every value in it is (a map of secrets shows each as [secret]). */
function wrapped(value: unknown): boolean {
  if (isSecret(value)) return true;
  if (typeof value !== "object" || value === null) return false;
  const children = Object.values(value);
  return children.length > 0 && children.every(wrapped);
}

describe.each(["home", "singapore"])("the %s stack under the language host", (stack) => {
  let preview: Deployment;
  let up: Deployment;
  beforeAll(async () => {
    const input = { stack, ...stackInput(stack), invoke: emptyAccount, typeCheck: true };
    preview = await deploy({ ...input, preview: true });
    up = await deploy({ ...input, preview: false });
  }, 240_000);

  it("type-checks and runs to the end in a preview and in an update", () => {
    for (const run of [preview, up]) {
      expect(run.stderr).toBe("");
      expect(run.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
    }
  });

  it("logs no warning and no error", () => {
    for (const run of [preview, up]) expect(run.logs.filter((l) => l.severity === "warning" || l.severity === "error")).toEqual([]);
  });

  it("creates every resource once, under a URN of its own, and deletes nothing", () => {
    for (const run of [preview, up]) {
      const urns = run.steps.map((s) => s.urn);
      expect(new Set(urns).size).toBe(urns.length);
      expect(run.steps.every((s) => s.op === "create")).toBe(true);
    }
  });

  it("exports every secret output as a secret, and no output holds a secret's text in the clear", () => {
    for (const name of SECRET_OUTPUTS.filter((n) => n in up.outputs)) expect(wrapped(up.outputs[name]), name).toBe(true);
    expect(leaks(up.outputs, secretTexts(up))).toEqual([]);
  });

  it("keeps every secret wrapped in the state: no resource's inputs or outputs hold its text in the clear", () => {
    const texts = secretTexts(up);
    expect(texts.length).toBeGreaterThan(5);
    for (const resource of up.state.values()) {
      expect(leaks(resource.inputs, texts), `${resource.name} inputs`).toEqual([]);
      expect(leaks(resource.outputs, texts), `${resource.name} outputs`).toEqual([]);
    }
  });

  it("exports no output as undefined, and leaves what only a run knows unknown in a preview", () => {
    for (const [name, value] of Object.entries(up.outputs)) expect(value, name).not.toBeUndefined();
    expect(plain(preview.outputs.selfCheck)).toBe(UNKNOWN);
    expect(typeof plain(up.outputs.selfCheck)).toBe("string");
  });

  it("converges: a second update of the same stack file changes nothing", async () => {
    const again = await deploy({ stack, ...stackInput(stack), invoke: emptyAccount, preview: false, state: up.state });
    expect(again.exitCode).toBe(0);
    expect(again.steps.filter((s) => s.op !== "same")).toEqual([]);
  }, 60_000);
});

describe("the engine stand-in", () => {
  it("refuses a second resource under one URN, as the engine does", async () => {
    const run = await deploy({ stack: "dup", config: {}, preview: true, entry: "test/engine/fixtures/duplicate.ts" });
    expect(run.errors).toEqual(["Duplicate resource URN 'urn:pulumi:dup::infernus::random:index/randomPassword:RandomPassword::twice'; try giving it a unique name"]);
    expect(run.exitCode).not.toBe(0);
  }, 60_000);
});
