/**
 * The stack config: one zod schema for the whole estate. Every other value (addresses, keys,
 * files, steps) is derived from what this accepts; nothing is read from config anywhere else.
 */
import { z } from "zod";
import { parseCidr, parseIpv4 } from "../network/ip";
import { openSshKeyProblem } from "./sshKey";

/**
 * An object that rejects unknown keys, one message per key with the nearest known one, or the
 * hint given for a key people are known to write (e.g. vLLM options that do not exist).
 */
function strictObject<S extends z.ZodRawShape>(shape: S, hints: Readonly<Record<string, string>> = {}) {
  const known = Object.keys(shape);
  // Multi-key issues are split back per key by ./problems (one line per key, same order).
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? issue.keys.map((key) => hints[key] ?? unknownKeyMessage(key, known)).join("\n") : undefined,
  });
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const nearest = [...known].sort((a, b) => editDistance(key, a) - editDistance(key, b))[0];
  const hint = nearest !== undefined && editDistance(key, nearest) <= Math.max(2, nearest.length / 3) ? `did you mean ${nearest}?` : `known keys: ${known.join(", ")}`;
  return `unknown key; ${hint}`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** A peer name: it becomes a host name, a file name and part of resource names. */
export const peerName = z
  .string({ error: "a name: lowercase letters, digits and dashes, e.g. gpu1" })
  .regex(/^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/, "use lowercase letters, digits and dashes (at most 32), starting with a letter, e.g. gpu1");

const host = z
  .string({ error: "a host name or IPv4 address, e.g. 192.168.1.50" })
  .refine((h) => parseIpv4(h) !== undefined || (HOSTNAME.test(h) && !/^[\d.]+$/.test(h)), "not a host name or IPv4 address, e.g. 192.168.1.50 or edge.example.net");

const port = (what: string) => z.number({ error: `${what}: a port number` }).int("a whole number").min(1, "ports are 1–65535").max(65535, "ports are 1–65535");

const ipv4 = z.string({ error: "an IPv4 address" }).refine((a) => parseIpv4(a) !== undefined, "not an IPv4 address (a.b.c.d)");

export const cidr = z
  .string({ error: "an IPv4 network, e.g. 10.66.0.0/24" })
  .refine((c) => parseCidr(c) !== undefined, "not an IPv4 network: write a.b.c.d/n with the host bits zero, e.g. 10.66.0.0/24");

const openSshKey = z.string({ error: "an OpenSSH public key line, e.g. ssh-ed25519 AAAA…" }).superRefine((line, ctx) => {
  const problem = openSshKeyProblem(line);
  if (problem) ctx.addIssue({ code: "custom", message: `not an OpenSSH public key line: ${problem}` });
});

const sshShape = {
  /** Where the program connects to (LAN address, public name, or tunnel address). */
  host,
  port: port("the SSH port").default(22),
  user: z
    .string({ error: "the login user, who must have passwordless sudo, e.g. kirill" })
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "not a Linux user name"),
  /** The host's own public key, as `ssh-keyscan -t ed25519 <host>` prints it (without the host name). */
  hostKey: openSshKey.optional(),
  /** Connect without checking the host key: only for a first contact on a trusted LAN. */
  insecureIgnoreHostKey: z.boolean().default(false),
};

export const edgeSsh = strictObject(sshShape);
/** A server may be reached through the edge (SSH jump), e.g. at its LAN address behind the edge. */
export const serverSsh = strictObject({ ...sshShape, viaEdge: z.boolean().default(false) });

export const DIGITALOCEAN_REGIONS = ["ams3", "atl1", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"] as const;

const adminCidrs = z
  .array(cidr, { error: "a list of networks allowed to SSH to the edge, e.g. [203.0.113.7/32]" })
  .min(1, "at least one network, or nobody can log in");

/** What both kinds of edge share: who may administer it, and the gateway's public name. */
const edgeRoles = {
  name: peerName.default("edge"),
  /** Where SSH to the edge is allowed from (cloud firewall and nftables). */
  adminCidrs,
  /** Allow an adminCidrs entry of /0: SSH open to the whole internet, protected only by keys. */
  allowAnyAdmin: z.boolean().default(false),
  /** A DNS name you own that points at the edge: the gateway then gets a Let's Encrypt certificate. */
  domain: z
    .string()
    .regex(/^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "not a fully qualified domain name like llm.example.net")
    .optional(),
  /** Let's Encrypt's contact for expiry warnings; needed with a domain. */
  acmeEmail: z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "not an email address").optional(),
  /** Local time (HH:MM) at which security upgrades may reboot the edge; never when absent. */
  rebootTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time of day like 04:30").optional(),
};

const digitalOceanEdge = strictObject({
  kind: z.literal("digitalocean"),
  ...edgeRoles,
  region: z.enum(DIGITALOCEAN_REGIONS, { error: `a DigitalOcean region slug: ${DIGITALOCEAN_REGIONS.join(", ")}` }).default("sgp1"),
  size: z
    .string({ error: "a droplet size slug, e.g. s-1vcpu-2gb" })
    .regex(/^(s|c|c2|g|gd|m|m3|so|so1_5)-\d+vcpu-\d+gb(-[a-z0-9-]+)?$/, "not a droplet size slug like s-1vcpu-2gb or s-2vcpu-4gb-amd")
    .default("s-1vcpu-2gb"),
  image: z.string().regex(/^[a-z0-9.-]+$/, "not an image slug like ubuntu-24-04-x64").default("ubuntu-24-04-x64"),
  /** The admin account created on the droplet, with passwordless sudo. */
  adminUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "not a Linux user name").default("infernus"),
  /** A DigitalOcean DNS zone you own (e.g. example.net): the domain's A record is then kept on the reserved IP. */
  dnsZone: z.string().regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "not a DNS zone like example.net").optional(),
  /** Public keys allowed to log in as adminUser: the operator's own. */
  sshAuthorizedKeys: z.array(openSshKey, { error: "a list of OpenSSH public key lines" }).min(1, "at least one key, or nobody can log in"),
});

const existingEdge = strictObject({
  kind: z.literal("existing"),
  ...edgeRoles,
  ssh: edgeSsh,
  /** The address or name every other peer dials for the tunnel (a public IP, a DDNS name, or a LAN address). */
  endpoint: host,
});

const EDGE_KINDS = "digitalocean (a droplet made here) or existing (a machine you have)";
export const edgeSchema = z.discriminatedUnion("kind", [digitalOceanEdge, existingEdge], {
  error: (issue) => {
    if (issue.code === "invalid_union") return `kind must be ${EDGE_KINDS}`;
    if (issue.code === "invalid_type") return `the edge, with kind: ${EDGE_KINDS}; Pulumi.home.yaml and Pulumi.singapore.yaml show both`;
    return undefined;
  },
});

export const tunnelSchema = strictObject({
  cidr: cidr.default("10.66.0.0/24"),
  /** UDP port the edge listens on. */
  port: port("the WireGuard UDP port").default(51820),
  /** 1420 suits a 1500-byte link, 1412 a PPPoE one. */
  mtu: z.number().int().min(1280, "WireGuard needs at least 1280 for IPv6").max(8920, "at most 8920 (a 9000-byte jumbo link)").default(1420),
  interface: z.string().regex(/^[a-zA-Z0-9_=+.-]{1,15}$/, "an interface name of at most 15 characters, e.g. wg0").default("wg0"),
  /** Seconds between keepalives from peers behind NAT. */
  keepaliveSeconds: z.number().int().min(1).max(65535).default(25),
  /** Resolvers that full-tunnel clients use, so DNS does not leak outside the tunnel. */
  clientDns: z.array(ipv4).min(1).default(["9.9.9.9", "1.1.1.1"]),
});

export const lanGatewaySchema = strictObject({
  /** The server it runs on; the first server with models by default. */
  host: peerName.optional(),
  /** Its address on the LAN, where home clients call it; the server's ssh.host by default, when that is an address on the LAN. */
  address: ipv4.optional(),
  /** A name the home router's DNS gives that address (e.g. llm.home.arpa), also on its certificate. */
  name: host.optional(),
});

export const lanSchema = strictObject({
  /** The home networks; the tunnel must not overlap them. */
  cidrs: z.array(cidr).default([]),
  /** A gateway at home with the same keys and limits as the edge's: the LAN keeps its models when the internet is down. */
  gateway: lanGatewaySchema.optional(),
});

export const clientSchema = strictObject({
  name: peerName,
  /** Send all traffic through the edge, not only the tunnel subnet. */
  fullTunnel: z.boolean().default(false),
  /** Pin the tunnel address; by default it follows from the name. */
  address: ipv4.optional(),
});

const gpuSpecSchema = strictObject({
  vendor: z.enum(["nvidia", "amd"]),
  marketingName: z.string().min(1),
  computeCapability: z.string().regex(/^\d+\.\d$/, "like 12.0").optional(),
  memoryGiB: z.number().positive(),
  powerW: strictObject({ min: z.number().int().positive(), max: z.number().int().positive() }).optional(),
  minDriverBranch: z.number().int().optional(),
  openModulesOnly: z.boolean().optional(),
});

export const gpuSchema = strictObject({
  /** A catalogue entry (components/gpu/catalogue.ts), or any name with `specs`. */
  model: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "a model slug like rtx-pro-6000-blackwell-workstation"),
  /** The card's specs, for a model the catalogue does not know. */
  specs: gpuSpecSchema.optional(),
  /** Power limit applied at every boot; the card's default when absent. */
  powerLimitW: z.number().int().positive().optional(),
});

const byIdPath = z
  .string({ error: "a disk path under /dev/disk/by-id/" })
  .regex(/^\/dev\/disk\/by-id\/[A-Za-z0-9._:+@-]+$/, "name disks by /dev/disk/by-id/…, which stays the same when disks move between ports or boards (ls -l /dev/disk/by-id)");

/** vLLM settings people write that vLLM does not have (several come from the user's notes), and what to use. */
const INVENTED_VLLM_OPTIONS: Readonly<Record<string, string>> = {
  enableFlashAttention: "vLLM has no such option (--enable-flash-attention does not exist): it picks its attention backend itself; leave it on auto on sm_120",
  flashAttention: "vLLM has no such option: it picks its attention backend itself; leave it on auto on sm_120",
  speculativeDecoding: "vLLM has no such option (--speculative-decoding does not exist); use speculativeConfig: { method, num_speculative_tokens }",
  draftModel: "vLLM has no such option (--draft-model does not exist); use speculativeConfig: { model, num_speculative_tokens }",
  maxConcurrentRequests: "vLLM has no such option (--max-concurrent-requests does not exist); use maxNumSeqs",
  enableFp8: "vLLM has no such option (VLLM_ENABLE_FP8 does not exist); use kvCacheDtype: fp8, or an -fp8 model",
  fp8: "vLLM has no such option; use kvCacheDtype: fp8, or an -fp8 model",
  quantization: "the catalogue entry fixes the weights' format; pick an -fp8 model instead",
  maxBatchSize: "vLLM has no such option; use maxNumSeqs",
  hugepages: "vLLM does not use static hugepages (facts.md): there is nothing to set",
};

/** Environment variables from the user's notes that vLLM does not read, and the real setting. */
export const INVENTED_VLLM_ENV: Readonly<Record<string, string>> = {
  VLLM_ENABLE_FP8: "kvCacheDtype: fp8, or an -fp8 model",
  VLLM_USE_FLASHINFER: "nothing: vLLM picks its attention backend itself",
  VLLM_MAX_NUM_SEQS: "maxNumSeqs",
  VLLM_GPU_MEMORY_UTILIZATION: "gpuMemoryUtilization (the planner sets it)",
  VLLM_MAX_MODEL_LEN: "maxModelLen",
  VLLM_QUANTIZATION: "an -fp8 model from the catalogue",
};

export const MODEL_KINDS = ["chat", "embedding", "rerank"] as const;
/** Cards a model may be split across: vLLM's tensor-parallel sizes (they must divide the attention heads, which powers of two up to 8 do for every model here). */
export const TENSOR_PARALLEL_SIZES = [1, 2, 4, 8] as const;
/** Checkpoint formats: config.json's torch_dtype, or its quantization_config.quant_method. */
export const MODEL_DTYPES = ["bf16", "fp16", "fp8", "mxfp4", "nvfp4", "int4"] as const;

const hfRepo = z
  .string({ error: "a Hugging Face repository like Qwen/Qwen3-8B" })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, "a Hugging Face repository like Qwen/Qwen3-8B");
const hfRevision = z
  .string({ error: "the commit to download, 40 hex digits" })
  .regex(/^[0-9a-f]{40}$/, "the full commit hash from huggingface.co/<repo>/commits/main: a branch would let a new upload change what runs");
/** Served names: vLLM's --served-model-name, a unit name (infernus-vllm@NAME) and a folder under modelsDir. */
const servedName = z.string({ error: "a model name, e.g. gpt-oss-120b" }).regex(/^[a-z0-9][a-z0-9.-]*$/, "lowercase letters, digits, dots and dashes, e.g. qwen3-8b");
const count = (what: string) => z.number({ error: `${what}, a whole number` }).int().positive();

/** A model the catalogue does not know, described from its Hugging Face repository (README: "A model of your own"). */
export const modelSpecSchema = strictObject({
  repo: hfRepo,
  revision: hfRevision,
  kind: z.enum(MODEL_KINDS).default("chat"),
  /** Parameters in billions, from the model card: with dtype, what the weights must weigh. */
  parametersB: z.number({ error: "the parameter count in billions, from the model card" }).positive(),
  dtype: z.enum(MODEL_DTYPES, { error: `the checkpoint's format: ${MODEL_DTYPES.join(", ")}` }),
  /** model.safetensors.index.json's metadata.total_size, in GB (10^9 bytes). */
  weightGB: z.number({ error: "the weights' size in GB: metadata.total_size of model.safetensors.index.json / 1e9" }).positive(),
  /** What is downloaded, in GB; the weights' size by default. */
  downloadGB: z.number().positive().optional(),
  /** config.json's max_position_embeddings. */
  maxContext: count("config.json's max_position_embeddings").min(512),
  /** config.json's num_hidden_layers. */
  layers: count("config.json's num_hidden_layers"),
  /** Layers that attend over the whole context: all of them unless layer_types lists sliding_attention ones. */
  fullAttentionLayers: count("layers with full attention").optional(),
  /** config.json's num_key_value_heads. */
  kvHeads: count("config.json's num_key_value_heads"),
  /** config.json's head_dim (hidden_size / num_attention_heads where it has none). */
  headDim: count("config.json's head_dim"),
  /** config.json's hidden_size and intermediate_size (a MoE: moe_intermediate_size, and num_experts as experts): what a LoRA adapter slot costs. */
  hiddenSize: count("config.json's hidden_size").optional(),
  intermediateSize: count("config.json's intermediate_size").optional(),
  experts: count("config.json's num_experts").optional(),
  /** Flags the model needs (parsers, hf-overrides), from its card or vLLM's recipe. */
  vllmArgs: z.array(z.string()).default([]),
  /** `hf download --exclude` patterns: copies of the weights vLLM does not load. */
  exclude: z.array(z.string()).optional(),
  /** gpt-oss's tokenizer: the tiktoken encodings are fetched for an offline host. */
  tiktoken: z.boolean().default(false),
});

export const loraSchema = strictObject({
  /** The name requests use for the adapter: its own entry in /v1/models. */
  name: servedName,
  repo: hfRepo,
  revision: hfRevision,
  /** adapter_config.json's r. */
  rank: count("adapter_config.json's r").max(512),
});

export const modelSchema = strictObject(
  {
    /** A model from the catalogue (components/serving/catalogue.ts), or any name with `spec`. */
    name: servedName,
    /** The model's description, for one the catalogue does not know. */
    spec: modelSpecSchema.optional(),
    /** LoRA adapters served on this model, each under its own name. */
    loras: z.array(loraSchema).default([]),
    /** Cards the model is split across (vLLM's tensor parallelism): a model too big for one. */
    tensorParallel: z.union(TENSOR_PARALLEL_SIZES.map((n) => z.literal(n)), { error: `${TENSOR_PARALLEL_SIZES.join(", ")} cards` }).default(1),
    /** GiB of weights per card kept in host RAM and streamed over PCIe for every step (vLLM's --cpu-offload-gb): slow, but it runs. */
    cpuOffloadGiB: z.number().int().min(1).optional(),
    /** Longest context served; the model's own maximum by default. */
    maxModelLen: z.number().int().min(1024, "at least 1024 tokens").optional(),
    maxNumSeqs: z.number().int().min(1).max(4096).optional(),
    /** fp8 halves the KV cache per token. */
    kvCacheDtype: z.enum(["auto", "fp8"]).default("auto"),
    enablePrefixCaching: z.boolean().optional(),
    /** Passed as --speculative-config. */
    speculativeConfig: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** Overrides the planner's share of the card for this process (a fraction of the whole card). */
    gpuMemoryUtilization: z.number().gt(0).max(0.95, "at most 0.95: the driver and other processes need the rest").optional(),
    /** Stays loaded beside every other model on its card (the planner refuses a plan where it cannot). */
    alwaysResident: z.boolean().default(false),
    /** Seconds idle before llama-swap stops it; 0 keeps it loaded. */
    ttlSeconds: z.number().int().min(0).optional(),
    env: z
      .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "an environment variable name"), z.string())
      .superRefine((env, ctx) => {
        for (const key of Object.keys(env)) {
          const real = INVENTED_VLLM_ENV[key];
          if (real) ctx.addIssue({ code: "custom", path: [key], message: `vLLM does not read ${key}; use ${real}` });
        }
      })
      .default({}),
    /** Raw vLLM arguments, unchecked: the escape hatch (a warning on every run). */
    extraArgs: z.array(z.string()).default([]),
  },
  INVENTED_VLLM_OPTIONS,
);

const deviceSchema = z.preprocess(
  (entry) => (typeof entry === "string" ? { path: entry } : entry),
  strictObject({
    path: byIdPath,
    /** Erase whatever this disk holds when the pool is created: the only way past a signature. */
    wipe: z.boolean().default(false),
  }),
);

export const poolSchema = strictObject({
  name: z.string({ error: "a pool name, e.g. tank" }).regex(/^[a-z][a-z0-9_-]{0,30}$/, "a pool name: lowercase letters, digits, - and _"),
  /** Each inner list is one vdev; a vdev of several disks uses the pool's layout. */
  vdevs: z
    .array(z.array(deviceSchema).min(1, "a vdev needs at least one disk"), { error: "a list of vdevs, each a list of disks" })
    .min(1, "a pool needs at least one vdev of disks"),
  layout: z.enum(["mirror", "raidz1", "raidz2"]).default("mirror"),
  /** primary: models, RAG, state and home live here; backup: snapshots are replicated here. */
  role: z.enum(["primary", "backup"]).default("primary"),
});

export const upsSchema = strictObject({
  /** NUT's name for the UPS. */
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/).default("apc"),
  /** usbhid-ups for an APC over USB; apc_modbus reports more from a Smart-UPS SMT. */
  driver: z.enum(["usbhid-ups", "apc_modbus"]).default("usbhid-ups"),
  port: z.string().default("auto"),
  vendorId: z.string().regex(/^[0-9a-f]{4}$/).default("051d"),
  /** Seconds the UPS waits before cutting its outlets after shutdown; less than onDelaySeconds. */
  offDelaySeconds: z.number().int().min(0).default(20),
  /** Seconds of mains the UPS waits for before restoring its outlets. */
  onDelaySeconds: z.number().int().min(0).default(30),
});

export const DRIVER_FLAVOURS = ["open", "server-open", "proprietary", "server"] as const;

export const serverSchema = strictObject({
  name: peerName,
  ssh: serverSsh,
  address: ipv4.optional(),
  /** The GPUs in the machine; an AMD card is recorded, not driven. */
  gpus: z.array(gpuSchema).default([]),
  /** Installed RAM, checked by the preflight and used to size caches. */
  memoryGiB: z.number().int().positive().optional(),
  /** NUMA nodes of the CPU(s): 1 on a desktop board, 2+ on a dual-socket or NPS-split server. */
  numaNodes: z.number().int().min(1).max(8).default(1),
  /** Disks the server must have (pools come later), by id. */
  disks: z.array(byIdPath).default([]),
  driver: strictObject({
    /** The NVIDIA driver branch from Ubuntu's archive. */
    branch: z.number().int().min(400).max(999).default(580),
    /** open (desktop branch) or server-open (the -server branch); proprietary ones are for older cards. */
    flavour: z.enum(DRIVER_FLAVOURS).default("open"),
  }).prefault({}),
  /** IANA time zone of the machine. */
  timezone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, "an IANA time zone like Asia/Bangkok").default("Etc/UTC"),
  /** Local time (HH:MM) at which security upgrades may reboot it; never when absent. */
  rebootTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time of day like 04:30").optional(),
  /** Let LAN machines (not only tunnel peers) reach the serving port. */
  serveLan: z.boolean().default(false),
  /** Free space the root filesystem must have, for packages and the driver. */
  minFreeDiskGiB: z.number().int().min(1).default(20),
  /** ZFS pools: imported when they exist, created only on blank disks. */
  pools: z.array(poolSchema).default([]),
  /** ZFS ARC ceiling; a quarter of memoryGiB by default, so model loading keeps its RAM. */
  arcMaxGiB: z.number().int().min(1).optional(),
  /** The UPS this server runs on, over USB. */
  ups: upsSchema.optional(),
  /** The models this server serves: names from the catalogue, or entries with vLLM options. */
  models: z.array(z.preprocess((entry) => (typeof entry === "string" ? { name: entry } : entry), modelSchema)).default([]),
  /** Models loaded at boot, so the first request after a power cut finds them: a resident set (the plan's first by default). */
  preload: z.array(z.string()).optional(),
});

/** A rate limit at the gateway (nginx's limit_req): the rate, and how many above it a burst may take before 429. */
const rateLimit = (burst: number) => ({
  requestsPerMinute: z.number().int().min(1, "at least 1").max(6000, "at most 6000 (100 per second)").default(60),
  /** Requests allowed above the rate in a burst before 429. */
  burst: z.number().int().min(0).max(1000).default(burst),
});

export const apiKeySchema = strictObject({
  /** Who uses the key (ide, obsidian, n8n …): it names the key in outputs and the audit log. */
  name: peerName,
  ...rateLimit(10),
  /** Raise by one to replace this key (and only this one) at the next `pulumi up`. */
  rotation: z.number().int().min(0).default(0),
});

export const gatewaySchema = strictObject({
  /** The public HTTPS port. */
  port: port("the gateway's HTTPS port").default(443),
  /** Where each GPU server serves the OpenAI API on its tunnel address. */
  upstreamPort: port("the serving port on the GPU servers").default(8080),
  /** Largest request body (long prompts, batched embeddings). */
  maxRequestMiB: z.number().int().min(1).max(1024).default(32),
  /** How long a generation may run; streams stay open this long. */
  generationTimeoutSeconds: z.number().int().min(60).max(86400).default(3600),
  /** Requests (streams) the gateway holds open at once: nginx's connections and open files follow from it. */
  maxStreams: z.number().int().min(64).max(100000).default(2000),
});

export const servingSchema = strictObject({
  /** The vLLM release installed into /opt/infernus/vllm with uv. */
  vllmVersion: z.string().regex(/^\d+\.\d+\.\d+$/, "a release like 0.21.0").default("0.21.0"),
  llamaSwap: strictObject({
    /** llama-swap release number. */
    version: z.number().int().min(1).default(250),
    /** sha256 of llama-swap_<version>_linux_amd64.tar.gz; until pinned, the release's checksums file is used and the step says what to pin. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in hex (sha256sum of the release archive)").optional(),
  }).prefault({}),
  /** Where model weights live on each server. */
  modelsDir: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, "an absolute path").default("/srv/models"),
  /** Default seconds a model stays loaded with no requests (0: until another needs the card). */
  ttlSeconds: z.number().int().min(0).default(0),
  /** How long a model being put to sleep, or llama-swap before a restart, waits for the requests in flight. */
  drainSeconds: z.number().int().min(0).max(3600).default(120),
});

const bucketName = z.string({ error: "a bucket name, e.g. kirill-infernus-backup" }).regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "a bucket name: 3–63 lowercase letters, digits and dashes");
const schedule = z.string().regex(/^[A-Za-z0-9*:,./ -]+$/, "a systemd OnCalendar value like *-*-* 03:30:00").default("*-*-* 03:30:00");

/** The encrypted offsite copy of the irreplaceable datasets. */
export const offsiteSchema = z.discriminatedUnion(
  "kind",
  [
    /** A DigitalOcean Spaces bucket and key made by the program (needs the DigitalOcean token). */
    strictObject({ kind: z.literal("spaces"), region: z.enum(DIGITALOCEAN_REGIONS).default("sgp1"), bucket: bucketName, schedule }),
    /** Any S3-compatible bucket; its keys go in infernus:offsiteAccessKeyId and infernus:offsiteSecretAccessKey (secrets). */
    strictObject({ kind: z.literal("s3"), endpoint: host, region: z.string().default("us-east-1"), bucket: bucketName, schedule }),
  ],
  { error: (issue) => (issue.code === "invalid_union" ? "kind must be spaces (a bucket made here) or s3 (one you have)" : undefined) },
);

/** Alert thresholds; each alert's rule reads its threshold from here. */
export const thresholdsSchema = strictObject({
  /** A server or the tunnel unreachable this long is a page (the power-cut case). */
  serverDownMinutes: z.number().int().min(1).default(3),
  /** A WireGuard peer that should be up with no handshake for this long. */
  handshakeStaleSeconds: z.number().int().min(150).default(300),
  gpuTemperatureC: z.number().int().min(50).max(110).default(85),
  /** A CPU's package sensor (k10temp, coretemp or zenpower) above this for 5 minutes; desktop parts run to 95–100 °C before they slow down. */
  cpuTemperatureC: z.number().int().min(50).max(110).default(90),
  /** An NVMe drive's composite temperature above this for 10 minutes; drives slow their writes at about 70–80 °C. */
  nvmeTemperatureC: z.number().int().min(40).max(90).default(70),
  /** Requests a model keeps waiting (vLLM's queue) for 10 minutes: it is overloaded. */
  queuedRequests: z.number().int().min(1).default(8),
  /** Share of the gateway's answers that are server errors, over 5 minutes. */
  gateway5xxPercent: z.number().min(0.1).max(100).default(5),
  diskFullPercent: z.number().int().min(50).max(99).default(90),
  snapshotMaxAgeHours: z.number().min(0.5).default(2),
  offsiteMaxAgeHours: z.number().min(1).default(36),
  certificateExpiryDays: z.number().int().min(1).default(14),
});

/** Prometheus, Alertmanager and Grafana on the edge, watching everything through the tunnel. */
export const monitoringSchema = strictObject({
  /** The Telegram chat alerts go to, with the bot token as the secret infernus:telegramBotToken; without it alerts stay in Alertmanager. */
  telegramChatId: z
    .union([z.string(), z.number()])
    .transform(String)
    .refine((id) => /^-?\d+$/.test(id), "a numeric Telegram chat id, e.g. -1001234567890 (ask @userinfobot)")
    .optional(),
  retentionDays: z.number().int().min(1).max(3650).default(30),
  /**
   * The primary key that signs Grafana's APT repository: apt trusts that key only. Grafana's
   * since 2023-08-24 (announced at https://apt.grafana.com/); change it when Grafana announces another.
   */
  grafanaKeyFingerprint: z
    .string()
    .transform((f) => f.replace(/\s/g, "").toUpperCase())
    .refine((f) => /^[0-9A-F]{40}$/.test(f), "an OpenPGP fingerprint of 40 hex digits, as gpg --show-keys prints it")
    .default("B53AE77BADB630A683046005963FA27710458545"),
  thresholds: thresholdsSchema.prefault({}),
});

/** What every app shares: where it runs, on which port, and who may reach it. */
const appShape = {
  /** Names the app's unit, data folder, outputs and alerts. */
  name: peerName,
  /** The edge's name or a server's: the app listens on that host's tunnel address. */
  host: peerName,
  /** The port on the tunnel address; the kind's usual one by default. */
  port: port("the app's port").optional(),
  /** Also let the home LAN reach it (an app with a key or login of its own only). */
  serveLan: z.boolean().default(false),
  /** A container image to run instead of the pinned one, e.g. a newer tag or a @sha256 digest. */
  image: z.string().regex(/^[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$/, "an image reference like docker.io/qdrant/qdrant:v1.19.0").optional(),
};

/** Programs the estate runs for the user beside the models, each on a host the stack names. */
export const appSchema = z.discriminatedUnion(
  "kind",
  [
    /** Perplexica (now named Vane) with its bundled SearxNG: AI search on the estate's own models. */
    strictObject({
      kind: z.literal("perplexica"),
      ...appShape,
      /** The chat model it answers with: one a server declares. */
      chatModel: z.string({ error: "a chat model a server serves, e.g. gpt-oss-120b" }),
      /** The embedding model it ranks sources with: one a server declares. */
      embeddingModel: z.string({ error: "an embedding model a server serves, e.g. qwen3-embedding-8b" }),
      /** The infernus:apiKeys entry it calls the gateway with; the app's name by default. */
      apiKey: peerName.optional(),
    }),
    /** Qdrant: the RAG memory's vector store, on the server's RAG dataset. */
    strictObject({ kind: z.literal("qdrant"), ...appShape }),
    /** n8n: workflow automation, e.g. on the old board as an auxiliary host. */
    strictObject({
      kind: z.literal("n8n"),
      ...appShape,
      timezone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, "an IANA time zone like Asia/Bangkok").default("Etc/UTC"),
      /** The infernus:apiKeys entry its OpenAI credential for the gateway holds; the app's name by default. */
      apiKey: peerName.optional(),
      /**
       * Webhooks from the internet through the edge at /hooks/<name>/ (n8n's production, test and
       * waiting webhooks, nothing else of n8n), limited together to this rate. Absent: tunnel only.
       */
      webhooks: strictObject(rateLimit(20)).optional(),
    }),
    /** Open WebUI: the chat app for every device, with its documents and memory in Qdrant. */
    strictObject({
      kind: z.literal("open-webui"),
      ...appShape,
      /** The model a new chat starts with, and the one that titles chats: one a server declares. */
      chatModel: z.string({ error: "a chat model a server serves, e.g. gpt-oss-120b" }),
      /** The embedding model its documents and memories are indexed with: one a server declares. */
      embeddingModel: z.string({ error: "an embedding model a server serves, e.g. qwen3-embedding-8b" }),
      /** A reranking model for what its searches find (hybrid search); none by default. */
      rerankModel: z.string().optional(),
      /** The Qdrant app it keeps documents and memories in; the estate's only Qdrant by default. */
      vectorStore: peerName.optional(),
      /** Web search, through the SearxNG of the Perplexica app on its host, or one of its own on loopback. */
      webSearch: z.boolean().default(true),
      /** The infernus:apiKeys entry it calls the gateway with; the app's name by default. */
      apiKey: peerName.optional(),
    }),
  ],
  { error: (issue) => (issue.code === "invalid_union" ? "kind must be perplexica, qdrant, n8n or open-webui" : undefined) },
);

export const estateSchema = strictObject({
  edge: edgeSchema,
  tunnel: tunnelSchema.prefault({}),
  lan: lanSchema.prefault({}),
  clients: z.array(clientSchema).default([]),
  servers: z.array(serverSchema).default([]),
  apiKeys: z.array(apiKeySchema).default([]),
  gateway: gatewaySchema.prefault({}),
  serving: servingSchema.prefault({}),
  offsite: offsiteSchema.optional(),
  monitoring: monitoringSchema.optional(),
  apps: z.array(appSchema).default([]),
});

export type EstateConfig = z.infer<typeof estateSchema>;
export type EdgeConfig = EstateConfig["edge"];
export type TunnelConfig = EstateConfig["tunnel"];
export type ClientConfig = EstateConfig["clients"][number];
export type ServerConfig = EstateConfig["servers"][number];
export type ApiKeyConfig = EstateConfig["apiKeys"][number];
export type GatewayConfig = EstateConfig["gateway"];
export type ServingConfig = EstateConfig["serving"];
export type ModelConfig = ServerConfig["models"][number];
export type PoolConfig = ServerConfig["pools"][number];
export type UpsConfig = NonNullable<ServerConfig["ups"]>;
export type OffsiteConfig = NonNullable<EstateConfig["offsite"]>;
export type MonitoringConfig = NonNullable<EstateConfig["monitoring"]>;
export type AppConfig = EstateConfig["apps"][number];
export type SshConfig = z.infer<typeof edgeSsh> & { viaEdge?: boolean };
