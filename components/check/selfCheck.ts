/**
 * The self-check: the last step of `pulumi up`, on the edge, after every step of every host. It
 * re-runs whenever any of those steps changed, and fails the run only on a real failure.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RemoteHost, Step } from "../host/remoteHost";
import { asset, sha256 } from "../host/stdin";
import { CHECK_PATHS, renderCheckConf, renderCheckHeader, type CheckView } from "./files";

export interface SelfCheckArgs {
  /** The edge, where the check runs. */
  readonly host: RemoteHost;
  /** Every host whose steps come first, the edge included. */
  readonly hosts: readonly RemoteHost[];
  readonly view: pulumi.Input<CheckView>;
  /** The gateway key the check presents. Secret. */
  readonly key: pulumi.Output<string>;
}

/** The first line of infernus-check --usage, which the self-check prints after its table. */
export const USAGE_HEADING = "usage over the last 24 hours";

/** How often a failing check is repeated before the step fails, and the pause between. */
const SETTLE = { attempts: 3, pauseSeconds: 20 };

export class SelfCheck extends pulumi.ComponentResource {
  public readonly step: Step;
  /** The table the check printed: one line per check. */
  public readonly report: pulumi.Output<string>;
  /** Its last part: the usage table of the last day (infernus-check --usage), empty when there was none. */
  public readonly usage: pulumi.Output<string>;

  constructor(name: string, args: SelfCheckArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:check:SelfCheck", name, {}, opts);
    const checked = args.hosts.flatMap((h) => h.steps);
    // Any step's new bytes change this digest, so the check runs again after it.
    const digest = pulumi.all(checked.map((s) => s.trigger)).apply((triggers) => sha256(triggers.join("\n")));
    this.step = args.host.step("self-check", {
      script: "check/self-check.sh",
      params: { ATTEMPTS: String(SETTLE.attempts), PAUSE_SECONDS: String(SETTLE.pauseSeconds), CHECKED_STEPS: digest },
      files: [
        { path: CHECK_PATHS.script, mode: "0755", content: asset("check/check.sh") },
        { path: CHECK_PATHS.conf, mode: "0644", content: pulumi.output(args.view).apply(renderCheckConf) },
        { path: CHECK_PATHS.header, mode: "0600", content: pulumi.secret(args.key.apply(renderCheckHeader)) },
      ],
      after: args.hosts.flatMap((h) => (h.steps.length > 0 ? [h.steps.at(-1)!.command] : [])),
      report: true,
    });
    // The check prints statuses and figures, never the key.
    this.report = pulumi.unsecret(this.step.command.stdout);
    // Before the first run (a preview, the render) there is no report yet.
    this.usage = this.report.apply((report = "") => {
      const at = report.indexOf(USAGE_HEADING);
      return at >= 0 ? report.slice(at).trimEnd() : "";
    });
    this.registerOutputs({ report: this.report, usage: this.usage });
  }
}
