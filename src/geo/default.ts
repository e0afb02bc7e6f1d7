import { OfflineGeoResolver, type OfflineGeoOptions } from "./offline.js";
import type { GeoResolver } from "./types.js";

/**
 * The resolver the CLI and the bot use: the packaged DB-IP Lite / ASN data, or the user's own
 * MaxMind-format files named by TRAILHOUND_GEOIP_CITY_DB and TRAILHOUND_GEOIP_ASN_DB (`options`:
 * see OfflineGeoOptions).
 */
export async function defaultGeoResolver(env: Record<string, string | undefined>, options: Pick<OfflineGeoOptions, "cacheSize"> = {}): Promise<GeoResolver> {
  const opts: OfflineGeoOptions = { ...options };
  if (env.TRAILHOUND_GEOIP_CITY_DB) opts.cityDb = env.TRAILHOUND_GEOIP_CITY_DB;
  if (env.TRAILHOUND_GEOIP_ASN_DB) opts.asnDb = env.TRAILHOUND_GEOIP_ASN_DB;
  return new OfflineGeoResolver(opts);
}

/** The settings defaultGeoResolver reads of `env` (to make the same resolver elsewhere, e.g. in a worker thread). */
export function geoEnvOf(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  if (env.TRAILHOUND_GEOIP_CITY_DB) out.TRAILHOUND_GEOIP_CITY_DB = env.TRAILHOUND_GEOIP_CITY_DB;
  if (env.TRAILHOUND_GEOIP_ASN_DB) out.TRAILHOUND_GEOIP_ASN_DB = env.TRAILHOUND_GEOIP_ASN_DB;
  return out;
}
