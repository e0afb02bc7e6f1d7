/** What an offline IP database tells about a public address. */
export interface GeoInfo {
  /** ISO 3166-1 alpha-2 country code. */
  country?: string;
  city?: string;
  /** Autonomous system number and its organisation. */
  asn?: number;
  asOrg?: string;
  lat?: number;
  lon?: number;
  /** Accuracy radius in km when the database gives one. */
  accuracyKm?: number;
  /** The network is a known relay: VPN, privacy relay, hosting/anonymiser (when the data can tell). */
  relay?: boolean;
  /** What kind of relay, when `relay` is set: vpn, privacy-relay, tor, anonymiser. */
  relayKind?: string;
  /** The network belongs to a cloud or hosting provider (workloads call from many regions at once). */
  hosting?: boolean;
}

/** A port: the scan core receives one and never opens files itself. */
export interface GeoResolver {
  lookup(ip: string): GeoInfo | undefined;
  /** Names and licences of the databases in use, for the report's `sources`. */
  describe(): string;
}

/** A resolver over a fixed table, for tests and generated histories. */
export class StaticGeoResolver implements GeoResolver {
  constructor(private readonly table: Record<string, GeoInfo>) {}
  lookup(ip: string): GeoInfo | undefined {
    return this.table[ip];
  }
  describe(): string {
    return "static table";
  }
}
