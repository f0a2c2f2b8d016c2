/** `npm run render -- <stack>`: the offline twin of `pulumi preview`, written to out/<stack>/. */
import * as path from "node:path";
import { renderStack, writeTree } from "./render";
import { PROJECT_ROOT } from "./stackFile";

async function main(): Promise<void> {
  const stack = process.argv[2] ?? "home";
  if (!/^[a-z0-9-]+$/.test(stack)) throw new Error(`render: ${stack} is not a stack name (try home or singapore)`);
  const tree = await renderStack(stack);
  const outDir = path.join(PROJECT_ROOT, "out", stack);
  writeTree(outDir, tree);
  console.log(`rendered ${tree.files.size} files for stack ${stack} into ${path.relative(process.cwd(), outDir) || "."}`);
  console.log("generated secrets in it are deterministic stand-ins; the deployed ones live only in Pulumi state");
  if (tree.missingSecrets.length > 0) {
    console.log(`the stack needs these secrets before \`npm run up -- ${stack}\` (the render used stand-ins):`);
    for (const line of tree.missingSecrets) console.log(`  ${line}`);
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
