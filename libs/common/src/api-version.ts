/** The API's version, as the OpenAPI document and the FHIR CapabilityStatement state it. */
export const API_VERSION = '0.1.0';
