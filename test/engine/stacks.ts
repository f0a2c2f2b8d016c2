/** The user's stacks as the CLI would hand them to the program: config, and the secrets they need. */
import { stackConfig } from "../../render/stackFile";
import type { DeployOptions } from "./engine";

/** Stand-in values for the secrets a stack's features require (never real ones). */
export const SECRETS: Readonly<Record<string, string>> = {
  "infernus:spacesAccessKeyId": "DO00STANDINSPACESKEY",
  "infernus:spacesSecretAccessKey": "stand-in-spaces-secret-0123456789abcdef",
  "infernus:telegramBotToken": "123456789:stand-in-telegram-bot-token",
};

/** A stack file's config with the secrets its features need, as `pulumi config set --secret` leaves them. */
export function stackInput(stack: string, edits: Readonly<Record<string, string>> = {}): Pick<DeployOptions, "config" | "secretKeys"> {
  const config = { ...stackConfig(stack), ...edits };
  const needed = Object.keys(SECRETS).filter((key) => needs(config, key));
  return {
    config: { ...config, ...Object.fromEntries(needed.map((key) => [key, SECRETS[key]])) },
    secretKeys: [...needed, ...Object.keys(edits).filter((key) => key === "infernus:sshPrivateKey")],
  };
}

function needs(config: Readonly<Record<string, string>>, key: string): boolean {
  if (key === "infernus:telegramBotToken") return "infernus:monitoring" in config;
  return JSON.parse(config["infernus:offsite"] ?? "{}").kind === "spaces";
}

/** A DigitalOcean account that holds no SSH keys: what getSshKeys answers. */
export function emptyAccount(token: string): Record<string, unknown> {
  if (token !== "digitalocean:index/getSshKeys:getSshKeys") throw new Error(`no stand-in for ${token}`);
  return { sshKeys: [] };
}
