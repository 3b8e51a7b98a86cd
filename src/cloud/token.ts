// The DigitalOcean token and API address (SPEC §8): DIGITALOCEAN_ACCESS_TOKEN (as doctl),
// else DIGITALOCEAN_TOKEN, else doctl's config file. The token is wrapped in a Secret the
// moment it is read, so no printer, error or report can show it.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../errors.js';
import { Secret } from '../shell/secret.js';

const DEFAULT_API_URL = 'https://api.digitalocean.com';

export interface ApiAccess {
  token: Secret;
  /** where the token came from, for messages ("DIGITALOCEAN_ACCESS_TOKEN", a file path) */
  source: string;
  baseUrl: string;
}

/** doctl's config file: $XDG_CONFIG_HOME/doctl/config.yaml, else ~/.config/doctl/config.yaml */
function doctlConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'doctl', 'config.yaml');
}

/** doctl keeps `access-token`, and per-context tokens under `auth-contexts` picked by `context`. */
export function tokenFromDoctlConfig(text: string): string | undefined {
  let data: unknown;
  try {
    data = parse(text);
  } catch {
    return undefined;
  }
  if (!data || typeof data !== 'object') return undefined;
  const d = data as Record<string, unknown>;
  const context = typeof d.context === 'string' ? d.context : 'default';
  const contexts = d['auth-contexts'];
  if (context !== 'default' && contexts && typeof contexts === 'object') {
    const t = (contexts as Record<string, unknown>)[context];
    if (typeof t === 'string' && t.trim()) return t.trim();
  }
  const t = d['access-token'];
  return typeof t === 'string' && t.trim() ? t.trim() : undefined;
}

/** The API base URL: https, or plain http only to this machine (a token never crosses a network in clear). */
export function apiBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.DIGITALOCEAN_API_URL?.trim() || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      `DIGITALOCEAN_API_URL is not a URL (${JSON.stringify(raw.slice(0, 80))})`,
      `unset it to use ${DEFAULT_API_URL}`,
    );
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(
      `DIGITALOCEAN_API_URL must be https:// (plain http only to 127.0.0.1 or localhost): ${url.protocol}//${url.host}`,
      `unset it to use ${DEFAULT_API_URL}`,
    );
  }
  if (url.username || url.password)
    throw new ConfigError(
      'DIGITALOCEAN_API_URL must not hold a user name or password',
      'the token goes in DIGITALOCEAN_ACCESS_TOKEN',
    );
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export function apiAccess(env: NodeJS.ProcessEnv = process.env): ApiAccess {
  const baseUrl = apiBaseUrl(env);
  for (const name of ['DIGITALOCEAN_ACCESS_TOKEN', 'DIGITALOCEAN_TOKEN']) {
    const v = env[name]?.trim();
    if (v) return { token: new Secret(v), source: name, baseUrl };
  }
  const path = doctlConfigPath(env);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = undefined;
  }
  const t = text === undefined ? undefined : tokenFromDoctlConfig(text);
  if (t) return { token: new Secret(t), source: path, baseUrl };
  throw new ConfigError(
    'no DigitalOcean token: DIGITALOCEAN_ACCESS_TOKEN is not set',
    `export DIGITALOCEAN_ACCESS_TOKEN=<a token from the control panel, API section> (or DIGITALOCEAN_TOKEN, or \`doctl auth init\`, which writes ${path})`,
  );
}
