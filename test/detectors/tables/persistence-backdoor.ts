import { persistenceBackdoor } from "../../../src/detectors/persistence-backdoor.js";
import { rec, type Table } from "./runner.js";

export const table: Table = {
  detector: persistenceBackdoor,
  cases: [
    {
      name: "fires on a new SAML identity provider",
      anomalous: [rec({ eventName: "CreateSAMLProvider", requestParameters: { name: "Okta2", sAMLMetadataDocument: "<xml/>" } })],
      expect: "high",
    },
    { name: "stays quiet on listing providers", normal: [rec({ eventName: "ListSAMLProviders", eventSource: "iam.amazonaws.com" })], expect: null },
  ],
};
