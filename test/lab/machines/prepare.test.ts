/** The pure parts of the booted-machine lab's preparation: the feed order and the file patch. */
import { describe, expect, it } from "vitest";
import { composeStdin } from "../../../components/host/stdin";
import * as path from "node:path";
import { estateInput, parseEstateConfig } from "../../../components/config/load";
import { stackConfig } from "../../../render/stackFile";
import { edit, feedOrder, replaceFile, swapPair } from "./prepare";

type Json = Record<string, unknown>;

const step = (host: string, order: number, name: string, after?: string[]) => ({ host, order, step: name, trigger: `${host}-${order}`, ...(after ? { after } : {}) });

describe("the lab's feed of the rendered steps", () => {
  it("runs each host's chain in its order, a step only after the other hosts' steps it waits for", () => {
    const steps = [step("edge", 1, "wireguard"), step("edge", 2, "self-check", ["gpu1/exporters"]), step("gpu1", 1, "wireguard"), step("gpu1", 2, "exporters")];
    expect(feedOrder(steps).map((s) => `${s.host}/${s.step}`)).toEqual(["edge/wireguard", "gpu1/wireguard", "gpu1/exporters", "edge/self-check"]);
  });

  it("refuses steps that wait for each other", () => {
    expect(() => feedOrder([step("a", 1, "x", ["b/y"]), step("b", 1, "y", ["a/x"])])).toThrow("steps wait for each other in a cycle: a/x, b/y");
  });

  it("replaces one file of a step's stdin, keeping its mode and owner, as the program would have sent it", () => {
    const files = [
      { path: "/etc/a.conf", mode: "0600", owner: "root:nut", content: "old\n" },
      { path: "/etc/b.conf", mode: "0644", content: "other\n" },
    ];
    const stdin = composeStdin({ host: "h", step: "s", params: {}, files, script: "true\n" });
    expect(replaceFile(stdin, "/etc/a.conf", "new\n")).toBe(composeStdin({ host: "h", step: "s", params: {}, files: [{ ...files[0], content: "new\n" }, files[1]], script: "true\n" }));
    expect(() => replaceFile(stdin, "/etc/c.conf", "x")).toThrow("no file /etc/c.conf in this step");
  });
});

describe("the swap lab's pair", () => {
  const server = (models: unknown[]) => parseEstateConfig(estateInput(edit(stackConfig("lab", path.join(__dirname, "..")), "servers", (servers) => void ((servers as unknown as Json[])[0].models = models)))).servers[0];
  it("takes two models no resident set holds together, with the stand-in's sleep and wake as the simulated time", () => {
    expect(swapPair(server(["gpt-oss-120b", { name: "qwen3-coder-30b", maxModelLen: 131072 }, "qwen3-embedding-8b"]))).toEqual({ SWAP_MODELS: "gpt-oss-120b qwen3-coder-30b", SWAP_SIMULATED_MS: "600" });
  });

  it("refuses a server whose models all fit together", () => {
    expect(() => swapPair(server(["qwen3-embedding-8b"]))).toThrow("every model fits beside every other");
  });
});
