/**
 * llama-swap's process side, for its stand-in in the labs: it runs each model's `cmd` and swaps by
 * the matrix as llama-swap v250 does (mostlygeek/llama-swap at tag v250, 60226b63):
 * - `cmd` is split into words and run in a process group of its own (process_command.go:463-470,
 *   runtime_unix.go:85-87); its output goes to llama-swap's own;
 * - readiness: 250 ms after the start, then `checkEndpoint` on the proxy every second until 200,
 *   within healthCheckTimeout; a command that exits first fails the start (process_command.go:513-560);
 *   a command that exits later marks the model stopped (210-225);
 * - a stop sends SIGTERM to the group and waits for the command to exit, then SIGKILLs the group
 *   (killProcess, 625-658): within healthCheckTimeout in a swap (router/base.go:244-251), within
 *   unloadTimeout on an unload;
 * - a swap picks the set with the target that evicts fewest running models (matrix/program.go:222-287),
 *   waits until the models it evicts have no request in flight (router/scheduler/fifo.go:131-136),
 *   stops them all and waits for each to exit, then starts the target (router/base.go:243-276);
 *   swaps run one at a time (fifo.go's single loop);
 * - on_startup preload loads the listed models in turn (server/api.go:375-404).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";

export interface ProcessConfig {
  healthCheckTimeout?: number;
  unloadTimeout?: number;
  hooks?: { on_startup?: { preload?: string[] } };
  models: Record<string, { cmd?: string; proxy: string; checkEndpoint?: string }>;
  matrix?: { vars: Record<string, string>; sets: Record<string, string> };
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  ready: boolean;
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

function healthy(url: string): Promise<boolean> {
  return new Promise((done) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on("error", () => done(false));
    req.on("timeout", () => req.destroy());
  });
}

export class StandInProcesses {
  private readonly running = new Map<string, Running>();
  private readonly inFlight = new Map<string, number>();
  private readonly idle: (() => void)[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly sets: string[][];

  constructor(
    private readonly config: ProcessConfig,
    private readonly log: (line: string) => void = (line) => console.error(line),
  ) {
    const vars = config.matrix?.vars ?? {};
    this.sets = Object.values(config.matrix?.sets ?? {}).map((set) => set.split("&").map((v) => vars[v.trim()] ?? v.trim()));
  }

  /** The model's upstream is ready: started or swapped in first when it is not. */
  ensure(model: string): Promise<void> {
    if (this.running.get(model)?.ready) return Promise.resolve();
    const swap = this.queue.then(() => this.swapIn(model));
    this.queue = swap.catch((error: Error) => this.log(`${model}: ${error.message}`));
    return swap;
  }

  /** Counts a request in flight on the model while `work` runs. */
  async track<T>(model: string, work: () => Promise<T>): Promise<T> {
    this.inFlight.set(model, (this.inFlight.get(model) ?? 0) + 1);
    try {
      return await work();
    } finally {
      this.inFlight.set(model, this.inFlight.get(model)! - 1);
      this.idle.splice(0).forEach((wake) => wake());
    }
  }

  async preload(): Promise<void> {
    for (const model of this.config.hooks?.on_startup?.preload ?? []) await this.ensure(model).catch((error: Error) => this.log(`preload ${model}: ${error.message}`));
  }

  /** Every model stopped, as llama-swap's shutdown does. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((m) => this.stop(m, this.config.unloadTimeout ?? 10)));
  }

  private async swapIn(model: string): Promise<void> {
    if (this.running.get(model)?.ready) return;
    const candidates = this.sets.filter((set) => set.includes(model));
    const evictions = (set: string[]) => [...this.running.keys()].filter((m) => m !== model && !set.includes(m));
    const chosen = candidates.sort((a, b) => evictions(a).length - evictions(b).length)[0];
    const evict = chosen ? evictions(chosen) : [...this.running.keys()].filter((m) => m !== model);
    while (evict.some((m) => (this.inFlight.get(m) ?? 0) > 0)) await new Promise<void>((wake) => this.idle.push(wake));
    if (evict.length > 0) this.log(`swapping to ${model}: stopping ${evict.join(", ")}`);
    await Promise.all(evict.map((m) => this.stop(m, this.config.healthCheckTimeout ?? 120)));
    await this.start(model);
  }

  private async start(model: string): Promise<void> {
    const entry = this.config.models[model];
    if (!entry.cmd) return;
    const [command, ...args] = entry.cmd.trim().split(/\s+/);
    const child = spawn(command, args, { detached: true, stdio: ["ignore", "inherit", "inherit"] });
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    const running: Running = { child, exited, ready: false };
    this.running.set(model, running);
    let gone = false;
    void exited.then(() => {
      gone = true;
      if (this.running.get(model) === running) this.running.delete(model);
      if (running.ready) this.log(`${model}: upstream process exited unexpectedly`);
    });
    const deadline = Date.now() + (this.config.healthCheckTimeout ?? 120) * 1000;
    await pause(250);
    while (!gone && !(await healthy(`${entry.proxy}${entry.checkEndpoint ?? "/health"}`))) {
      if (Date.now() > deadline) {
        await this.stop(model, 5);
        throw new Error(`${model}: health check timed out after ${this.config.healthCheckTimeout ?? 120}s`);
      }
      await pause(1000);
    }
    if (gone) throw new Error(`${model}: upstream command exited prematurely`);
    running.ready = true;
    this.log(`${model}: ready (health check passed)`);
  }

  private async stop(model: string, timeoutSeconds: number): Promise<void> {
    const running = this.running.get(model);
    if (!running) return;
    running.ready = false;
    const group = -running.child.pid!;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(group, name);
      } catch {
        // The group is gone already.
      }
    };
    const started = Date.now();
    signal("SIGTERM");
    const timedOut = await Promise.race([running.exited.then(() => false), pause(timeoutSeconds * 1000).then(() => true)]);
    if (timedOut) {
      this.log(`${model}: did not exit within ${timeoutSeconds}s of SIGTERM; SIGKILL to its group`);
      signal("SIGKILL");
      await running.exited;
    }
    this.running.delete(model);
    this.log(`${model}: stopped in ${Date.now() - started} ms`);
  }
}
