/** OpenSSH public key lines (`type base64 [comment]`), as in known_hosts or authorized_keys. */

const KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

/** Why `line` is not an OpenSSH public key line, or undefined when it is one. */
export function openSshKeyProblem(line: string): string | undefined {
  const [type, blob, ...rest] = line.trim().split(/\s+/);
  if (!type || !blob) return "expected `<type> <base64>` as printed by `ssh-keyscan -t ed25519 <host>`";
  if (rest.length > 0 && rest.join(" ").includes("\n")) return "holds more than one line";
  if (!KEY_TYPES.includes(type)) return `key type ${type} is not one of ${KEY_TYPES.join(", ")}`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return "the key is not base64";
  // The blob starts with its own type as an SSH string: a length, then the name.
  const bytes = Buffer.from(blob, "base64");
  const length = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
  const inner = length > 0 && bytes.length >= 4 + length ? bytes.subarray(4, 4 + length).toString("latin1") : "";
  if (inner !== type) return `the key data does not hold a ${type} key`;
  return undefined;
}

/** The `type base64` part of a key line, without its comment: what SSH compares. */
export function openSshKeyCore(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(" ");
}
