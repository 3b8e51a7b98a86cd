// The controller's side of the remote driver (remote-shell-driver.ts): writes framed
// scripts to the driver's stdin and reads its records back, one queue of scripts per
// shell. It speaks to any channel with the driver at the other end: an ssh2 exec
// channel (ssh2-connection.ts) or a local sh process (local-connector.ts).
import { StringDecoder } from 'node:string_decoder';
import type { Secret } from '../shell/secret.js';
import { CommandError, ConnectError } from '../errors.js';
import type { LineHandler, RemoteShell, ShellResult } from './connection.js';
import { RECORD, frameScript } from './remote-shell-driver.js';

/** What the client needs of a channel: the shape of an ssh2 ClientChannel. */
export interface ShellChannel {
  write(data: string | Buffer): unknown;
  /** no more input (the driver reads EOF and exits) */
  end(): unknown;
  /** tear the channel down */
  close(): unknown;
  readonly stderr: { on(event: 'data', listener: (d: Buffer) => void): unknown };
  on(event: 'data', listener: (d: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal?: string) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'data', listener: (d: Buffer) => void): unknown;
}

const READY = new RegExp(`${RECORD}READY (\\d+) (\\S+)\\n`);
const DONE = `${RECORD}DONE `;
const FAIL = `${RECORD}FAIL `;

interface Pending {
  id: number;
  started: number;
  onLine?: LineHandler;
  resolve: (r: ShellResult) => void;
  reject: (e: Error) => void;
}

export class RemoteShellClient implements RemoteShell {
  #buf = '';
  /** a character cut between two packets is decoded whole */
  #text = new StringDecoder('utf8');
  #queue: Pending[] = [];
  #nextId = 1;
  #dead: Error | undefined;
  #closing = false;
  /** scripts written before the driver is known to run (sudo may still be asking) */
  #held: (string | Buffer)[] | undefined;
  pid = 0;
  user = '';

  private constructor(
    private readonly ch: ShellChannel,
    private readonly host: string,
  ) {}

  /**
   * Resolves as soon as the channel is open: the first script can be written at once and
   * waits in the driver's stdin, so starting the shell costs no round trip of its own.
   * pid and user are known when the driver's READY line has arrived.
   */
  static start(
    host: string,
    ch: ShellChannel,
    dropped: () => boolean,
    sudo?: { prompt: string; password: Secret },
  ): Promise<RemoteShellClient> {
    const shell = new RemoteShellClient(ch, host);
    // with a sudo password nothing is written until sudo has asked for it or the driver runs
    if (sudo) shell.#held = [];
    return new Promise((resolve) => {
      let stderr = '';
      let prompts = 0;
      let wrongPassword = false;
      const timer = setTimeout(() => {
        shell.#fail(
          new CommandError(`${host}: the remote shell did not start within 30 s`, 'check the host is not overloaded'),
        );
        ch.close();
      }, 30_000);
      ch.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!sudo || shell.pid !== 0) return;
        const asked = stderr.split(sudo.prompt).length - 1;
        stderr = stderr.split(sudo.prompt).join('');
        if (asked === 0) return;
        prompts += asked;
        // asked again: the password was wrong; it is not sent twice
        if (prompts > 1) {
          wrongPassword = true;
          ch.close();
          return;
        }
        ch.write(`${sudo.password.reveal()}\n`);
      });
      ch.on('error', () => undefined); // reported through 'close' below
      const onReady = (d: Buffer) => {
        shell.#buf += shell.#text.write(d);
        const m = READY.exec(shell.#buf);
        if (!m) return;
        clearTimeout(timer);
        shell.pid = Number(m[1]);
        shell.user = m[2]!;
        shell.#buf = shell.#buf.slice(m.index + m[0].length);
        ch.off('data', onReady);
        const held = shell.#held ?? [];
        shell.#held = undefined;
        for (const chunk of held) ch.write(chunk);
        ch.on('data', (chunk: Buffer) => shell.#onData(chunk));
        shell.#onData(Buffer.alloc(0));
      };
      ch.on('data', onReady);
      resolve(shell);
      let ended = '';
      ch.on('exit', (code: number | null, sig?: string) => {
        ended = sig ? `killed by ${sig}` : `exit ${code}`;
      });
      ch.on('close', () => {
        clearTimeout(timer);
        const reason = shell.#closing
          ? new CommandError(`${host}: the remote shell was closed`, 'nothing more can be sent on it')
          : wrongPassword
            ? new CommandError(
                `${host}: sudo refused (incorrect password)`,
                'check VPS_PROVISION_SUDO_PASSWORD, or give the login user passwordless sudo',
              )
            : stderr.includes('password is required') || stderr.includes('incorrect password')
              ? new CommandError(
                  `${host}: sudo refused (${stderr.trim().split('\n')[0]})`,
                  'give the login user passwordless sudo, or set VPS_PROVISION_SUDO_PASSWORD',
                )
              : shell.pid === 0 && !dropped()
                ? new CommandError(
                    `${host}: the remote shell did not start${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`,
                    'check that /bin/sh, mktemp and dd exist on the host',
                  )
                : // a shell we did not close went away with its connection (or was killed on the host)
                  new ConnectError(
                    host,
                    'dropped',
                    `${host}: connection lost${ended ? ` (remote shell ${ended}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''})` : ''}`,
                    're-run to continue where it stopped',
                  );
        shell.#fail(reason);
      });
    });
  }

  #onData(chunk: Buffer): void {
    const buf = this.#buf + this.#text.write(chunk);
    // lines are read where they lie; only the unfinished last one is kept
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf('\n', start)) >= 0) {
      const line = buf.slice(start, nl);
      start = nl + 1;
      const head = this.#queue[0];
      if (!head) continue;
      const done = line.startsWith(DONE) ? line.slice(DONE.length).split(' ') : undefined;
      // the driver ran nothing: the script did not reach the host whole
      if (line === `${FAIL}${head.id}`) {
        this.#queue.shift();
        head.reject(
          new CommandError(
            `${this.host}: a script did not arrive whole on the host (its temp folder may be full); nothing of it ran`,
            "free space in the host's temp folder (TMPDIR or /tmp) and re-run",
          ),
        );
      } else if (done && Number(done[0]) === head.id) {
        this.#queue.shift();
        head.resolve({ exitCode: Number(done[1]), durationMs: performance.now() - head.started });
      } else {
        head.onLine?.(line);
      }
    }
    this.#buf = buf.slice(start);
  }

  #fail(err: Error): void {
    this.#dead = err;
    for (const p of this.#queue.splice(0)) p.reject(err);
  }

  run(script: string, onLine?: LineHandler): Promise<ShellResult> {
    if (this.#dead) return Promise.reject(this.#dead);
    const body = frameScript(script);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#queue.push({ id, started: performance.now(), onLine, resolve, reject });
      // header and script in one write: one SSH packet (one encryption, one socket write)
      this.#write(`${id} ${Buffer.byteLength(body)}\n${body}`);
    });
  }

  #write(data: string | Buffer): void {
    if (this.#held) this.#held.push(data);
    else this.ch.write(data);
  }

  close(): void {
    this.#closing = true;
    this.ch.end();
  }
}
