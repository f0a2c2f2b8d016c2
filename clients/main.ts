/**
 * npm run clients -- STACK: the deployed stack's client files in a folder only the user can read
 * (scripts/clients.sh fetches the outputs with the Pulumi CLI and runs this).
 *   usage: clients/main.ts STACK OUTPUTS.json DIR [--qr]   (--qr: each device's QR code in the terminal too)
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as QRCode from "qrcode";
import { appFiles, deviceFiles, userFiles, type DeployedOutputs } from "../components/clients/files";

/**
 * Writes every file 0600 in folders 0700 below `dir` (made 0700 too), each made anew (never through
 * a link, never with an old file's mode), and removes what an earlier run wrote that the outputs no
 * longer have (a removed device's private key); returns the paths written.
 */
export async function writeClients(outputs: DeployedOutputs, dir: string, terminal?: (device: string, qr: string) => void): Promise<string[]> {
  const root = path.resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
  const written: string[] = [];
  const put = (relative: string, content: string | Buffer) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    chmodSync(path.dirname(file), 0o700);
    rmSync(file, { force: true });
    writeFileSync(file, content, { mode: 0o600, flag: "wx" });
    written.push(relative);
  };
  for (const file of deviceFiles(outputs)) {
    put(file.path, file.content);
    put(file.path.replace(/\.conf$/, ".png"), await QRCode.toBuffer(file.content, { type: "png", errorCorrectionLevel: "M", margin: 2, scale: 6 }));
    if (terminal) terminal(path.basename(file.path, ".conf"), await QRCode.toString(file.content, { type: "terminal", small: true, errorCorrectionLevel: "M" }));
  }
  for (const file of [...appFiles(outputs), ...userFiles(outputs, root)]) put(file.path, file.content);
  for (const stale of filesBelow(root).filter((f) => !written.includes(f))) rmSync(path.join(root, stale));
  return written;
}

/** Every file below `dir`, relative to it, sorted. */
export function filesBelow(dir: string, at = ""): string[] {
  return readdirSync(path.join(dir, at), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesBelow(dir, path.join(at, e.name)) : [path.join(at, e.name)]))
    .sort();
}

/** The outputs a deployed stack has; a stack never brought up (or destroyed) has none of them. */
export function deployedOutputs(json: unknown, stack: string): DeployedOutputs {
  const outputs = json as Partial<DeployedOutputs> | null;
  const missing = (["apiBaseUrl", "apiKeys", "clientConfigs", "serving"] as const).filter((key) => outputs?.[key] === undefined);
  if (missing.length > 0) throw new Error(`stack ${stack} has no ${missing.join(", ")} among its outputs: it is not deployed; npm run up -- ${stack} first`);
  return outputs as DeployedOutputs;
}

async function main(): Promise<void> {
  const [stack, outputsFile, dir, ...flags] = process.argv.slice(2);
  if (!stack || !outputsFile || !dir || flags.some((f) => f !== "--qr")) {
    console.error("usage: clients/main.ts STACK OUTPUTS.json DIR [--qr]");
    process.exit(64);
  }
  const outputs = deployedOutputs(JSON.parse(readFileSync(outputsFile, "utf8")), stack);
  const show = flags.includes("--qr") ? (device: string, qr: string) => console.log(`${device}: scan with the WireGuard app\n${qr}`) : undefined;
  const written = await writeClients(outputs, dir, show);
  console.log(`infernus: ${written.length} files in ${path.resolve(dir)} (only you can read them)`);
  for (const file of written) console.log(`  ${file}`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`infernus: ${error.message}`);
    process.exit(1);
  });
}
