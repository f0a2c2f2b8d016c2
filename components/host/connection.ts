/** SSH connections: pinned host keys, the operator's key or agent, an optional jump host. */
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./remoteHost";

/** The operator's key: the `infernus:sshPrivateKey` secret when set, else the SSH agent (SSH_AUTH_SOCK). */
export interface Credentials {
  readonly privateKey?: pulumi.Output<string>;
}

export interface SshTarget {
  readonly host: pulumi.Input<string>;
  readonly port: number;
  readonly user: string;
  readonly hostKey?: pulumi.Input<string>;
  readonly insecureIgnoreHostKey?: boolean;
}

/**
 * A machine reached at `target` is itself as long as its pinned host key stays: a reinstalled or new
 * machine has a new one. Without a pinned key the address is all the program knows of it.
 */
export function machineOf(target: SshTarget): pulumi.Output<string> {
  return target.hostKey !== undefined ? pulumi.output(target.hostKey) : pulumi.interpolate`${target.host}:${target.port}`;
}

/**
 * The dialErrorLimit that keeps dialing a host that refuses connections for `seconds`. pulumi-command
 * (remote/connection.go) retries with the pulumi SDK's retry.Until defaults: 100 ms, ×1.5 each time,
 * at most 5 s between attempts; a limit of n gives up after n failed attempts.
 */
export function dialAttemptsFor(seconds: number): number {
  let waited = 0;
  let delay = 0.1;
  let attempts = 0;
  while (waited < seconds) {
    waited += delay;
    delay = Math.min(delay * 1.5, 5);
    attempts++;
  }
  return attempts;
}

export function sshConnection(name: string, target: SshTarget, credentials: Credentials, proxy?: pulumi.Input<Connection>): pulumi.Output<Connection> {
  if (target.hostKey === undefined && target.insecureIgnoreHostKey) {
    pulumi.log.warn(`${name}: insecureIgnoreHostKey is set, so whoever answers at ${String(target.host)}:${target.port} is trusted with every step; pin ssh.hostKey instead (ssh-keyscan -t ed25519 <host>)`);
  }
  const connection: pulumi.Input<Connection> = {
    host: target.host,
    port: target.port,
    user: target.user,
    ...(target.hostKey !== undefined ? { hostKey: target.hostKey } : {}),
    ...(credentials.privateKey ? { privateKey: credentials.privateKey } : {}),
    ...(proxy ? { proxy } : {}),
    perDialTimeout: 15,
    dialErrorLimit: 10,
  };
  return pulumi.output(connection);
}
