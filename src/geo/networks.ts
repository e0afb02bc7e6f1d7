/**
 * Built-in lists of networks (autonomous systems) whose addresses say something about the caller
 * beyond its location. Both lists are deliberately conservative: an AS is listed only when the
 * organisation that holds it *is* the relay or cloud business, as named in the packaged ASN data
 * (@ip-location-db/asn, organisation names from DB-IP). Hosting companies that many VPNs rent
 * from (M247, Datacamp/CDN77, HostRoyale, Clouvider, Zenlayer, xTom...) are NOT relays here: they
 * also host ordinary servers, and calling them relays would hide real travel. Callers can add their
 * own (for example the egress networks of their corporate VPN) through `OfflineGeoOptions`.
 *
 * Ambiguous on purpose and therefore absent: iCloud Private Relay egresses through Akamai,
 * Cloudflare and Fastly networks that also carry ordinary CDN traffic; Cloudflare WARP shares
 * AS13335 with the whole Cloudflare edge. Tor exits are mostly hosted on general-purpose hosting
 * networks, so only a few ASes run by Tor-exit non-profits are listed.
 */

export type RelayKind = "vpn" | "privacy-relay" | "tor" | "anonymiser";

/** AS number -> what kind of relay, and the operator (for the finding text). */
export const RELAY_ASNS: ReadonlyMap<number, { kind: RelayKind; operator: string }> = new Map([
  // Commercial VPN providers (the AS holder is the VPN operator).
  [136787, { kind: "vpn", operator: "PacketHub S.A. (NordVPN)" }],
  [147049, { kind: "vpn", operator: "PacketHub S.A. (NordVPN)" }],
  [207137, { kind: "vpn", operator: "PacketHub S.A. (NordVPN)" }],
  [141039, { kind: "vpn", operator: "PacketHub S.A. (NordVPN)" }],
  [209854, { kind: "vpn", operator: "Cyberzone S.A. (Surfshark)" }],
  [39351, { kind: "vpn", operator: "31173 Services AB (Mullvad)" }],
  [216025, { kind: "vpn", operator: "Mullvad VPN AB" }],
  [209103, { kind: "vpn", operator: "Proton AG (Proton VPN)" }],
  [397540, { kind: "vpn", operator: "Windscribe" }],
  [203619, { kind: "vpn", operator: "IVPN Limited" }],
  [208765, { kind: "vpn", operator: "Bullet Proof VPN Ltd" }],
  [201665, { kind: "anonymiser", operator: "Anonymizer, LLC" }],
  // Non-profits that operate Tor exit relays on their own address space.
  [60729, { kind: "tor", operator: "Stiftung Erneuerbare Freiheit (Tor exits)" }],
  [215125, { kind: "tor", operator: "Church of Cyberology (Tor exits)" }],
  [208323, { kind: "tor", operator: "Foundation for Applied Privacy (Tor exits)" }],
]);

/**
 * Cloud and hosting providers. Workloads (CI runners, EC2 instances, serverless functions) call AWS
 * from these networks in many regions at once, so distance between two of them is not travel.
 */
export const HOSTING_ASNS: ReadonlyMap<number, string> = new Map([
  [16509, "Amazon"],
  [14618, "Amazon"],
  [8987, "Amazon"],
  [15169, "Google"],
  [396982, "Google Cloud"],
  [19527, "Google"],
  [8075, "Microsoft (Azure, GitHub-hosted runners)"],
  [31898, "Oracle Cloud"],
  [14061, "DigitalOcean"],
  [20473, "Vultr (The Constant Company)"],
  [63949, "Akamai Connected Cloud (Linode)"],
  [24940, "Hetzner"],
  [16276, "OVH"],
  [12876, "Scaleway"],
  [45102, "Alibaba Cloud"],
  [37963, "Alibaba Cloud"],
  [132203, "Tencent Cloud"],
  [36351, "IBM Cloud (SoftLayer)"],
]);
