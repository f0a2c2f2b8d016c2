/**
 * The download units fetch only what vLLM loads, at the pinned revision: checked against the
 * models' real file lists (fixtures/hf, each with its source). The matching is huggingface_hub's
 * (utils/_paths.py, filter_repo_objects at ee0a4510: fnmatch.fnmatchcase on the whole repository
 * path, so `*` spans folders; a pattern ending in / gets a *), and vLLM loads the root's
 * safetensors only (model_loader/default_loader.py: a non-recursive glob of *.safetensors).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { MODEL_CATALOGUE } from "../../components/serving/catalogue";
import { downloadsOf, hfDownloadArgs, renderFetchUnit, type Download } from "../../components/serving/files";
import { modelSchema, servingSchema } from "../../components/config/schema";

const serving = servingSchema.parse({});
/** The download of a catalogue model, as the server's list makes it. */
const download = (name: string): Download => downloadsOf([modelSchema.parse({ name })])[0];

interface Listing {
  readonly files: { readonly path: string; readonly bytes?: number }[];
  /** Sums the listing gives for files whose own sizes are not public: pattern and bytes. */
  readonly sums: { readonly pattern: string; readonly bytes: number }[];
}

function listing(repo: string): Listing {
  const lines = readFileSync(path.join(__dirname, "fixtures/hf", `${repo.replace("/", "--")}.txt`), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
  const sums = lines.filter((l) => l.startsWith("sum ")).map((l) => ({ pattern: l.split(" ")[1], bytes: Number(l.split(" ")[2]) }));
  const files = lines.filter((l) => !l.startsWith("sum ")).map((l) => ({ path: l.split(" ")[0], bytes: l.split(" ")[1] === "-" ? undefined : Number(l.split(" ")[1]) }));
  return { files, sums };
}

/** Python's fnmatch.fnmatchcase: the whole string, `*` any run (slashes too), `?` one character. */
function fnmatch(name: string, pattern: string): boolean {
  const source = [...(pattern.endsWith("/") ? `${pattern}*` : pattern)].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
  return new RegExp(`^${source}$`, "s").test(name);
}

/** The files `hf download` fetches with these arguments: every file but those an --exclude matches. */
function fetched(args: readonly string[], files: Listing["files"]) {
  const excluded = args.flatMap((arg, i) => (arg === "--exclude" ? [args[i + 1]] : []));
  return files.filter((f) => !excluded.some((pattern) => fnmatch(f.path, pattern)));
}

describe("the model downloads", () => {
  it("fetch gpt-oss-120b's root only: none of original/ or metal/, every shard vLLM loads", () => {
    const { files } = listing("openai/gpt-oss-120b");
    const kept = fetched(hfDownloadArgs(serving, download("gpt-oss-120b")), files);
    expect(kept.filter((f) => f.path.includes("/"))).toEqual([]);
    expect(kept.map((f) => f.path)).toEqual(files.filter((f) => !f.path.includes("/")).map((f) => f.path));
    expect(kept.filter((f) => f.path.endsWith(".safetensors"))).toHaveLength(15);
    // Progress is counted against exactly what is fetched.
    expect(kept.reduce((sum, f) => sum + f.bytes!, 0)).toBe(MODEL_CATALOGUE["gpt-oss-120b"].downloadBytes);
  });

  it("fetch every file of Qwen3-Coder-30B (it has no second copy), counted against its listed sizes", () => {
    const { files, sums } = listing("Qwen/Qwen3-Coder-30B-A3B-Instruct");
    const kept = fetched(hfDownloadArgs(serving, download("qwen3-coder-30b")), files);
    expect(kept).toEqual(files);
    const listed = kept.reduce((sum, f) => sum + (f.bytes ?? 0), 0) + sums.reduce((sum, s) => sum + s.bytes, 0);
    expect(MODEL_CATALOGUE["qwen3-coder-30b"].downloadBytes).toBe(listed);
    // The sizes not public are configs and vocabularies: a few MB of 61 GB.
    expect(kept.filter((f) => f.bytes === undefined && !sums.some((s) => fnmatch(f.path, s.pattern))).map((f) => f.path)).toEqual([
      ".gitattributes",
      "LICENSE",
      "README.md",
      "config.json",
      "generation_config.json",
      "merges.txt",
      "model.safetensors.index.json",
      "qwen3coder_tool_parser.py",
      "vocab.json",
    ]);
  });

  it("matches as huggingface_hub does: * spans folders, which is why the root's patterns need the excludes", () => {
    expect(fnmatch("original/model--00001-of-00007.safetensors", "*.safetensors")).toBe(true);
    expect(fnmatch("original/config.json", "original/*")).toBe(true);
    expect(fnmatch("config.json", "original/*")).toBe(false);
    expect(fnmatch("metal/model.bin", "metal/")).toBe(true);
  });

  it("pins every catalogue model's revision, and the unit downloads at it", () => {
    for (const [name, spec] of Object.entries(MODEL_CATALOGUE)) {
      expect(spec.revision, name).toMatch(/^[0-9a-f]{40}$/);
      expect(renderFetchUnit(serving, download(name))).toContain(`/bin/hf download ${spec.repo} --revision ${spec.revision} `);
    }
    expect(renderFetchUnit(serving, download("gpt-oss-120b"))).toContain("--exclude original/* --exclude metal/* --local-dir /srv/models/gpt-oss-120b\n");
  });
});
