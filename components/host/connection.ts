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
