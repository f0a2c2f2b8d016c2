/**
 * Alerts reach the phone: real Prometheus and Alertmanager on loopback with the rendered configs
 * scrape a stand-in exporter; when it goes away, ServerDown reaches a stand-in Telegram API.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { thresholdsSchema } from "../../components/config/schema";
import { renderAlertmanagerConfig, renderPrometheusConfig, renderRules } from "../../components/monitoring/files";

const PROMETHEUS = 19090;
const ALERTMANAGER = 19093;

function serve(port: number, handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} did not happen within ${seconds} s`);
}

describe("alerts in a lab (real prometheus and alertmanager on loopback)", () => {
  const processes: ChildProcess[] = [];
  const servers: http.Server[] = [];
  afterAll(() => {
    for (const p of processes) p.kill();
    for (const s of servers) s.close();
  });

  it("sends ServerDown to Telegram when a server's exporter goes away", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-alerts-"));
    const messages: { path: string; body: string }[] = [];
    servers.push(
      await serve(19111, (req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
          messages.push({ path: req.url ?? "", body });
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ ok: true, result: { message_id: messages.length, date: 0, chat: { id: -1001234567890, type: "group" } } }));
        });
      }),
    );
    const exporter = await serve(19100, (_req, res) => res.end("# TYPE infernus_lab gauge\ninfernus_lab 1\n"));
    servers.push(exporter);

    // Rendered as for the estate; only the timings are the lab's (1 s scrapes, no waiting period).
    const scraped = [{ name: "gpu1", target: "127.0.0.1:19100", serves: false }];
    const rules = path.join(dir, "rules.yml");
    writeFileSync(rules, renderRules({ ...thresholdsSchema.parse({}), serverDownMinutes: 0 }, scraped));
    writeFileSync(
      path.join(dir, "prometheus.yml"),
      renderPrometheusConfig({ servers: scraped, listen: `127.0.0.1:${PROMETHEUS}`, scrapeInterval: "1s", alertmanager: `127.0.0.1:${ALERTMANAGER}`, rulesPath: rules }),
    );
    writeFileSync(path.join(dir, "alertmanager.yml"), renderAlertmanagerConfig({ telegram: { chatId: "-1001234567890", botToken: "123456:lab-token", apiUrl: "http://127.0.0.1:19111" } }));
    const alertmanager = spawn("prometheus-alertmanager", [`--config.file=${dir}/alertmanager.yml`, `--storage.path=${dir}/am`, `--web.listen-address=127.0.0.1:${ALERTMANAGER}`, "--cluster.listen-address="], { stdio: "ignore" });
    const prometheus = spawn("prometheus", [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/tsdb`, `--web.listen-address=127.0.0.1:${PROMETHEUS}`], { stdio: "ignore" });
    processes.push(alertmanager, prometheus);

    const query = async (expr: string) => {
      const res = await fetch(`http://127.0.0.1:${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return ((await res.json()) as { data: { result: { value: [number, string] }[] } }).data.result;
    };
    await until("the stand-in exporter scraped as up", 60, async () => ((await query('up{job="node",server="gpu1"}'))[0]?.value[1] === "1" ? true : undefined));
    expect(messages).toEqual([]);

    exporter.close();
    exporter.closeAllConnections();
    const started = Date.now();
    const message = await until("a Telegram message", 90, async () => messages.find((m) => m.body.includes("ServerDown")));
    console.log(`ServerDown reached the stand-in Telegram ${((Date.now() - started) / 1000).toFixed(1)} s after the exporter went away`);
    expect(message.path).toBe("/bot123456:lab-token/sendMessage");
    const body = JSON.parse(message.body) as { chat_id: number | string; text: string };
    expect(String(body.chat_id)).toBe("-1001234567890");
    expect(body.text).toContain("ServerDown: gpu1 is unreachable over the tunnel");
  }, 200_000);
});
