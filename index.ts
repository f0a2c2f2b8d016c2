import { declareEstate } from "./components/program";

const estate = declareEstate();

/** `host:port` every WireGuard peer dials. */
export const tunnelEndpoint = estate.tunnelEndpoint;
/** Each peer's tunnel address. */
export const tunnelAddresses = estate.addresses;
/** wg-quick files for the user's devices (secret): `pulumi stack output --show-secrets clientConfigs`. */
export const clientConfigs = estate.clientConfigs;
