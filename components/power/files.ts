/**
 * NUT for the UPS: standalone mode, upsmon as the primary that runs infernus-drain on low battery,
 * and the power-down flag so the UPS cuts its outlets and restores them when mains returns (the
 * BIOS then boots the server). Pure renderers; the monitor password is a secret.
 */
import type { UpsConfig } from "../config/schema";
import { HEADER } from "../header";

export const POWER_PATHS = {
  nutConf: "/etc/nut/nut.conf",
  upsConf: "/etc/nut/ups.conf",
  upsdConf: "/etc/nut/upsd.conf",
  upsdUsers: "/etc/nut/upsd.users",
  upsmonConf: "/etc/nut/upsmon.conf",
  drain: "/usr/local/sbin/infernus-drain",
  drainConf: "/etc/infernus/drain.conf",
  powerDownFlag: "/etc/killpower",
} as const;

export const UPSMON_USER = "upsmon-infernus";

export function renderNutConf(): string {
  return `${HEADER}\nMODE=standalone\n`;
}

export function renderUpsConf(ups: UpsConfig): string {
  return [
    HEADER,
    "maxretry = 3",
    "",
    `[${ups.name}]`,
    `\tdriver = ${ups.driver}`,
    `\tport = ${ups.port}`,
    ...(ups.driver === "usbhid-ups" ? [`\tvendorid = ${ups.vendorId}`] : []),
    // The UPS cuts its outlets offdelay seconds after the shutdown and restores them ondelay seconds after mains returns.
    `\toffdelay = ${ups.offDelaySeconds}`,
    `\tondelay = ${ups.onDelaySeconds}`,
    "\tpollinterval = 2",
    "",
  ].join("\n");
}

export function renderUpsdConf(): string {
  return `${HEADER}\nLISTEN 127.0.0.1 3493\nLISTEN ::1 3493\n`;
}

export function renderUpsdUsers(password: string): string {
  return [HEADER, `[${UPSMON_USER}]`, `\tpassword = ${password}`, "\tupsmon primary", ""].join("\n");
}

export function renderUpsmonConf(ups: UpsConfig, password: string, paths = POWER_PATHS): string {
  return [
    HEADER,
    `MONITOR ${ups.name}@localhost 1 ${UPSMON_USER} ${password} primary`,
    "MINSUPPLIES 1",
    `SHUTDOWNCMD "${paths.drain}"`,
    `POWERDOWNFLAG ${paths.powerDownFlag}`,
    "POLLFREQ 5",
    "POLLFREQALERT 2",
    "HOSTSYNC 15",
    "DEADTIME 25",
    "FINALDELAY 5",
    // Lost contact with the UPS (a USB hiccup, nut#2925) is reported, never taken for a power cut.
    "NOCOMMWARNTIME 300",
    "RBWARNTIME 43200",
    "NOTIFYFLAG ONBATT SYSLOG+WALL",
    "NOTIFYFLAG ONLINE SYSLOG+WALL",
    "NOTIFYFLAG LOWBATT SYSLOG+WALL",
    "NOTIFYFLAG COMMBAD SYSLOG",
    "NOTIFYFLAG NOCOMM SYSLOG",
    "",
  ].join("\n");
}

/** What the drain script stops and snapshots before the power goes. */
export function renderDrainConf(services: readonly string[], datasets: readonly string[]): string {
  return [HEADER, `SERVICES="${services.join(" ")}"`, `DATASETS="${datasets.join(" ")}"`, ""].join("\n");
}
