// The DigitalOcean client against the local API stand-in (test/support/do-api-standin.ts),
// which checks every request and answer against DigitalOcean's published description.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { startDoStandin, type DoStandin } from '../support/do-api-standin.js';
import { createDoClient, retryAfterMs } from '../../src/cloud/do-client.js';
import { DigitalOcean, md5Fingerprint, imageRef } from '../../src/cloud/digitalocean.js';
import { apiAccess, apiBaseUrl, tokenFromDoctlConfig } from '../../src/cloud/token.js';
import { Secret } from '../../src/shell/secret.js';
import { ConfigError, CommandError } from '../../src/errors.js';

const TOKEN = `dop_v1_${'ab12'.repeat(16)}`;
const LAPTOP_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsL0Wk0Pq3bKXk6T2d7lbq0m0wN1C2pQYk3m3hV5Z3R me@laptop';

let api: DoStandin;
let waits: number[];
const doFor = (token = TOKEN) => {
  waits = [];
  const client = createDoClient(
    { token: new Secret(token), source: 'test', baseUrl: api.url },
    {
      sleep: async (ms) => {
        waits.push(ms);
      },
    },
  );
  return new DigitalOcean(client, 20);
};

beforeEach(async () => {
  api = await startDoStandin({ token: TOKEN, snapshotMs: 100 });
});
afterEach(async () => {
  expect(api.violations).toEqual([]);
  await api.close();
});

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('token and address', () => {
  const home = mkdtempSync(join(tmpdir(), 'vpsprov-do-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  test.each([
    [{ DIGITALOCEAN_ACCESS_TOKEN: 'a', DIGITALOCEAN_TOKEN: 'b' }, 'DIGITALOCEAN_ACCESS_TOKEN'],
    [{ DIGITALOCEAN_TOKEN: 'b' }, 'DIGITALOCEAN_TOKEN'],
  ])('%j -> %s', (env, source) => {
    const a = apiAccess({ ...env, XDG_CONFIG_HOME: join(home, 'none') });
    expect(a.source).toBe(source);
    expect(String(a.token)).toBe('[redacted]');
    expect(inspect(a)).not.toMatch(/\b[ab]\b'/);
  });

  test('doctl config under XDG_CONFIG_HOME, with contexts', () => {
    mkdirSync(join(home, 'doctl'), { recursive: true });
    writeFileSync(join(home, 'doctl', 'config.yaml'), 'access-token: from-doctl\n');
    const a = apiAccess({ XDG_CONFIG_HOME: home });
    expect([a.source, a.token.reveal()]).toEqual([join(home, 'doctl', 'config.yaml'), 'from-doctl']);
    expect(tokenFromDoctlConfig('access-token: x\ncontext: work\nauth-contexts:\n  work: y\n')).toBe('y');
    expect(tokenFromDoctlConfig('context: default\naccess-token: x\n')).toBe('x');
    expect(tokenFromDoctlConfig(': : :')).toBeUndefined();
  });

  test('no token: the message names the variable', () => {
    const e = (() => {
      try {
        apiAccess({ XDG_CONFIG_HOME: join(home, 'empty') });
      } catch (err) {
        return err as ConfigError;
      }
    })()!;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('DIGITALOCEAN_ACCESS_TOKEN');
  });

  test.each([
    [undefined, 'https://api.digitalocean.com'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['https://do.example.test/api/', 'https://do.example.test/api'],
  ])('DIGITALOCEAN_API_URL %s -> %s', (v, want) => expect(apiBaseUrl(v ? { DIGITALOCEAN_API_URL: v } : {})).toBe(want));

  test.each(['http://api.example.test', 'ftp://127.0.0.1', 'https://u:p@api.example.test', 'not a url'])(
    'DIGITALOCEAN_API_URL %s is refused',
    (v) => {
      expect(() => apiBaseUrl({ DIGITALOCEAN_API_URL: v })).toThrow(ConfigError);
    },
  );
});

describe('answers of the API', () => {
  test('401: the token is said to be rejected, and never shown', async () => {
    const e = await caught(doFor('dop_v1_wrong_secret_value').dropletsWithTag('vps-provision'));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('rejected the token (401');
    expect(`${e.message} ${(e as ConfigError).hint} ${inspect(e)}`).not.toContain('wrong_secret_value');
  });

  test("422: DigitalOcean's own message is shown", async () => {
    const d = doFor();
    const key = await d.ensureKey(LAPTOP_KEY, 'laptop');
    const e = await caught(
      d.create({
        name: 'ws-1',
        region: 'xx9',
        size: 's-2vcpu-4gb',
        image: 'debian-13-x64',
        tag: 't',
        sshKeyIds: [key.id],
      }),
    );
    expect(e).toBeInstanceOf(CommandError);
    expect(e.message).toBe('DigitalOcean refused to create droplet ws-1: Region is not available: xx9');
    expect(inspect(e)).not.toContain(TOKEN);
  });

  test('429: waits what Retry-After asks, then goes on', async () => {
    api.inject({
      method: 'GET',
      path: '/v2/sizes',
      status: 429,
      times: 2,
      headers: { 'retry-after': '7' },
      body: { id: 'too_many_requests', message: 'API rate limit exceeded.' },
    });
    const price = await doFor().sizePrice('s-2vcpu-4gb');
    expect(price?.monthly).toBe(24);
    expect(waits).toEqual([7000, 7000]);
    expect(api.log.filter((l) => l.path === '/v2/sizes').map((l) => l.status)).toEqual([429, 429, 200]);
  });

  test('429 for ever: bounded, then one clear error', async () => {
    api.inject({ method: 'GET', path: '/v2/sizes', status: 429, times: 99, headers: { 'retry-after': '1' } });
    const e = await caught(doFor().sizePrice('s-2vcpu-4gb'));
    expect(e.message).toContain('rate-limiting');
    expect(api.log.length).toBe(5);
  });

  test('retryAfterMs: seconds, an HTTP date, else ratelimit-reset', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sun, 29 Nov 2026 12:00:10 GMT' }), now)).toBe(10_000);
    expect(retryAfterMs(new Headers({ 'ratelimit-reset': String(now / 1000 + 20) }), now)).toBe(20_000);
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });

  test('5xx: a read is retried with growing waits', async () => {
    api.inject({
      method: 'GET',
      path: '/v2/droplets',
      status: 500,
      times: 2,
      body: { id: 'server_error', message: 'Server Error' },
    });
    expect(await doFor().dropletsWithTag('vps-provision')).toEqual([]);
    expect(waits).toEqual([1000, 2000]);
  });

  test('5xx on a create is not repeated (it may have been done); 503 is', async () => {
    const d = doFor();
    const key = await d.ensureKey(LAPTOP_KEY, 'laptop');
    api.inject({ method: 'POST', path: '/v2/droplets', status: 500, times: 1 });
    const e = await caught(
      d.create({
        name: 'ws-1',
        region: 'fra1',
        size: 's-2vcpu-4gb',
        image: 'debian-13-x64',
        tag: 't',
        sshKeyIds: [key.id],
      }),
    );
    expect(e.message).toContain('answered 500');
    expect(api.droplets.size).toBe(0);
    api.inject({ method: 'POST', path: '/v2/droplets', status: 503, times: 1 });
    const made = await d.create({
      name: 'ws-1',
      region: 'fra1',
      size: 's-2vcpu-4gb',
      image: 'debian-13-x64',
      tag: 't',
      sshKeyIds: [key.id],
    });
    expect(made.status).toBe('new');
    expect(api.droplets.size).toBe(1);
  });
});

describe('keys, droplets, snapshots', () => {
  test('a key list longer than one page: the laptop key on page 2 is found, not added again', async () => {
    api.addKeys(230);
    const d = doFor();
    // registered by another tool earlier: the 231st key
    api.keys.push({
      id: 42,
      name: 'laptop',
      public_key: LAPTOP_KEY.split(' ').slice(0, 2).join(' '),
      fingerprint: md5Fingerprint(LAPTOP_KEY),
    });
    expect(await d.ensureKey(LAPTOP_KEY, 'vps-provision laptop')).toEqual({
      id: 42,
      fingerprint: md5Fingerprint(LAPTOP_KEY),
      added: false,
    });
    expect(api.log.map((l) => `${l.method} ${l.query}`)).toEqual([
      'GET ?page=1&per_page=200',
      'GET ?page=2&per_page=200',
    ]);
  });

  test('a key found on no page is added (without its comment), once', async () => {
    api.addKeys(450);
    const d = doFor();
    const k = await d.ensureKey(LAPTOP_KEY, 'vps-provision laptop');
    expect(k.added).toBe(true);
    expect(api.keys.at(-1)!.public_key).toBe(LAPTOP_KEY.split(' ').slice(0, 2).join(' '));
    expect((await d.ensureKey(LAPTOP_KEY, 'again')).added).toBe(false);
    expect(api.log.filter((l) => l.method === 'GET').length).toBe(3 + 3);
  });

  test('md5 fingerprint as ssh-keygen -E md5 prints it', () => {
    expect(
      md5Fingerprint('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsL0Wk0Pq3bKXk6T2d7lbq0m0wN1C2pQYk3m3hV5Z3R x'),
    ).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect(imageRef('123456')).toBe(123456);
    expect(imageRef('debian-13-x64')).toBe('debian-13-x64');
  });

  test('create with key and tag, wait active with an address, list, snapshot, destroy', async () => {
    const d = doFor();
    const key = await d.ensureKey(LAPTOP_KEY, 'laptop');
    const made = await d.create({
      name: 'ws-1',
      region: 'fra1',
      size: 's-2vcpu-4gb',
      image: 'debian-13-x64',
      tag: 'vps-provision',
      sshKeyIds: [key.id],
    });
    expect(api.droplets.get(made.id)!.publicKeys).toEqual([LAPTOP_KEY.split(' ').slice(0, 2).join(' ')]);
    const up = await d.waitActive(made.id, 5000);
    expect(up).toMatchObject({
      name: 'ws-1',
      status: 'active',
      address: expect.stringMatching(/^192\.0\.2\./),
      region: 'fra1',
      size: 's-2vcpu-4gb',
      priceMonthly: 24,
      tags: ['vps-provision'],
    });
    expect((await d.dropletsWithTag('vps-provision')).map((x) => x.name)).toEqual(['ws-1']);
    expect(await d.dropletsWithTag('other')).toEqual([]);
    expect((await d.findDroplet('ws-1', 'vps-provision'))?.id).toBe(made.id);
    const snap = await d.snapshot(up, 'ws-1-base', 10_000);
    expect(snap.name).toBe('ws-1-base');
    // a snapshot id is an image to create from
    const again = await d.create({
      name: 'ws-2',
      region: 'fra1',
      size: 's-2vcpu-4gb',
      image: snap.id,
      tag: 'vps-provision',
      sshKeyIds: [key.id],
    });
    expect(again.status).toBe('new');
    await d.destroy(made.id);
    await d.destroy(made.id); // already gone: fine
    expect((await d.dropletsWithTag('vps-provision')).map((x) => x.name)).toEqual(['ws-2']);
  });
});

describe('the stand-in holds to the description', () => {
  test('a request the description does not allow is refused and recorded', async () => {
    const r = await fetch(`${api.url}/v2/droplets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', size: 5, image: 'debian-13-x64' }),
    });
    expect(r.status).toBe(400);
    const q = await fetch(`${api.url}/v2/droplets?colour=blue`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(q.status).toBe(400);
    const nope = await fetch(`${api.url}/v2/volumes`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(nope.status).toBe(400);
    expect(api.violations).toEqual([
      expect.stringContaining('request body:'),
      expect.stringContaining('query parameter colour is not described'),
      expect.stringContaining('no such operation'),
    ]);
    api.violations.length = 0;
  });
});
