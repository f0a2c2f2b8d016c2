/** The rendered NUT driver section with NUT's dummy-ups in place of the USB driver: the UPS's state is read from `device`. */
export function dummyUps(upsConf: string, device: string): string {
  return upsConf
    .replace(/\tdriver = .*\n/, "\tdriver = dummy-ups\n")
    .replace(/\tport = .*\n/, `\tport = ${device}\n`)
    .replace(/\t(vendorid|offdelay|ondelay) = .*\n/g, "");
}
