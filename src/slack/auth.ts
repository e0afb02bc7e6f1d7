/** Kept for existing imports: the access checks live in access.ts. */
export { Access as Authorizer, type AccessOptions as AuthorizerOptions, type Decision, type Permission, type UsergroupsApi } from "./access.js";
