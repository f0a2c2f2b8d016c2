/**
 * The secret keys of the stack config: which ones the stack needs, and that they are stored as
 * Pulumi secrets. Pure: the caller says which keys are set and which of them are secret.
 */
import type { Problem } from "./problems";
import type { EstateConfig } from "./schema";

/** Config keys read as Pulumi secrets, never through the schema (their values must not be copied around). */
export const SECRET_KEYS = [
  "sshPrivateKey",
  "hfToken",
  "offsiteAccessKeyId",
  "offsiteSecretAccessKey",
  "spacesAccessKeyId",
  "spacesSecretAccessKey",
  "telegramBotToken",
] as const;

export type SecretKey = (typeof SECRET_KEYS)[number];

export function isSecretKey(key: string): key is SecretKey {
  return (SECRET_KEYS as readonly string[]).includes(key);
}

/** A secret the stack needs for what it enables, why, and what to put in its place. */
export interface RequiredSecret {
  readonly key: SecretKey;
  readonly why: string;
  /** The value's placeholder in the `pulumi config set --secret` line. */
  readonly value: string;
}

const SPACES_WHY =
  "offsite.kind is spaces: the DigitalOcean provider makes the bucket with Spaces keys (control panel: API → Spaces Keys), the API token is not enough";

/**
 * The secrets the parsed sections call for. A section that did not parse is absent from
 * `sections`, so what it would need is not known yet and nothing is asked for it.
 */
export function requiredSecrets(sections: Partial<EstateConfig>): RequiredSecret[] {
  const offsite = sections.offsite;
  return [
    ...(sections.monitoring?.telegramChatId ? [{ key: "telegramBotToken" as const, why: "monitoring sends alerts through a Telegram bot", value: "<token from @BotFather>" }] : []),
    ...(offsite?.kind === "s3"
      ? [
          { key: "offsiteAccessKeyId" as const, why: "offsite.kind is s3, so the bucket's keys are needed", value: "<access key id>" },
          { key: "offsiteSecretAccessKey" as const, why: "offsite.kind is s3, so the bucket's keys are needed", value: "<secret access key>" },
        ]
      : []),
    ...(offsite?.kind === "spaces"
      ? [
          { key: "spacesAccessKeyId" as const, why: SPACES_WHY, value: "<Spaces access key>" },
          { key: "spacesSecretAccessKey" as const, why: SPACES_WHY, value: "<Spaces secret key>" },
        ]
      : []),
  ];
}

/** A problem for each secret the stack needs and `present` (the secret keys set, without the project prefix) lacks. */
export function missingSecretProblems(sections: Partial<EstateConfig>, present: ReadonlySet<string>): Problem[] {
  return requiredSecrets(sections)
    .filter((secret) => !present.has(secret.key))
    .map((secret) => ({ path: secret.key, value: undefined, message: `${secret.why}: pulumi config set --secret infernus:${secret.key} ${secret.value}` }));
}

/** The line that stores a secret key encrypted; the SSH key comes from its file on stdin. */
export function setSecretLine(key: SecretKey): string {
  return key === "sshPrivateKey"
    ? "pulumi config set --secret infernus:sshPrivateKey < ~/.ssh/id_ed25519"
    : `pulumi config set --secret infernus:${key} <value>`;
}

/** A problem for each secret key that is set but not stored as a secret (its value is never shown). */
export function plainTextSecretProblems(present: readonly string[], isSecret: (key: SecretKey) => boolean): Problem[] {
  return SECRET_KEYS.filter((key) => present.includes(key) && !isSecret(key)).map((key) => ({
    path: key,
    value: undefined,
    secret: true,
    message: `is in the stack file in plain text; remove it and run: ${setSecretLine(key)}`,
  }));
}
