/**
 * Role names are fixed: migrations grant to them by name, and both the embedded
 * launcher and `db:provision` create them. Roles are cluster-wide, so several
 * ClinCore databases on one server share them.
 */
export const OWNER_ROLE = 'clincore_owner';
export const APP_ROLE = 'clincore_app';
