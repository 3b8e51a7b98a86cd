// rdp_check: from the controller, the host answers an RDP connection request with a
// connection confirm (and TLS when require_tls), through the SSH connection to the host's
// loopback (access: tunnel, the default) or straight to its address (public). Nothing runs on the host; the engine
// performs the check through the controller-side checks it is handed.
import { z } from 'zod';
import type { StepType } from './step-type.js';

const schema = z.strictObject({
  port: z.union([
    z.number().int().min(1).max(65535),
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number),
  ]),
  require_tls: z.boolean().optional(),
  // rdp_access: tunnel = xrdp on the host's loopback, reached through the SSH connection
  // (so also behind a ProxyJump bastion); public = straight to the host's address
  access: z.enum(['tunnel', 'public'], { error: 'access is tunnel or public (rdp_access)' }).optional(),
});
type Args = z.infer<typeof schema>;

export const rdpCheckStep: StepType<Args> = {
  id: 'rdp_check',
  schema,
  fieldModes: {},
  probe: () => null,
  decide: () => ({ status: 'ok', reason: 'checked from the controller' }),
  local: (a) => ({
    kind: 'rdp-handshake',
    port: a.port,
    requireTls: a.require_tls ?? true,
    through: a.access === 'public' ? 'direct' : 'ssh',
  }),
};
