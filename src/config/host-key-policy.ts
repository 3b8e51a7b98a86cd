// How unknown host keys are treated: the one list, for the inventory's schema, the
// --host-key-policy option and the known_hosts checks (no imports: the CLI loads it at start-up).

export const HOST_KEY_POLICIES = ['accept-new', 'strict', 'off'] as const;
export type HostKeyPolicy = (typeof HOST_KEY_POLICIES)[number];
