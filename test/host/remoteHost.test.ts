/** What a step's Update runs (its connection alone changed), run by the real bash as sshd would. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { updateCommand } from "../../components/host/remoteHost";
import { tool } from "../helpers";

// More than OpenSSH's channel window: a command that left stdin unread would stall the provider's writer.
const STDIN = "x".repeat(3 * 1024 * 1024);

describe("a step's update command", () => {
  it("reads all of stdin, runs nothing from it, and says so", () => {
    const run = tool("bash", ["-c", updateCommand()], `touch /tmp/infernus-must-not-exist\n${STDIN}`);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("infernus: only the connection changed; the step did not run again\n");
  });

  it("prints the report the last run kept, so outputs read from it stay", () => {
    const report = path.join(mkdtempSync(path.join(tmpdir(), "infernus-report-")), "nvidia-verify");
    writeFileSync(report, 'INFERNUS_GPU_INVENTORY [{"index":0}]\n');
    const run = tool("bash", ["-c", updateCommand(report)], STDIN);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('INFERNUS_GPU_INVENTORY [{"index":0}]\n');
  });

  it("says the report is gone, without failing the update, when the host lost it", () => {
    const run = tool("bash", ["-c", updateCommand("/nonexistent/report")], STDIN);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("/nonexistent/report is gone; this report stays empty until the step runs again");
  });
});
