/**
 * Grafana under mocks and its files. Grafana itself cannot be installed here (apt.grafana.com is
 * out of reach): its settings are checked against its own defaults.ini keys, the dashboards
 * against its published types (a fixture, below) and their queries by a real Prometheus
 * (test/lab/dashboards.test.ts).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { resolve } from "../../render/runtime";
import { DATASOURCE, dashboards, queries } from "../../components/monitoring/dashboards";
import { GRAFANA_PATHS, renderDashboardProviders, renderDatasources, renderGrafanaIni } from "../../components/monitoring/grafana";
import { runEstate, stackObject, tool } from "../helpers";

const TYPES = path.join(__dirname, "fixtures", "grafana", "dashboard_types.gen.ts");

/** go-ini's reading of grafana.ini: sections, `key = value`, # comments. */
function ini(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current = "";
  for (const line of text.split("\n")) {
    if (/^\s*([#;]|$)/.test(line)) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) current = section[1];
    else {
      const [key, ...value] = line.split("=");
      (sections[current] ??= {})[key.trim()] = value.join("=").trim();
    }
  }
  return sections;
}

/** The real tsc on `boards` typed as Grafana's Dashboard; JSON holds an enum's value (MappingType.ValueToText as "value"), so Json<T> reads each string enum as its values. */
function typecheck(boards: readonly unknown[]) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "infernus-dashboards-")), "boards.ts");
  const source = [
    `import type { Dashboard } from ${JSON.stringify(TYPES.replace(/\.ts$/, ""))};`,
    "type Json<T> = T extends string ? `${T}` : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;",
    ...boards.map((board, i) => `export const board${i}: Json<Dashboard> = ${JSON.stringify(board)};`),
  ];
  writeFileSync(file, source.join("\n"));
  return tool(path.join(__dirname, "..", "..", "node_modules", ".bin", "tsc"), ["--noEmit", "--strict", "--skipLibCheck", "--target", "ES2022", "--moduleResolution", "node", file]);
}

describe("Grafana's files", () => {
  it("listens on the tunnel address only, with anonymous access, sign-up and phoning home off", () => {
    const settings = ini(renderGrafanaIni({ address: "10.66.0.1" }));
    expect(settings.server).toMatchObject({ http_addr: "10.66.0.1", http_port: "3030", root_url: "http://10.66.0.1:3030/" });
    expect(settings["auth.anonymous"].enabled).toBe("false");
    expect(settings.users).toMatchObject({ allow_sign_up: "false", allow_org_create: "false" });
    expect(settings.analytics).toMatchObject({ reporting_enabled: "false", check_for_updates: "false" });
    // Expanded by Grafana's file expander (pkg/setting/expanders.go), trimmed: the secret never sits in grafana.ini.
    expect(settings.security.admin_password).toBe(`$__file{${GRAFANA_PATHS.adminPassword}}`);
    // The package's unit passes these on its command line; `grafana cli` reads them from here.
    expect(settings.paths.data).toBe("/var/lib/grafana");
  });

  it("provisions Prometheus on the edge as the one datasource, by the uid every panel names", () => {
    const file = load(renderDatasources("http://10.66.0.1:9090")) as { apiVersion: number; datasources: Record<string, unknown>[] };
    expect(file.apiVersion).toBe(1);
    expect(file.datasources).toEqual([expect.objectContaining({ uid: DATASOURCE.uid, type: "prometheus", url: "http://10.66.0.1:9090", access: "proxy", isDefault: true, editable: false })]);
  });

  it("provisions the dashboards from their folder, read-only in the UI", () => {
    const file = load(renderDashboardProviders()) as { providers: { type: string; allowUiUpdates: boolean; disableDeletion: boolean; options: { path: string } }[] };
    expect(file.providers).toEqual([expect.objectContaining({ type: "file", allowUiUpdates: false, disableDeletion: true, options: expect.objectContaining({ path: GRAFANA_PATHS.dashboards }) })]);
  });

  it("writes dashboards Grafana's published dashboard types accept (real tsc against dashboard_types.gen.ts from grafana/grafana)", () => {
    const tsc = typecheck(dashboards().map((d) => d.json));
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });

  it("refuses, through the same types, a dashboard Grafana would not read", () => {
    const tsc = typecheck([{ ...dashboards()[0].json, schemaVersion: "39", panels: [{ title: "no type" }] }]);
    expect(tsc.status).not.toBe(0);
    expect(tsc.stdout).toMatch(/schemaVersion|type/);
  });

  it("gives every panel a place of its own on Grafana's 24-column grid, and every query the datasource", () => {
    for (const board of dashboards()) {
      const panels = board.json.panels as { id: number; gridPos: { x: number; y: number; w: number; h: number }; targets: { datasource: unknown }[] }[];
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      const cells = panels.flatMap((p) => Array.from({ length: p.gridPos.w }, (_, dx) => `${p.gridPos.x + dx},${p.gridPos.y}`));
      expect(new Set(cells).size).toBe(cells.length);
      expect(panels.every((p) => p.gridPos.x + p.gridPos.w <= 24)).toBe(true);
      expect(panels.flatMap((p) => p.targets).every((t) => t.datasource === DATASOURCE)).toBe(true);
      expect(queries(board).length).toBeGreaterThan(0);
    }
  });
});

describe("Grafana under mocks", () => {
  const monitored = stackObject("singapore");

  it("runs on the edge after Prometheus, with its settings, datasource and the three dashboards", async () => {
    const { result } = await runEstate(monitored);
    const names = result.edge.host.steps.map((s) => s.name);
    expect(names.indexOf("grafana")).toBe(names.indexOf("monitoring") + 1);
    const files = (await resolve(result.edge.host.steps.find((s) => s.name === "grafana")!.files)).value;
    expect(files.map((f) => f.path)).toEqual([
      GRAFANA_PATHS.ini,
      GRAFANA_PATHS.adminPassword,
      GRAFANA_PATHS.datasources,
      GRAFANA_PATHS.providers,
      ...["estate", "serving", "usage"].map((d) => `${GRAFANA_PATHS.dashboards}/infernus-${d}.json`),
    ]);
    expect(load(files[2].content)).toMatchObject({ datasources: [{ url: "http://10.66.0.1:9090" }] });
  });

  it("keeps the admin's password secret: in the step's stdin, its 0640 file and the stack output", async () => {
    const { result, resources } = await runEstate(monitored);
    expect(resources.find((r) => r.name === "edge-grafana")!.secretInputs).toContain("stdin");
    const step = result.edge.host.steps.find((s) => s.name === "grafana")!;
    const password = (await resolve(result.monitoring!.grafana.adminPassword)).value;
    const file = (await resolve(step.files)).value.find((f) => f.path === GRAFANA_PATHS.adminPassword)!;
    expect(file.mode).toBe("0640");
    expect(file.content).toBe(password);
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(await pulumi.isSecret(result.monitoring!.grafana.login)).toBe(true);
    for (const other of result.hosts.flatMap((h) => h.steps).filter((s) => s.name !== "grafana")) expect((await resolve(other.stdin)).value).not.toContain(password);
  });

  it("opens Grafana to the tunnel on the edge, never in the cloud firewall", async () => {
    const { result, resources } = await runEstate(monitored);
    const firewall = resources.find((r) => r.type === "digitalocean:index/firewall:Firewall")!.inputs as { inboundRules: { portRange?: string }[] };
    expect(firewall.inboundRules.map((r) => r.portRange)).not.toContain("3030");
    const rules = (await resolve(result.edge.host.steps.find((s) => s.name === "firewall")!.files)).value.find((f) => f.path === "/etc/infernus/firewall.next.nft")!.content;
    expect(rules).toContain('ip saddr { 10.66.0.0/24 } tcp dport 3030 accept comment "Grafana, over the tunnel"');
  });

  it("pins Grafana's signing key from the stack file, as gpg prints it or spaced", async () => {
    const spaced = { ...monitored, monitoring: { ...monitored.monitoring, grafanaKeyFingerprint: "b53a e77b adb6 30a6 8304  6005 963f a277 1045 8545" } };
    const { result } = await runEstate(spaced);
    const stdin = (await resolve(result.edge.host.steps.find((s) => s.name === "grafana")!.stdin)).value;
    expect(stdin).toContain("KEY_FINGERPRINT='B53AE77BADB630A683046005963FA27710458545'");
    await expect(runEstate({ ...monitored, monitoring: { ...monitored.monitoring, grafanaKeyFingerprint: "963FA27710458545" } })).rejects.toThrow(/monitoring\.grafanaKeyFingerprint.*40 hex digits/);
  });
});
