// rdp_check: from the controller, the host answers an RDP connection request with a
// connection confirm (and TLS when require_tls). Nothing runs on the host; the engine
// performs the check through the controller-side checks it is handed.
import { z } from 'zod';
import type { StepType } from './step-type.js';

const schema = z.strictObject({
  port: z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d{1,5}$/).transform(Number)]),
  require_tls: z.boolean().optional(),
});
type Args = z.infer<typeof schema>;

export const rdpCheckStep: StepType<Args> = {
  id: 'rdp_check',
  schema,
  fieldModes: {},
  probe: () => null,
  decide: () => ({ status: 'ok', reason: 'checked from the controller' }),
  local: (a) => ({ kind: 'rdp-handshake', port: a.port, requireTls: a.require_tls ?? true }),
};
