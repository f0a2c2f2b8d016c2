/**
 * RemoteHost: one machine reached over SSH, and the one way anything runs on it: named steps,
 * run in the order they were added, each re-run exactly when its stdin bytes change or the
 * machine is a new one; never because only the way to reach it changed.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { asset, composeStdin, sha256, type ResolvedFile } from "./stdin";

export type Connection = command.types.input.remote.ConnectionArgs;

export interface StepFile {
  /** Absolute path on the host. */
  readonly path: string;
  /** Octal mode, e.g. "0600" for anything holding a secret. */
  readonly mode: string;
  readonly owner?: string;
  readonly content: pulumi.Input<string>;
}

export interface StepSpec {
  /** The script under assets/, e.g. "network/wireguard.sh". */
  readonly script: string;
  /** Plain (non-secret) values exported as environment variables before the script. */
  readonly params?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Files written before the script runs; secrets travel only this way. */
  readonly files?: readonly StepFile[];
  /** Shell libraries under assets/ that the script sources (inlined after lib.sh). */
  readonly libraries?: readonly string[];
  /** Resources besides the previous step that this step waits for. */
  readonly after?: readonly pulumi.Resource[];
  /** How many failed connection attempts to tolerate: raise it for a step that meets a booting host. */
  readonly dialAttempts?: number;
  /**
   * The step's output is a report others read (e.g. the GPU inventory): the script keeps a copy in
   * $REPORT, and an update that only changes the connection prints that copy again.
   */
  readonly report?: boolean;
}

/** A step as added, for the render and for callers that order other work after it. */
export interface Step {
  readonly host: string;
  readonly name: string;
  /** 1-based position among the host's steps. */
  readonly order: number;
  readonly command: command.remote.Command;
  readonly files: pulumi.Output<ResolvedFile[]>;
  readonly stdin: pulumi.Output<string>;
  /** sha256 of the stdin and the machine's identity: what others re-run on (the self-check, the reboot grace). */
  readonly trigger: pulumi.Output<string>;
}

export interface RemoteHostArgs {
  /** How to reach the host: address, user, pinned host key, key or agent, optional proxy. */
  readonly connection: pulumi.Input<Connection>;
  /**
   * What makes this machine itself and not another: a droplet's id, or a pinned host key (see
   * machineOf). Every step runs again when it changes: a new machine starts bare.
   */
  readonly machine: pulumi.Input<string>;
  /** Resources the first step waits for, e.g. the edge's tunnel when this host is reached through it. */
  readonly after?: readonly pulumi.Resource[];
}

/**
 * Runs as the SSH user: fails with a clear message when sudo would ask for a password, then hands
 * stdin to a root bash. Fixed text: nothing in it varies with the step or holds a secret.
 */
export const STEP_COMMAND = [
  `if ! sudo -n true 2>/dev/null; then`,
  `echo "infernus: $(id -un)@$(hostname) has no passwordless sudo, which every step needs;` +
    ` add it with: echo '$(id -un) ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/infernus && sudo chmod 0440 /etc/sudoers.d/infernus" >&2;`,
  `exit 1; fi;`,
  `exec sudo -n bash -s`,
].join(" ");

/** Where a step with a report keeps its copy (the update command prints it, so no secret goes there). */
export const REPORTS_DIR = "/var/lib/infernus/reports";

/**
 * What the provider runs on an Update: any changed input other than the triggers, which replace
 * (pulumi-command's commandController.go runs `update` when set, else `create`). Stdin and triggers
 * always change together, so an Update means only the connection changed (credentials, a jump host,
 * dial limits): the step does not run again. It drains stdin and, for a report, prints the copy
 * the last run kept, so the outputs read from it stay. It also proves the new connection works.
 */
export function updateCommand(report?: string): string {
  const drain = "cat >/dev/null;";
  if (!report) return `${drain} echo "infernus: only the connection changed; the step did not run again"`;
  return `${drain} if [ -r ${report} ]; then cat ${report}; else echo "infernus: ${report} is gone; this report stays empty until the step runs again" >&2; fi`;
}

export class RemoteHost extends pulumi.ComponentResource {
  public readonly connection: pulumi.Output<Connection>;
  /** The machine's identity (see RemoteHostArgs.machine). */
  public readonly machine: pulumi.Output<string>;
  public readonly steps: Step[] = [];
  /** The host's name in the stack config; it names its steps. */
  public readonly hostName: string;
  private readonly after: readonly pulumi.Resource[];

  constructor(name: string, args: RemoteHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:host:RemoteHost", name, {}, opts);
    this.hostName = name;
    this.after = args.after ?? [];
    this.connection = pulumi.output(args.connection);
    this.machine = pulumi.output(args.machine);
    this.registerOutputs({ connection: this.connection, machine: this.machine });
  }

  /** Adds a step after this host's previous one. */
  public step(name: string, spec: StepSpec): Step {
    const script = [...(spec.libraries ?? []).map(asset), asset(spec.script)].join("\n");
    const files = pulumi
      .all((spec.files ?? []).map((f) => pulumi.all([f.path, f.mode, f.owner, f.content])))
      .apply((resolved) => resolved.map(([path, mode, owner, content]): ResolvedFile => ({ path, mode, ...(owner ? { owner } : {}), content })));
    const report = spec.report ? `${REPORTS_DIR}/${name}` : undefined;
    const params = pulumi.all({ ...spec.params, ...(report ? { REPORT: report } : {}) });
    const stdin = pulumi.all([params, files]).apply(([p, f]) => composeStdin({ host: this.hostName, step: name, params: p, files: f, script }));
    // The hash of high-entropy secrets reveals nothing, and plain triggers show in `pulumi preview`:
    // which of the two changed says whether the bytes or the machine did.
    const stdinHash = pulumi.unsecret(stdin.apply(sha256));
    const trigger = pulumi.all([stdinHash, this.machine]).apply(([hash, machine]) => sha256(`${hash}\n${machine}`));
    const previous = this.steps.at(-1);
    const cmd = new command.remote.Command(
      `${this.hostName}-${name}`,
      {
        connection: spec.dialAttempts ? this.connection.apply((c) => ({ ...c, dialErrorLimit: spec.dialAttempts })) : this.connection,
        create: STEP_COMMAND,
        update: updateCommand(report),
        stdin,
        triggers: [stdinHash, this.machine],
        // The provider passes earlier output only through sshd's AcceptEnv, which hosts refuse.
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: [...(previous ? [previous.command] : this.after), ...(spec.after ?? [])], retainOnDelete: true },
    );
    const step: Step = { host: this.hostName, name, order: this.steps.length + 1, command: cmd, files, stdin, trigger };
    this.steps.push(step);
    return step;
  }
}
