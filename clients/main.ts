/**
 * npm run clients -- STACK: the deployed stack's client files in a folder only the user can read
 * (scripts/clients.sh fetches the outputs with the Pulumi CLI and runs this).
 *   usage: clients/main.ts OUTPUTS.json DIR [--qr]   (--qr: each device's QR code in the terminal too)
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as QRCode from "qrcode";
import { deviceFiles, userFiles, type DeployedOutputs } from "../components/clients/files";

/** Writes every file 0600 in folders 0700 below `dir` (made 0700 too); returns the paths written. */
export async function writeClients(outputs: DeployedOutputs, dir: string, terminal?: (device: string, qr: string) => void): Promise<string[]> {
  const root = path.resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
  const written: string[] = [];
  const put = (relative: string, content: string | Buffer) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    chmodSync(path.dirname(file), 0o700);
    writeFileSync(file, content, { mode: 0o600 });
    chmodSync(file, 0o600);
    written.push(relative);
  };
  for (const file of deviceFiles(outputs)) {
    put(file.path, file.content);
    put(file.path.replace(/\.conf$/, ".png"), await QRCode.toBuffer(file.content, { type: "png", errorCorrectionLevel: "M", margin: 2, scale: 6 }));
    if (terminal) terminal(path.basename(file.path, ".conf"), await QRCode.toString(file.content, { type: "terminal", small: true, errorCorrectionLevel: "M" }));
  }
  for (const file of userFiles(outputs, root)) put(file.path, file.content);
  return written;
}

async function main(): Promise<void> {
  const [outputsFile, dir, ...flags] = process.argv.slice(2);
  if (!outputsFile || !dir || flags.some((f) => f !== "--qr")) {
    console.error("usage: clients/main.ts OUTPUTS.json DIR [--qr]");
    process.exit(64);
  }
  const outputs = JSON.parse(readFileSync(outputsFile, "utf8")) as DeployedOutputs;
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
