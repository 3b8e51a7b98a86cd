// Jest setup after the framework (every test file, and the CLI runs they start, inherit it):
// /etc/ssh is replaced by an empty temp folder, so no test reads this machine's own
// ssh_config or ssh_known_hosts. A test that needs system files writes them into its own
// folder and points VPS_PROVISION_TEST_ETC_SSH there. The folder goes with the file's tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const etcSsh = mkdtempSync(join(tmpdir(), 'vps-etc-ssh-'));
process.env.VPS_PROVISION_TEST_ETC_SSH = etcSsh;
afterAll(() => rmSync(etcSsh, { recursive: true, force: true }));
// ssh takes ~ from the passwd entry; the tool does too, except in tests, which point HOME
// at a temp folder of their own (see passwdHomeDir): no test reads this machine's ~/.ssh.
process.env.VPS_PROVISION_TEST_HOME_FROM_ENV = '1';
