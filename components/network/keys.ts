/** WireGuard keys in Node: Curve25519 (X25519) over a 32-byte secret, the same as `wg genkey | wg pubkey`. */
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";

// DER header of a PKCS#8 X25519 private key; the 32 raw key bytes follow it.
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");

/**
 * 32 bytes of key material, base64, from a random password: its SHA-256. The password comes from
 * random.RandomPassword, whose resource ID is "none"; random.RandomBytes would be simpler, but
 * pulumi-random makes its ID the value itself (provider/resources.go, computeRandomBytesID), and an
 * ID is never a secret: it would put every WireGuard key in the state file in plain text.
 */
export function keyMaterial(password: string): string {
  return createHash("sha256").update(password).digest("base64");
}

/** Clamps 32 random bytes into a Curve25519 private key, as `wg genkey` does. Base64 in, base64 out. */
export function clampPrivateKey(randomBase64: string): string {
  const key = Buffer.from(randomBase64, "base64");
  if (key.length !== 32) throw new Error(`a WireGuard key is 32 bytes, got ${key.length}`);
  key[0] &= 248;
  key[31] = (key[31] & 127) | 64;
  return key.toString("base64");
}

/** The public key of a base64 private key. */
export function publicKeyOf(privateKeyBase64: string): string {
  const raw = Buffer.from(privateKeyBase64, "base64");
  if (raw.length !== 32) throw new Error(`a WireGuard key is 32 bytes, got ${raw.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: "der", type: "pkcs8" });
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return Buffer.from(jwk.x!, "base64url").toString("base64");
}
