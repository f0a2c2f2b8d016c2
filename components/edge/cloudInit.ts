/**
 * The droplet's user-data: only what must exist before the first SSH connection (the admin user,
 * the pinned host key, no passwords, no root). It replaces the droplet when it changes, so
 * everything else is left to steps.
 */
import { dump } from "js-yaml";

export interface CloudInitInput {
  readonly adminUser: string;
  readonly authorizedKeys: readonly string[];
  /** The SSH host key the program generated, so the first connection is already pinned. */
  readonly hostKeyPrivate: string;
  readonly hostKeyPublic: string;
}

export function renderCloudConfig(input: CloudInitInput): string {
  const config = {
    users: [
      {
        name: input.adminUser,
        groups: ["sudo"],
        shell: "/bin/bash",
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        lock_passwd: true,
        ssh_authorized_keys: [...input.authorizedKeys],
      },
    ],
    disable_root: true,
    ssh_pwauth: false,
    ssh_deletekeys: true,
    // The ed25519 key comes from ssh_keys; no other type is generated, so only that one is offered.
    ssh_genkeytypes: ["ed25519"],
    ssh_keys: { ed25519_private: input.hostKeyPrivate, ed25519_public: input.hostKeyPublic.trim() },
  };
  return `#cloud-config\n${dump(config, { lineWidth: -1, sortKeys: false })}`;
}
